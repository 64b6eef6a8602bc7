//! SIM-swap takeover: an existing line (no subscription is ever seen for it; 60 % show
//! one to three ordinary calls or SMS first) gets a `sim_swap` to a new ICCID, through
//! online (55 %), telemarketing (35 %) or a store (10 %). 70 % follow with a
//! `device_change` to a new handset 5-60 minutes later. One to six hours after the swap
//! (after password resets, which are not events) come 4-12 payments 3-25 minutes apart,
//! each 200,000-3,000,000 KRW: card payments with two to five distinct new cards (gift
//! cards, retail, digital content), transfers to one to three new accounts, and
//! carrier-billing gift cards of 200,000-500,000. 30 % then port the number out.

use super::{ordinary_contact, Plan};
use crate::draft::{Body, Merchant, Pay};
use crate::rhythm::HOUR;
use crate::world::{World, FLAGSHIPS, OTHER_CARRIERS};
use fds_core::{Channel, MerchantCategory, PaymentMethod};

pub(crate) fn plan(w: &mut World, t0: i64) -> Plan {
    let mut plan = Plan::default();
    let line = w.ids.new_line();
    plan.lines.push(line);
    let mut swap_at = t0;
    if w.chance(0.6) {
        for _ in 0..w.int(1, 3) {
            let at = t0 + w.secs(0, HOUR);
            plan.push_draft(ordinary_contact(w, at, line));
        }
        swap_at = t0 + w.secs(HOUR, 4 * HOUR);
    }
    let roll = w.unit();
    let channel = if roll < 0.55 {
        Channel::Online
    } else if roll < 0.9 {
        Channel::Telemarketing
    } else {
        Channel::Store
    };
    let iccid = w.ids.new_iccid();
    plan.push(swap_at, line, Body::SimSwap { channel, iccid });
    let imei = if w.chance(0.7) {
        let imei = w.ids.new_imei();
        let (model, _) = w.pick(&FLAGSHIPS);
        let at = swap_at + w.secs(5 * 60, HOUR);
        plan.push(at, line, Body::DeviceChange { imei, model });
        Some(imei)
    } else {
        None
    };

    let cards_n = w.int(2, 5) as u64;
    let cards = w.ids.new_cards(cards_n);
    let accounts_n = w.int(1, 3) as u64;
    let accounts = w.ids.new_accounts(accounts_n);
    let mut t = swap_at + w.secs(HOUR, 6 * HOUR);
    let payments = w.int(4, 12);
    for k in 0..payments {
        let roll = w.unit();
        let pay = if roll < 0.5 || k < 2 {
            // Card payments first: the first two use two different cards.
            let category = w.pick(&[
                MerchantCategory::GiftCard,
                MerchantCategory::GiftCard,
                MerchantCategory::Retail,
                MerchantCategory::DigitalContent,
            ]);
            let card = if k < 2 { cards + k as u64 } else { cards + w.below(cards_n) };
            Pay {
                amount: w.krw(200_000.0, 3_000_000.0, 1_000),
                method: PaymentMethod::Card,
                category,
                merchant: w.any_merchant(category),
                card: Some(card),
                account: None,
                imei,
                channel: "online",
            }
        } else if roll < 0.8 {
            Pay {
                amount: w.krw(200_000.0, 3_000_000.0, 10_000),
                method: PaymentMethod::Transfer,
                category: MerchantCategory::Other,
                merchant: Merchant::Bank,
                card: None,
                account: Some(accounts + w.below(accounts_n)),
                imei,
                channel: "app",
            }
        } else {
            Pay {
                amount: w.pick(&[200_000, 300_000, 500_000]),
                method: PaymentMethod::CarrierBilling,
                category: MerchantCategory::GiftCard,
                merchant: w.any_merchant(MerchantCategory::GiftCard),
                card: None,
                account: None,
                imei,
                channel: "app",
            }
        };
        plan.push(t, line, Body::Payment(pay));
        t += w.secs(3 * 60, 25 * 60);
    }
    if w.chance(0.3) {
        let to = w.pick(&OTHER_CARRIERS);
        plan.push(t + w.secs(HOUR, 12 * HOUR), line, Body::PortOut { to });
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
    fn a_swap_is_followed_within_hours_by_large_payments_with_several_cards() {
        for p in actors(Family::SimSwapTakeover, 40) {
            let line = p.lines[0];
            let swap = p.drafts().iter().find(|d| matches!(d.body, Body::SimSwap { .. })).expect("a swap");
            assert!(!p.drafts().iter().any(|d| matches!(d.body, Body::Subscription { .. })));
            let pays = payments(&p, line);
            assert!(pays.len() >= 4);
            let first = pays.iter().map(|(at, _)| *at).min().expect("payments");
            assert!(first >= swap.at + 3600 && first <= swap.at + 6 * 3600);
            let cards: HashSet<u64> = pays.iter().filter_map(|(_, pay)| pay.card).collect();
            assert!(cards.len() >= 2);
            assert!(pays.iter().all(|(_, pay)| (200_000..=3_000_000).contains(&pay.amount)));
        }
    }
}
