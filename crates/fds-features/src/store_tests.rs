//! The in-memory store's own cases: hashing, eviction and the memory budget. The
//! behavioural suite of every `FeatureStore` (filters, windows, late events, peeks,
//! threads, the brute-force and replay properties) runs against this store and the
//! Redis one alike in `crates/fds-redis/tests/feature_stores.rs`.

use super::*;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::HashSet;

const SHIPPED: &str = include_str!("../../../rules/features.toml");

/// 2026-11-21T00:00:00Z, 09:00 in Seoul.
fn time(secs: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 21, 0, 0, 0).single().expect("valid time")
        + chrono::Duration::seconds(secs)
}

/// A valid event of type `kind` at `secs` after the base time; `fields` override the
/// defaults (subscriber `01000000001`).
fn event(secs: i64, kind: &str, fields: Value) -> Event {
    let mut v = json!({
        "event_id": format!("e-{secs}"), "occurred_at": time(secs).to_rfc3339(),
        "subscriber": "01000000001", "type": kind,
    });
    for (k, x) in fields.as_object().expect("an object") {
        v[k] = x.clone();
    }
    Event::from_value(v, None).expect("a valid event")
}

fn payment(secs: i64, fields: Value) -> Event {
    let mut v =
        json!({"amount": 1000, "method": "card", "merchant_id": "m-1", "merchant_category": "retail"});
    for (k, x) in fields.as_object().expect("an object") {
        v[k] = x.clone();
    }
    event(secs, "payment", v)
}

fn call(secs: i64, fields: Value) -> Event {
    let mut v = json!({"callee": "0212345678", "direction": "out", "duration_s": 60, "callee_country": "KR"});
    for (k, x) in fields.as_object().expect("an object") {
        v[k] = x.clone();
    }
    event(secs, "call", v)
}

fn store(spec: &str) -> InMemoryFeatures {
    InMemoryFeatures::new(Arc::new(FeatureSet::from_toml_str(spec).expect("a valid spec")))
}

fn shipped() -> InMemoryFeatures {
    store(SHIPPED)
}

fn int(n: i64) -> FeatureValue {
    FeatureValue::Int(n)
}

#[test]
fn keys_and_values_hash_apart() {
    let s = shipped();
    let values: HashSet<u32> = (0..1_000).map(|i| s.value_hash(Field::Str(&format!("v{i}")))).collect();
    assert_eq!(values.len(), 1_000);
    let ints: HashSet<u32> = (0..1_000).map(|i| s.value_hash(Field::Int(i))).collect();
    assert_eq!(ints.len(), 1_000);
    let keys: HashSet<u64> =
        (0..1_000).map(|i| s.key_hash(EntityKind::Subscriber, &format!("{i}"))).collect();
    assert_eq!(keys.len(), 1_000);
    assert_ne!(s.key_hash(EntityKind::Subscriber, "1"), s.key_hash(EntityKind::Callee, "1"));
    let shards: HashSet<usize> = keys.iter().map(|&h| (h >> 32) as usize & (SHARDS - 1)).collect();
    assert_eq!(shards.len(), SHARDS, "keys spread over every shard");
}

const SHORT: &str = r#"
[[feature]]
name = "pays_10m"
entity = "subscriber"
agg = "count"
window = "10m"
types = ["payment"]

[[feature]]
name = "merchants_1h"
entity = "subscriber"
agg = "distinct"
field = "merchant_id"
window = "1h"
types = ["payment"]

[[feature]]
name = "hours_since_pay"
entity = "subscriber"
agg = "since_last"
unit = "hours"
horizon = "2h"
types = ["payment"]
"#;

#[test]
fn eviction_frees_state_no_window_can_see_and_stats_reflect_it() {
    let s = store(SHORT);
    assert_eq!(s.stats(), StoreStats::default());
    for i in 0..10 {
        s.observe(&payment(i, json!({"subscriber": format!("0100000{i:04}")})));
    }
    let full = s.stats();
    assert_eq!((full.entities, full.windows), (10, 30));
    assert!(full.heap_bytes > 0);
    assert!(full.bytes_per_window() > 0.0);

    // Half an hour on, the 10-minute windows are gone, the others stay.
    assert_eq!(s.evict_idle(time(1_800)), 0);
    let half = s.stats();
    assert_eq!((half.entities, half.windows), (10, 20));
    assert!(half.heap_bytes <= full.heap_bytes, "space is compacted, kept for reuse");

    // Three hours on, nothing is visible any more: every entity goes.
    assert_eq!(s.evict_idle(time(3 * 3_600)), 10);
    assert_eq!(s.stats(), StoreStats::default());
    let v = s.peek(&payment(3 * 3_600, json!({"subscriber": "01000000001"})));
    assert_eq!(v, vec![int(0), int(0), FeatureValue::NEVER]);
}

/// A small deterministic generator (xorshift64*), so the workload is the same every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A day of traffic for `subscribers` lines: calls to a handful of regular contacts,
/// texts, payments, a few new lines, SIM swaps and device changes, in time order.
fn a_day_of_traffic(subscribers: u64, rng: &mut Rng) -> Vec<Event> {
    let mut events = Vec::new();
    for sub in 0..subscribers {
        let number = format!("0105{sub:07}");
        let contacts: Vec<String> =
            (0..8).map(|_| format!("0109{:07}", rng.below(subscribers * 2))).collect();
        let at = |rng: &mut Rng| rng.below(86_400) as i64;
        for _ in 0..(4 + rng.below(8)) {
            let callee = &contacts[rng.below(8) as usize];
            let dir = if rng.below(3) == 0 { "in" } else { "out" };
            let secs = at(rng);
            events.push(call(
                secs,
                json!({"subscriber": number, "callee": callee, "direction": dir,
                "duration_s": rng.below(600)}),
            ));
        }
        for _ in 0..rng.below(4) {
            let secs = at(rng);
            events.push(event(
                secs,
                "sms",
                json!({"subscriber": number, "recipient": contacts[rng.below(8) as usize],
                "direction": "out", "recipient_country": "KR"}),
            ));
        }
        for _ in 0..rng.below(3) {
            let method = ["card", "carrier_billing", "transfer"][rng.below(3) as usize];
            let mut p = json!({"subscriber": number, "method": method, "amount": 1_000 + rng.below(50_000),
                "merchant_id": format!("m-{}", rng.below(300))});
            if method == "card" {
                p["card_number"] = json!(format!("4111{:012}", sub));
            }
            if method == "transfer" {
                p["account"] = json!(format!("acct-{}", rng.below(subscribers)));
            }
            if rng.below(2) == 0 {
                p["device_imei"] = json!(format!("35{sub:013}"));
            }
            let secs = at(rng);
            events.push(payment(secs, p));
        }
        if rng.below(10) == 0 {
            let secs = at(rng);
            events.push(event(
                secs,
                "subscription",
                json!({"subscriber": number, "channel": "store",
                "identity": format!("id-{}", rng.below(subscribers)), "device_imei": format!("35{sub:013}")}),
            ));
        }
        if rng.below(50) == 0 {
            let secs = at(rng);
            events.push(event(secs, "sim_swap", json!({"subscriber": number, "channel": "store"})));
        }
        if rng.below(30) == 0 {
            let secs = at(rng);
            events.push(event(
                secs,
                "device_change",
                json!({"subscriber": number, "imei": format!("36{sub:013}")}),
            ));
        }
    }
    events.sort_by_key(|e| e.occurred_at);
    events
}

#[test]
fn a_day_of_traffic_stays_within_200_bytes_per_window() {
    let s = shipped();
    let events = a_day_of_traffic(3_000, &mut Rng(0x9e37_79b9_7f4a_7c15));
    for e in &events {
        s.observe(e);
    }
    let stats = s.stats();
    assert!(stats.windows > 3_000 * 10, "{stats:?}");
    assert!(stats.bytes_per_window() <= 200.0, "{stats:?}: {:.1} bytes per window", stats.bytes_per_window());
    // A month later only the since-features (90-day horizon) are left.
    s.evict_idle(time(31 * 86_400));
    let later = s.stats();
    assert!(later.windows < stats.windows / 5, "{later:?}");
    assert!(later.heap_bytes < stats.heap_bytes / 5, "{later:?}");
}
