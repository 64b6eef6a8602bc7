//! Voice phishing (보이스피싱): a phishing line (half of them opened online or at an
//! agency 1-24 hours before, the rest existing lines) works in 1-4 bursts of 20-90
//! minutes during office hours. In a burst it calls 30-200 distinct numbers an hour,
//! mostly for 5-40 s, forwarded in most calls for 60 % of actors, and to numbers abroad
//! (CN, PH, KH) for a quarter of actors; and it sends 10-60 SMS with URLs, each to a
//! different recipient.
//!
//! Its victims are legit subscribers: during a burst each receives a long inbound call
//! (600-3,000 s) from the phishing line or, 40 % of the time, from a number abroad; then
//! 10 minutes to 2 hours after hanging up transfers 1,000,000-9,000,000 KRW once or twice
//! to a mule account that three victims share.

use super::{next_office_hours, Plan};
use crate::draft::{Body, Merchant, Number, Pay};
use crate::rhythm::HOUR;
use crate::world::{World, CHEAP_PLANS, PHISHING_ABROAD, SALES_POINTS};
use fds_core::{Channel, Direction, MerchantCategory, PaymentMethod};

pub(crate) fn plan(w: &mut World, t0: i64) -> Plan {
    let mut plan = Plan::default();
    let line = w.ids.new_line();
    plan.lines.push(line);
    let mut t = t0;
    if w.chance(0.5) {
        let identity = w.ids.new_identity();
        let (channel, point) = if w.chance(0.5) {
            (Channel::Online, None)
        } else {
            (Channel::Agency, Some(w.below(u64::from(SALES_POINTS)) as u16))
        };
        let plan_name = w.pick(&CHEAP_PLANS);
        plan.push(t0, line, Body::Subscription { identity, channel, point, handset: None, plan: plan_name });
        t = t0 + w.secs(HOUR, 24 * HOUR);
    }
    let forwarded_share = if w.chance(0.6) { w.uniform(0.6, 1.0) } else { w.uniform(0.0, 0.1) };
    let abroad_share = if w.chance(0.25) { w.uniform(0.1, 0.4) } else { 0.0 };
    let per_hour = w.uniform(30.0, 200.0);
    let bursts = w.int(1, 4);
    let victims = w.victims_for_actor();
    let victim_bursts: Vec<i64> = victims.iter().map(|_| w.int(0, bursts - 1)).collect();
    plan.victims.clone_from(&victims);

    for burst in 0..bursts {
        let start = next_office_hours(w, t);
        let len = w.secs(20 * 60, 90 * 60);
        let mut at = start as f64;
        loop {
            at += w.exp(HOUR as f64 / per_hour);
            if at >= (start + len) as f64 {
                break;
            }
            let other = if w.chance(abroad_share) { w.abroad(&PHISHING_ABROAD) } else { w.stranger() };
            let duration_s = if w.chance(0.9) { w.secs(5, 40) } else { w.secs(41, 120) };
            let forwarded = Some(w.chance(forwarded_share));
            let body = Body::Call { other, direction: Direction::Out, duration_s, forwarded, cell: None };
            plan.push(at as i64, line, body);
        }
        for _ in 0..w.int(10, 60) {
            let at = start + w.secs(0, len);
            let other = w.stranger();
            plan.push(at, line, Body::Sms { other, direction: Direction::Out, contains_url: true });
        }
        for (&victim, _) in victims.iter().zip(&victim_bursts).filter(|(_, &b)| b == burst) {
            let call_at = start + w.secs(0, len);
            let duration_s = w.secs(600, 3_000);
            let caller = if w.chance(0.4) {
                w.abroad(&PHISHING_ABROAD)
            } else {
                let body = Body::Call {
                    other: Number::Line(victim),
                    direction: Direction::Out,
                    duration_s,
                    forwarded: Some(false),
                    cell: None,
                };
                plan.push(call_at, line, body);
                Number::Line(line)
            };
            let inbound = Body::Call {
                other: caller,
                direction: Direction::In,
                duration_s,
                forwarded: None,
                cell: None,
            };
            plan.push(call_at, victim, inbound);
            let mule = w.mule_account();
            let mut at = call_at + duration_s + w.secs(10 * 60, 2 * HOUR);
            for _ in 0..w.int(1, 2) {
                let pay = Pay {
                    amount: w.krw(1_000_000.0, 9_000_000.0, 10_000),
                    method: PaymentMethod::Transfer,
                    category: MerchantCategory::Other,
                    merchant: Merchant::Bank,
                    card: None,
                    account: Some(mule),
                    imei: None,
                    channel: "app",
                };
                plan.push(at, victim, Body::Payment(pay));
                at += w.secs(5 * 60, 40 * 60);
            }
        }
        t = start + len + w.secs(HOUR, 20 * HOUR);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::draft::{Body, Number};
    use crate::truth::Family;
    use fds_core::Direction;
    use std::collections::HashSet;

    #[test]
    fn phishing_lines_call_many_distinct_numbers_briefly() {
        for p in actors(Family::VoicePhishing, 30) {
            let line = p.lines[0];
            let calls: Vec<(i64, Number, i64)> = p
                .drafts()
                .iter()
                .filter(|d| d.line == line)
                .filter_map(|d| match d.body {
                    Body::Call { other, direction: Direction::Out, duration_s, .. } => {
                        Some((d.at, other, duration_s))
                    }
                    _ => None,
                })
                .collect();
            let first = calls.iter().map(|c| c.0).min().expect("calls");
            let first_hour: HashSet<Number> =
                calls.iter().filter(|c| c.0 < first + 3600).map(|c| c.1).collect();
            assert!(first_hour.len() >= 10, "{} callees in the first hour", first_hour.len());
            let short = calls.iter().filter(|c| (5..=40).contains(&c.2)).count();
            assert!(short * 10 >= calls.len() * 8);
            assert!(p.drafts().iter().any(|d| matches!(d.body, Body::Sms { contains_url: true, .. })));
        }
    }

    #[test]
    fn victims_take_a_long_call_then_transfer_to_a_shared_mule_account() {
        let plans = actors(Family::VoicePhishing, 30);
        let mut accounts = Vec::new();
        for p in &plans {
            for &victim in &p.victims {
                let mine: Vec<_> = p.drafts().iter().filter(|d| d.line == victim).collect();
                let call = mine
                    .iter()
                    .find(|d| matches!(d.body, Body::Call { direction: Direction::In, duration_s, .. } if duration_s >= 600))
                    .expect("a long inbound call");
                let transfers = payments(p, victim);
                assert!(!transfers.is_empty());
                for (at, pay) in transfers {
                    assert!(at > call.at);
                    assert!(pay.amount >= 1_000_000);
                    accounts.push(pay.account.expect("an account"));
                }
            }
        }
        accounts.sort_unstable();
        accounts.dedup();
        let victims: usize = plans.iter().map(|p| p.victims.len()).sum();
        assert!(victims >= 15, "{victims} victims");
        assert!(accounts.len() * 2 <= victims, "mule accounts are shared");
    }
}
