//! Identity theft (명의도용): one stolen identity opens 3-6 new lines within 1-5 days,
//! mostly online (none gives a handset) or nearly all through one agency (the same
//! `agency_id`). Each line soon (5 minutes to 6 hours after opening, often moved into the
//! night) starts carrier-billing micro-payments: 4-12 gift-card or game purchases of
//! 10,000-50,000 KRW, 4-25 minutes apart, at one to three gift-card merchants. Lines make
//! little or no calls (a third make one short call).

use super::{next_night, ordinary_contact, Plan};
use crate::draft::{Body, Pay};
use crate::rhythm::{DAY, HOUR};
use crate::world::{World, CHEAP_PLANS, SALES_POINTS};
use fds_core::{Channel, MerchantCategory, PaymentMethod};

/// Gift-card face values (KRW).
const GIFT_CARD_VALUES: [i64; 4] = [10_000, 20_000, 30_000, 50_000];

pub(crate) fn plan(w: &mut World, t0: i64) -> Plan {
    let mut plan = Plan::default();
    let identity = w.ids.new_identity();
    let lines = w.int(3, 6);
    let agency = if w.chance(0.35) { Some(w.below(u64::from(SALES_POINTS)) as u16) } else { None };
    let span = w.log_uniform(DAY as f64, 5.0 * DAY as f64);
    for k in 0..lines {
        // Front-loaded: most lines open early in the span.
        let opened = if k == 0 { t0 } else { t0 + (span * w.unit().powi(2)) as i64 };
        let line = w.ids.new_line();
        plan.lines.push(line);
        let (channel, point) = match agency {
            Some(a) if w.chance(0.9) => (Channel::Agency, Some(a)),
            _ => (Channel::Online, None),
        };
        let plan_name = w.pick(&CHEAP_PLANS);
        plan.push(
            opened,
            line,
            Body::Subscription { identity, channel, point, handset: None, plan: plan_name },
        );

        let mut t = opened + w.log_uniform(300.0, 6.0 * HOUR as f64) as i64;
        if w.chance(0.55) {
            let night = next_night(w, t);
            if night - t < 10 * HOUR {
                t = night;
            }
        }
        let gift_merchants = [
            w.any_merchant(MerchantCategory::GiftCard),
            w.any_merchant(MerchantCategory::GiftCard),
            w.any_merchant(MerchantCategory::GiftCard),
        ];
        let used_gift_merchants = w.int(1, 3) as usize;
        let game_merchant = w.any_merchant(MerchantCategory::Game);
        let channel = w.pick(&["web", "app"]);
        for _ in 0..w.int(4, 12) {
            let (amount, category, merchant) = if w.chance(0.65) {
                let i = w.below(used_gift_merchants as u64) as usize;
                (w.pick(&GIFT_CARD_VALUES), MerchantCategory::GiftCard, gift_merchants[i])
            } else {
                (w.krw(10_000.0, 50_000.0, 100), MerchantCategory::Game, game_merchant)
            };
            let pay = Pay {
                amount,
                method: PaymentMethod::CarrierBilling,
                category,
                merchant,
                card: None,
                account: None,
                imei: None,
                channel,
            };
            plan.push(t, line, Body::Payment(pay));
            t += w.secs(4 * 60, 25 * 60);
        }
        if w.chance(0.3) {
            let at = opened + w.secs(600, 6 * HOUR);
            plan.push_draft(ordinary_contact(w, at, line));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::draft::Body;
    use crate::truth::Family;
    use std::collections::HashSet;

    #[test]
    fn each_identity_opens_three_to_six_lines_that_buy_gift_cards_and_game_items() {
        for p in actors(Family::IdentityTheft, 40) {
            assert!((3..=6).contains(&p.lines.len()));
            let identities: HashSet<u64> = p
                .drafts()
                .iter()
                .filter_map(|d| match d.body {
                    Body::Subscription { identity, handset, .. } => {
                        assert!(handset.is_none());
                        Some(identity)
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(identities.len(), 1);
            let opened = p.drafts().iter().filter(|d| matches!(d.body, Body::Subscription { .. }));
            let span = opened.clone().map(|d| d.at).max().unwrap_or(0) - first_event_at(&p);
            assert!(span <= 5 * 86_400);
            for &line in &p.lines {
                let pays = payments(&p, line);
                assert!((4..=12).contains(&pays.len()));
                for (_, pay) in pays {
                    assert!((10_000..=50_000).contains(&pay.amount));
                    assert_eq!(pay.method, fds_core::PaymentMethod::CarrierBilling);
                }
            }
        }
    }
}
