//! Tests over the generated stream: determinism, the contract, order, each family's
//! pattern, the legit population's volume and rhythm, and the truth's coverage.

use super::*;
use crate::rhythm::{kst_hour, DAY};
use crate::IRSF_PREFIXES;
use chrono::TimeZone;
use fds_core::{Event, EventBody, MerchantCategory, PaymentMethod};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

fn config(seed: u64, subscribers: usize) -> SimConfig {
    SimConfig { seed, subscribers, ..SimConfig::default() }
}

#[test]
fn the_same_seed_gives_the_same_stream_and_another_seed_another() {
    let render = |seed| -> Vec<String> {
        Simulator::new(config(seed, 2_000)).take(10_000).map(|v| v.to_string()).collect()
    };
    let first = render(42);
    assert_eq!(first, render(42));
    let other = render(43);
    assert_ne!(first, other);
    assert_eq!(first.iter().zip(&other).filter(|(a, b)| a == b).count(), 0);
}

#[test]
fn the_first_200000_events_are_valid_in_time_order_with_unique_ids() {
    let mut sim = Simulator::new(config(5, 3_000));
    let mut last = i64::MIN;
    let mut ids = HashSet::new();
    for n in 1..=200_000u64 {
        let value = sim.next().expect("the stream is endless");
        let at = value["occurred_at"].as_str().expect("occurred_at").to_string();
        let source = value["source"].as_str().map(str::to_string);
        let event = Event::from_value(value, None).unwrap_or_else(|e| panic!("event {n}: {e}"));
        assert!(event.occurred_at.timestamp() >= last, "event {n} goes back in time");
        last = event.occurred_at.timestamp();
        assert!(ids.insert(event.event_id.clone()), "duplicate id {}", event.event_id);
        let is_payment = matches!(event.body, EventBody::Payment(_));
        assert_eq!(source.as_deref(), Some(if is_payment { "payment_api" } else { "system_a" }));
        assert!(at.ends_with(if is_payment { "Z" } else { "+09:00" }), "{at}");
    }
    assert!(ids.contains("sim-5-1") && ids.contains("sim-5-200000"));
    assert_eq!(sim.emitted(), 200_000);
    // 3,000 subscribers make about 90,000 events a day.
    let days = (sim.clock() - sim.config().start).num_hours() as f64 / 24.0;
    assert!((1.5..3.5).contains(&days), "{days} days");
}

/// One week of a small world, read once and shared by the pattern tests.
struct Week {
    events: Vec<Event>,
    /// The family of each event's subscriber, if a fraud line.
    families: Vec<Option<Family>>,
    truth: Truth,
    /// Every legit subscriber (population and newcomers).
    legit: HashSet<String>,
    /// The population present from the start.
    population: Vec<String>,
    start: i64,
}

const WEEK_POPULATION: usize = 400;

fn week() -> &'static Week {
    static WEEK: OnceLock<Week> = OnceLock::new();
    WEEK.get_or_init(|| {
        let cfg = SimConfig {
            seed: 3,
            subscribers: WEEK_POPULATION,
            actors_per_family: Some(4),
            victims: Some(8),
            ..SimConfig::default()
        };
        let start = cfg.start.timestamp();
        let mut sim = Simulator::new(cfg);
        let mut events = Vec::new();
        for value in sim.by_ref() {
            let event = Event::from_value(value, None).expect("valid");
            if event.occurred_at.timestamp() >= start + 7 * DAY {
                break;
            }
            events.push(event);
        }
        let legit: HashSet<String> = sim.legit_subscribers().collect();
        let population = sim.legit_subscribers().take(WEEK_POPULATION).collect();
        let truth = sim.truth().clone();
        let families = events.iter().map(|e| truth.family(e.subscriber.expose())).collect();
        Week { events, families, truth, legit, population, start }
    })
}

impl Week {
    fn of_family(&self, family: Family) -> impl Iterator<Item = &Event> {
        self.events.iter().zip(&self.families).filter(move |(_, f)| **f == Some(family)).map(|(e, _)| e)
    }

    /// Events grouped by actor id.
    fn by_actor(&self, family: Family) -> HashMap<&str, Vec<&Event>> {
        let mut map: HashMap<&str, Vec<&Event>> = HashMap::new();
        for e in self.of_family(family) {
            if let Some(actor) = self.truth.actor_of(e.subscriber.expose()) {
                map.entry(actor).or_default().push(e);
            }
        }
        map
    }
}

fn payment(e: &Event) -> Option<&fds_core::Payment> {
    match &e.body {
        EventBody::Payment(p) => Some(p),
        _ => None,
    }
}

#[test]
fn every_subscriber_seen_is_legit_or_in_the_truth_and_actors_keep_appearing() {
    let w = week();
    for e in &w.events {
        let s = e.subscriber.expose();
        assert!(
            w.legit.contains(s) != w.truth.family_of(s).is_some(),
            "a line is legit or fraud, never both"
        );
    }
    for family in Family::ALL {
        let actors = w.by_actor(family);
        // Four open the week, about four more arrive each day.
        assert!(actors.len() >= 15, "{family}: {} actors", actors.len());
        let late = actors
            .values()
            .filter(|evs| {
                evs.iter().map(|e| e.occurred_at.timestamp()).min().unwrap_or(0) > w.start + 3 * DAY
            })
            .count();
        assert!(late >= 4, "{family}: {late} actors after day 3");
    }
}

#[test]
fn identity_theft_opens_three_or_more_lines_per_identity_that_buy_gift_cards() {
    let w = week();
    let mut lines_per_identity: HashMap<&str, HashSet<&str>> = HashMap::new();
    for e in w.of_family(Family::IdentityTheft) {
        if let EventBody::Subscription(s) = &e.body {
            lines_per_identity.entry(s.identity.expose()).or_default().insert(e.subscriber.expose());
        }
    }
    let big = lines_per_identity.values().filter(|lines| lines.len() >= 3).count();
    assert!(big >= 10, "{big} identities with 3+ lines");
    for lines in lines_per_identity.values() {
        let actors: HashSet<_> = lines.iter().map(|l| w.truth.actor_of(l)).collect();
        assert_eq!(actors.len(), 1, "one identity, one actor");
    }
    let pays: Vec<_> = w.of_family(Family::IdentityTheft).filter_map(payment).collect();
    assert!(pays.len() > 100);
    assert!(pays.iter().all(|p| p.method == PaymentMethod::CarrierBilling
        && matches!(p.merchant_category, MerchantCategory::GiftCard | MerchantCategory::Game)
        && (10_000..=50_000).contains(&p.amount)));
}

#[test]
fn a_financed_handset_reappears_on_another_line_of_the_ring() {
    let w = week();
    let mut financed: HashMap<&str, &str> = HashMap::new();
    for e in w.of_family(Family::HandsetFraud) {
        if let EventBody::Subscription(s) = &e.body {
            assert!((1_200_000..=2_500_000).contains(&s.device_price.unwrap_or(0)));
            assert!((24..=36).contains(&s.installment_months.unwrap_or(0)));
            if let Some(imei) = &s.device_imei {
                financed.insert(imei.expose(), e.subscriber.expose());
            }
        }
    }
    let collected = w
        .of_family(Family::HandsetFraud)
        .filter(|e| match &e.body {
            EventBody::DeviceChange(d) => financed.get(d.imei.expose()).is_some_and(|owner| {
                *owner != e.subscriber.expose()
                    && w.truth.actor_of(owner) == w.truth.actor_of(e.subscriber.expose())
            }),
            _ => false,
        })
        .count();
    assert!(collected >= 10, "{collected} collected handsets");
}

#[test]
fn voice_phishing_lines_burst_calls_to_many_numbers_and_victims_pay_a_shared_mule() {
    let w = week();
    let mut busiest = 0;
    for events in w.by_actor(Family::VoicePhishing).values() {
        let calls: Vec<(i64, &str)> = events
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Call(c) if c.direction == fds_core::Direction::Out && c.duration_s <= 40 => {
                    Some((e.occurred_at.timestamp(), c.callee.expose()))
                }
                _ => None,
            })
            .collect();
        for &(t, _) in &calls {
            let hour: HashSet<&str> =
                calls.iter().filter(|c| c.0 >= t && c.0 < t + 3600).map(|c| c.1).collect();
            busiest = busiest.max(hour.len());
        }
        let first = events.iter().map(|e| e.occurred_at.timestamp()).min().unwrap_or(i64::MAX);
        if first < w.start + 5 * DAY {
            assert!(events
                .iter()
                .any(|e| matches!(&e.body, EventBody::Sms(s) if s.contains_url == Some(true))));
        }
    }
    assert!(busiest >= 100, "busiest hour: {busiest} distinct callees");

    let mut victims_per_account: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut long_call: HashMap<&str, i64> = HashMap::new();
    let mut large_transfers: HashSet<&str> = HashSet::new();
    for e in &w.events {
        let s = e.subscriber.expose();
        if !w.truth.is_victim(s) {
            continue;
        }
        let at = e.occurred_at.timestamp();
        if matches!(&e.body, EventBody::Call(c) if c.direction == fds_core::Direction::In && c.duration_s >= 600)
        {
            long_call.insert(s, at);
        }
        // Victims' large transfers come within hours of the phishing call (the call
        // lasts up to 50 minutes, the first transfer follows within 2 hours).
        let recently_called = long_call.get(s).is_some_and(|&call| at - call < 4 * 3600);
        if let Some(p) = payment(e).filter(|p| p.amount >= 1_000_000 && p.method == PaymentMethod::Transfer) {
            large_transfers.insert(s);
            if let (true, Some(account)) = (recently_called, &p.account) {
                victims_per_account.entry(account.expose()).or_default().insert(s);
            }
        }
    }
    let after_a_call: HashSet<&str> = victims_per_account.values().flatten().copied().collect();
    assert!(after_a_call.len() >= 20, "{} victims paid after a long call", after_a_call.len());
    assert!(after_a_call.len() * 10 >= large_transfers.len() * 9, "large transfers without a call");
    assert!(victims_per_account.values().any(|v| v.len() >= 2), "a mule account serves several victims");
    assert!(w.truth.victims().len() >= 20);
    assert!(w.truth.victims().iter().all(|v| w.legit.contains(&v.subscriber)));
}

#[test]
fn sim_swap_takeovers_pay_large_amounts_with_several_cards_within_hours() {
    let w = week();
    let mut matching = 0;
    for events in w.by_actor(Family::SimSwapTakeover).values() {
        let Some(swap) = events.iter().find(|e| matches!(e.body, EventBody::SimSwap(_))) else { continue };
        let after: Vec<_> = events
            .iter()
            .filter(|e| e.occurred_at > swap.occurred_at)
            .filter(|e| (e.occurred_at - swap.occurred_at).num_hours() < 9)
            .filter_map(|e| payment(e))
            .collect();
        let cards: HashSet<_> = after.iter().filter_map(|p| p.card_number.as_ref()).collect();
        if cards.len() >= 2 && after.iter().all(|p| p.amount >= 200_000) {
            matching += 1;
        }
    }
    assert!(matching >= 15, "{matching} takeovers");
}

#[test]
fn carrier_billing_abusers_approach_the_monthly_cap_at_night() {
    let w = week();
    let mut near_cap = 0;
    let mut night = 0;
    let mut all = 0;
    for events in w.by_actor(Family::CarrierBillingAbuse).values() {
        let pays: Vec<_> = events.iter().filter(|e| payment(e).is_some()).collect();
        let sum: i64 = pays.iter().filter_map(|e| payment(e)).map(|p| p.amount).sum();
        assert!(sum <= 1_000_000);
        near_cap += usize::from(sum >= 700_000);
        night += pays.iter().filter(|e| kst_hour(e.occurred_at.timestamp()) < 5).count();
        all += pays.len();
    }
    assert!(near_cap >= 15, "{near_cap} near the cap");
    assert!(night * 2 > all, "{night} of {all} at night");
}

#[test]
fn irsf_lines_call_hotlist_ranges_and_legit_subscribers_never_do() {
    let w = week();
    let on_hotlist = |callee: &str| IRSF_PREFIXES.iter().any(|(p, _)| callee.starts_with(p));
    let mut irsf_calls = 0;
    let mut legit_abroad = 0;
    for (e, &family) in w.events.iter().zip(&w.families) {
        let EventBody::Call(c) = &e.body else { continue };
        if family == Some(Family::Irsf) {
            assert!(on_hotlist(c.callee.expose()) && c.callee_country != "KR" && c.duration_s >= 300);
            irsf_calls += 1;
        } else if family.is_none() {
            assert!(!on_hotlist(c.callee.expose()));
            legit_abroad += usize::from(c.callee_country != "KR");
        }
    }
    assert!(irsf_calls >= 200, "{irsf_calls} IRSF calls");
    // Campaigns share numbers: some premium number is dialled by several IRSF actors.
    let mut actors_per_number: HashMap<&str, HashSet<&str>> = HashMap::new();
    for e in w.of_family(Family::Irsf) {
        if let (EventBody::Call(c), Some(actor)) = (&e.body, w.truth.actor_of(e.subscriber.expose())) {
            actors_per_number.entry(c.callee.expose()).or_default().insert(actor);
        }
    }
    assert!(actors_per_number.values().any(|a| a.len() >= 2));
    assert!(legit_abroad >= 100, "{legit_abroad} legit calls abroad");
}

#[test]
fn legit_volume_per_subscriber_and_day_is_in_the_documented_range() {
    let w = week();
    let population: HashSet<&str> = w.population.iter().map(String::as_str).collect();
    let mut per_subscriber: HashMap<&str, [u32; 3]> = HashMap::new();
    for e in &w.events {
        let s = e.subscriber.expose();
        if !population.contains(s) {
            continue;
        }
        let counts = per_subscriber.entry(s).or_default();
        match e.body {
            EventBody::Call(_) => counts[0] += 1,
            EventBody::Sms(_) => counts[1] += 1,
            EventBody::Payment(_) => counts[2] += 1,
            EventBody::Subscription(_) => panic!("the population's lines predate the history"),
            _ => {}
        }
    }
    assert_eq!(per_subscriber.len(), WEEK_POPULATION);
    let days = 7.0;
    let within = |x: u32, lo: f64, hi: f64| (lo..=hi).contains(&(f64::from(x) / days));
    // Means are drawn from 5-30 calls, 2-20 SMS, 0-3 payments a day; a week's average
    // strays a little from its mean.
    let ok = per_subscriber
        .values()
        .filter(|c| within(c[0], 4.0, 33.0) && within(c[1], 1.3, 23.0) && within(c[2], 0.0, 4.0))
        .count();
    assert!(ok * 100 >= WEEK_POPULATION * 97, "{ok} of {WEEK_POPULATION} in range");
    let total: u32 = per_subscriber.values().map(|c| c[0] + c[1] + c[2]).sum();
    let mean = f64::from(total) / WEEK_POPULATION as f64 / days;
    assert!((25.0..=36.0).contains(&mean), "mean {mean} events per subscriber per day");
}

#[test]
fn legit_activity_is_quiet_at_night_and_busy_in_the_evening() {
    let w = week();
    let mut by_hour = [0u32; 24];
    for e in w.events.iter().filter(|e| w.legit.contains(e.subscriber.expose())) {
        by_hour[kst_hour(e.occurred_at.timestamp())] += 1;
    }
    let small_hours = by_hour[2] + by_hour[3] + by_hour[4];
    let evening = by_hour[19] + by_hour[20] + by_hour[21];
    assert!(small_hours * 10 < evening, "{small_hours} vs {evening}");
    assert!(small_hours > 0, "night owls exist");
}

#[test]
fn without_fraud_actors_the_truth_stays_empty() {
    let cfg = SimConfig { actors_per_family: Some(0), victims: Some(0), ..config(8, 300) };
    let mut sim = Simulator::new(cfg);
    let n = sim.by_ref().take(20_000).count();
    assert_eq!(n, 20_000);
    assert_eq!(sim.truth().lines().len(), 0);
    assert_eq!(sim.truth().victims().len(), 0);
}

#[test]
fn the_timeline_starts_where_configured() {
    let start = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().expect("valid time");
    let mut sim = Simulator::new(SimConfig { start, ..config(1, 100) });
    let first = sim.next().expect("an event");
    let at =
        chrono::DateTime::parse_from_rfc3339(first["occurred_at"].as_str().expect("time")).expect("rfc 3339");
    assert!(at >= start && at < start + chrono::Duration::hours(12));
}
