//! Carrier-billing abuse (소액결제): a line (an existing one, or for 25 % a line opened
//! online 30 minutes to 6 hours before) buys gift cards (60 %) and game items (40 %) by
//! carrier billing until its 30-day carrier-billing sum reaches 710,000-1,000,000 KRW,
//! just under the 1,000,000 monthly cap. Purchases of 10,000-100,000 come in sessions of
//! 6-14, 1-12 minutes apart, spread over three to eight merchants. The first session
//! starts between 00:00 and 03:00 KST for three quarters of the actors; each next one
//! follows within 20 minutes to 3 hours, or (half the time) the next night. 70 % first switch to a new handset
//! (`device_change` shortly before); payments carry the handset's IMEI.

use super::{next_night, Plan};
use crate::draft::{Body, Pay};
use crate::rhythm::HOUR;
use crate::world::{World, CHEAP_PLANS, EVERYDAY_HANDSETS, FLAGSHIPS};
use fds_core::{Channel, MerchantCategory, PaymentMethod};

/// Purchase amounts (KRW).
const AMOUNTS: [i64; 6] = [10_000, 20_000, 30_000, 50_000, 70_000, 100_000];

pub(crate) fn plan(w: &mut World, t0: i64) -> Plan {
    let mut plan = Plan::default();
    let line = w.ids.new_line();
    plan.lines.push(line);
    let mut t = t0;
    if w.chance(0.25) {
        let identity = w.ids.new_identity();
        let plan_name = w.pick(&CHEAP_PLANS);
        let body = Body::Subscription {
            identity,
            channel: Channel::Online,
            point: None,
            handset: None,
            plan: plan_name,
        };
        plan.push(t0, line, body);
        t += w.secs(30 * 60, 6 * HOUR);
    }
    let imei = w.ids.new_imei();
    if w.chance(0.7) {
        let (model, _) = if w.chance(0.5) { w.pick(&FLAGSHIPS) } else { w.pick(&EVERYDAY_HANDSETS) };
        t += w.secs(0, HOUR);
        plan.push(t, line, Body::DeviceChange { imei, model });
    }
    let target = w.int(710_000, 1_000_000);
    let merchants: Vec<(MerchantCategory, crate::draft::Merchant)> = (0..w.int(3, 8))
        .map(|_| {
            let category = if w.chance(0.6) { MerchantCategory::GiftCard } else { MerchantCategory::Game };
            (category, w.any_merchant(category))
        })
        .collect();
    let channel = w.pick(&["app", "web"]);
    let mut spent = 0;
    let mut session = t + w.secs(30 * 60, 3 * HOUR);
    if w.chance(0.75) {
        session = next_night(w, session);
    }
    while target - spent >= AMOUNTS[0] {
        let mut at = session;
        for _ in 0..w.int(6, 14) {
            let left = target - spent;
            let affordable = AMOUNTS.iter().take_while(|&&a| a <= left).count();
            if affordable == 0 {
                break;
            }
            let amount = AMOUNTS[w.below(affordable as u64) as usize];
            let (category, merchant) = w.pick(&merchants);
            let pay = Pay {
                amount,
                method: PaymentMethod::CarrierBilling,
                category,
                merchant,
                card: None,
                account: None,
                imei: Some(imei),
                channel,
            };
            plan.push(at, line, Body::Payment(pay));
            spent += amount;
            at += w.secs(60, 12 * 60);
        }
        // Half the time the next session follows within hours, else the next night.
        session = if w.chance(0.5) { at + w.secs(20 * 60, 3 * HOUR) } else { next_night(w, at + 4 * HOUR) };
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::rhythm::in_kst_hours;
    use crate::truth::Family;
    use fds_core::{MerchantCategory, PaymentMethod};

    #[test]
    fn abusers_push_carrier_billing_close_to_the_monthly_cap_mostly_at_night() {
        let mut night = 0;
        let mut all = 0;
        for p in actors(Family::CarrierBillingAbuse, 40) {
            let pays = payments(&p, p.lines[0]);
            let sum: i64 = pays.iter().map(|(_, pay)| pay.amount).sum();
            assert!((700_000..=1_000_000).contains(&sum), "sum {sum}");
            assert!(pays.iter().all(|(_, pay)| pay.method == PaymentMethod::CarrierBilling
                && matches!(pay.category, MerchantCategory::GiftCard | MerchantCategory::Game)));
            let span =
                pays.iter().map(|p| p.0).max().unwrap_or(0) - pays.iter().map(|p| p.0).min().unwrap_or(0);
            assert!(span < 4 * 86_400);
            night += pays.iter().filter(|(at, _)| in_kst_hours(*at, 0, 5)).count();
            all += pays.len();
        }
        assert!(night * 2 > all, "{night} of {all} at night");
    }
}
