//! Handset-financing fraud (폰깡): an identity takes out one to three new lines (two or
//! more in 65 % of actors, within 6 hours to 5 days), each with a flagship handset
//! (1,353,000-2,379,300 KRW) on 24-36 month instalments, through one agency or one
//! telemarketing vendor. The lines then stay nearly silent (0-2 calls or SMS). Within
//! 4 hours to 3 days each handset is in the ring's hands: its IMEI shows up in a
//! `device_change` of another subscriber, the ring's collector line (an existing line,
//! part of the actor in the truth), which checks every collected handset with its own SIM
//! before export, so it shows one device change per financed line. Half the financed lines
//! also move to a cheap handset themselves; 30 % buy one to three carrier-billing gift
//! cards.
//!
//! Legit look-alikes: legit subscribers buy flagships on instalments at stores, and some
//! legit device changes are to second-hand handsets another legit subscriber retired.

use super::{ordinary_contact, Plan};
use crate::draft::{Body, Handset, Pay};
use crate::rhythm::{DAY, HOUR};
use crate::world::{World, FLAGSHIPS, PREMIUM_PLANS, SALES_POINTS};
use fds_core::{Channel, MerchantCategory, PaymentMethod};

/// Handsets a fraudster keeps using after selling the financed one.
const BUDGET_MODELS: [&str; 3] = ["SM-A165N", "SM-A256N", "SM-A366N"];

pub(crate) fn plan(w: &mut World, t0: i64) -> Plan {
    let mut plan = Plan::default();
    let identity = w.ids.new_identity();
    let roll = w.unit();
    let lines = if roll < 0.35 {
        1
    } else if roll < 0.8 {
        2
    } else {
        3
    };
    let channel = if w.chance(0.6) { Channel::Agency } else { Channel::Telemarketing };
    let point = Some(w.below(u64::from(SALES_POINTS)) as u16);
    let span = w.uniform(6.0 * HOUR as f64, 5.0 * DAY as f64);
    let collector = w.ids.new_line();
    for k in 0..lines {
        let opened = if k == 0 { t0 } else { t0 + (span * w.unit()) as i64 };
        let line = w.ids.new_line();
        plan.lines.push(line);
        let (model, price) = w.pick(&FLAGSHIPS);
        let imei = w.ids.new_imei();
        let months = w.pick(&[24, 30, 36, 36]);
        let plan_name = w.pick(&PREMIUM_PLANS);
        let handset = Some(Handset { imei, price, months });
        plan.push(opened, line, Body::Subscription { identity, channel, point, handset, plan: plan_name });

        for _ in 0..w.int(0, 2) {
            let at = opened + w.secs(HOUR, 2 * DAY);
            plan.push_draft(ordinary_contact(w, at, line));
        }
        let collected = opened + w.secs(4 * HOUR, 3 * DAY);
        plan.push(collected, collector, Body::DeviceChange { imei, model });
        if w.chance(0.5) {
            let at = opened + w.secs(HOUR, 2 * DAY);
            let cheap = w.ids.new_imei();
            let model = w.pick(&BUDGET_MODELS);
            plan.push(at, line, Body::DeviceChange { imei: cheap, model });
        }
        if w.chance(0.3) {
            let mut t = opened + w.secs(2 * HOUR, 3 * DAY);
            for _ in 0..w.int(1, 3) {
                let pay = Pay {
                    amount: w.pick(&[10_000, 30_000, 50_000]),
                    method: PaymentMethod::CarrierBilling,
                    category: MerchantCategory::GiftCard,
                    merchant: w.any_merchant(MerchantCategory::GiftCard),
                    card: None,
                    account: None,
                    imei: None,
                    channel: "app",
                };
                plan.push(t, line, Body::Payment(pay));
                t += w.secs(20 * 60, 90 * 60);
            }
        }
    }
    plan.lines.push(collector);
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::draft::Body;
    use crate::truth::Family;

    #[test]
    fn each_financed_handset_reappears_on_the_rings_collector_line() {
        let plans = actors(Family::HandsetFraud, 40);
        // Financed lines plus the collector.
        assert!(plans.iter().filter(|p| p.lines.len() >= 3).count() >= 15);
        for p in plans {
            let collector = *p.lines.last().expect("a collector line");
            for d in p.drafts() {
                if let Body::Subscription { handset: Some(h), .. } = d.body {
                    assert!((1_200_000..=2_500_000).contains(&h.price));
                    assert!((24..=36).contains(&h.months));
                    let resold = p.drafts().iter().find(|r| {
                        matches!(r.body, Body::DeviceChange { imei, .. } if imei == h.imei)
                            && r.line != d.line
                    });
                    let resold = resold.expect("the handset is collected");
                    assert_eq!(resold.line, collector);
                    assert!(resold.at > d.at);
                }
            }
        }
    }
}
