use super::*;
use crate::window::{BUCKETS, DISTINCT_CAP};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
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

/// The value of `name` in `values`.
fn get(store: &InMemoryFeatures, values: &[FeatureValue], name: &str) -> FeatureValue {
    values[store.set().index_of(name).unwrap_or_else(|| panic!("no feature {name}"))]
}

fn int(n: i64) -> FeatureValue {
    FeatureValue::Int(n)
}

fn hours(secs: i64) -> FeatureValue {
    FeatureValue::Float((secs * 1_000_000) as f64 / 3_600_000_000.0)
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

#[test]
fn the_first_payment_of_a_subscriber_reads_one() {
    let s = shipped();
    let v = s.observe(&payment(0, json!({"amount": 50_000})));
    assert_eq!(v.len(), s.set().len());
    assert_eq!(get(&s, &v, "payments_count_1h"), int(1));
    assert_eq!(get(&s, &v, "payments_sum_24h"), int(50_000));
    assert_eq!(get(&s, &v, "distinct_merchants_24h"), int(1));
    assert_eq!(get(&s, &v, "merchant_payments_10m"), int(1));
    assert_eq!(get(&s, &v, "hours_since_sim_swap"), FeatureValue::NEVER);
    assert_eq!(get(&s, &v, "line_age_days"), FeatureValue::NEVER);
    // No callee, card or account on this payment: those entities read empty.
    assert_eq!(get(&s, &v, "callers_per_callee_1h"), int(0));
    assert_eq!(get(&s, &v, "card_payments_1h"), int(0));
    assert_eq!(get(&s, &v, "outbound_calls_1h"), int(0));
    let v = s.observe(&payment(60, json!({"amount": 20_000})));
    assert_eq!(get(&s, &v, "payments_count_1h"), int(2));
    assert_eq!(get(&s, &v, "payments_sum_1h"), int(70_000));
    assert_eq!(get(&s, &v, "distinct_merchants_24h"), int(1));
}

#[test]
fn value_and_list_filters_select_the_events_that_count() {
    let s = shipped();
    let v = s.observe(&payment(0, json!({"method": "card"})));
    assert_eq!(get(&s, &v, "carrier_billing_count_1h"), int(0));
    let v = s.observe(&payment(1, json!({"method": "carrier_billing", "merchant_category": "gift_card"})));
    assert_eq!(get(&s, &v, "carrier_billing_count_1h"), int(1));
    assert_eq!(get(&s, &v, "gift_card_payments_1h"), int(1));
    assert_eq!(get(&s, &v, "payments_count_1h"), int(2));

    let s = store(
        r#"[[feature]]
name = "card_or_transfer_1h"
entity = "subscriber"
agg = "count"
window = "1h"
types = ["payment"]
where = { method = ["card", "transfer"] }"#,
    );
    let mut last = Vec::new();
    for (i, method) in ["card", "carrier_billing", "transfer", "card"].iter().enumerate() {
        last = s.observe(&payment(i as i64, json!({"method": method, "account": "acct-0001"})));
    }
    assert_eq!(last, vec![int(3)]);
}

#[test]
fn comparison_filters_bound_integers_and_exclude_values() {
    let s = shipped();
    let v = s.observe(&call(0, json!({"duration_s": 10})));
    assert_eq!(get(&s, &v, "short_outbound_calls_1h"), int(1));
    let v = s.observe(&call(1, json!({"duration_s": 30})));
    assert_eq!(get(&s, &v, "short_outbound_calls_1h"), int(1), "lt is strict");
    assert_eq!(get(&s, &v, "outbound_calls_1h"), int(2));
    let v = s.observe(&call(2, json!({"direction": "in", "duration_s": 5})));
    assert_eq!(get(&s, &v, "short_outbound_calls_1h"), int(1));
    assert_eq!(get(&s, &v, "inbound_calls_24h"), int(1));

    assert_eq!(get(&s, &v, "international_calls_24h"), int(0));
    let v = s.observe(&call(3, json!({"callee_country": "US", "duration_s": 100})));
    assert_eq!(get(&s, &v, "international_calls_24h"), int(1));
    assert_eq!(get(&s, &v, "international_call_seconds_24h"), int(100));

    // ge = 300 and ne = "KR" together.
    let v = s.observe(&call(4, json!({"direction": "in", "duration_s": 299, "callee_country": "US"})));
    assert_eq!(get(&s, &v, "hours_since_long_international_inbound_call"), FeatureValue::NEVER);
    let v = s.observe(&call(5, json!({"direction": "in", "duration_s": 300, "callee_country": "KR"})));
    assert_eq!(get(&s, &v, "hours_since_long_international_inbound_call"), FeatureValue::NEVER);
    s.observe(&call(6, json!({"direction": "in", "duration_s": 300, "callee_country": "US"})));
    let v = s.observe(&call(6 + 1_800, json!({})));
    assert_eq!(get(&s, &v, "hours_since_long_international_inbound_call"), FeatureValue::Float(0.5));
}

#[test]
fn local_hour_filters_use_the_spec_offset() {
    let s = shipped();
    // 20:59 UTC is 05:59 in Seoul (+09:00): night.
    let v = s.observe(&payment(20 * 3_600 + 59 * 60, json!({})));
    assert_eq!(get(&s, &v, "night_payments_24h"), int(1));
    // 21:00 UTC is 06:00 in Seoul: not night.
    let v = s.observe(&payment(21 * 3_600, json!({})));
    assert_eq!(get(&s, &v, "night_payments_24h"), int(1));
    // 15:00 UTC is midnight in Seoul: night again.
    let v = s.observe(&payment(15 * 3_600 + 86_400, json!({})));
    assert_eq!(get(&s, &v, "night_payments_24h"), int(2));
    // A day later, 09:00 UTC would be night at UTC-04:00, but not at +09:00 (18:00):
    // only the midnight payment (18 hours ago) counts.
    let v = s.observe(&payment(9 * 3_600 + 2 * 86_400, json!({})));
    assert_eq!(get(&s, &v, "night_payments_24h"), int(1));
}

#[test]
fn boolean_filters_match_only_events_carrying_the_value() {
    let s = shipped();
    let v = s.observe(&call(0, json!({"forwarded": true})));
    assert_eq!(get(&s, &v, "forwarded_calls_24h"), int(1));
    let v = s.observe(&call(1, json!({"forwarded": false})));
    assert_eq!(get(&s, &v, "forwarded_calls_24h"), int(1));
    let v = s.observe(&call(2, json!({})));
    assert_eq!(get(&s, &v, "forwarded_calls_24h"), int(1), "an absent field fails the filter");
    let sms = |secs, url: Value| {
        event(
            secs,
            "sms",
            json!({"recipient": "01055556666", "direction": "out", "recipient_country": "KR", "contains_url": url}),
        )
    };
    s.observe(&sms(3, json!(true)));
    let v = s.observe(&sms(4, json!(false)));
    assert_eq!(get(&s, &v, "url_sms_1h"), int(1));
    assert_eq!(get(&s, &v, "outbound_sms_1h"), int(2));
    assert_eq!(get(&s, &v, "outbound_activity_7d"), int(5), "calls and sms");
}

#[test]
fn imei_keys_come_from_device_imei_and_imei() {
    let s = shipped();
    let imei = "356789012345678";
    s.observe(&event(
        0,
        "subscription",
        json!({
            "subscriber": "01000000001", "identity": "id-1", "channel": "online", "device_imei": imei,
            "device_price": 1_500_000, "installment_months": 24,
        }),
    ));
    s.observe(&event(60, "device_change", json!({"subscriber": "01000000002", "imei": imei})));
    let v = s.observe(&payment(120, json!({"subscriber": "01000000003", "device_imei": imei})));
    assert_eq!(get(&s, &v, "subscribers_per_imei_7d"), int(3));
    assert_eq!(get(&s, &v, "payments_per_imei_24h"), int(1));
    assert_eq!(get(&s, &v, "financed_subscriptions_per_imei_30d"), int(1));
    // A payment without an IMEI reads the IMEI features as empty.
    let v = s.observe(&payment(180, json!({"subscriber": "01000000003"})));
    assert_eq!(get(&s, &v, "payments_per_imei_24h"), int(0));
    assert_eq!(get(&s, &v, "subscribers_per_imei_7d"), int(0));

    // One subscriber's distinct IMEIs, from a subscription and a device change.
    s.observe(&event(240, "device_change", json!({"subscriber": "01000000001", "imei": "356789012345679"})));
    let v = s.observe(&call(300, json!({"subscriber": "01000000001"})));
    assert_eq!(get(&s, &v, "distinct_imeis_30d"), int(2));
    assert_eq!(get(&s, &v, "hours_since_device_change"), hours(60));
    assert_eq!(get(&s, &v, "line_age_days"), FeatureValue::Float(300.0 / 86_400.0));
    let v = s.observe(&event(
        360,
        "subscription",
        json!({
            "subscriber": "01000000009", "identity": "id-1", "channel": "online",
        }),
    ));
    assert_eq!(get(&s, &v, "lines_per_identity_30d"), int(2));
    assert_eq!(get(&s, &v, "online_lines_per_identity_30d"), int(2));
    assert_eq!(get(&s, &v, "financed_lines_per_identity_30d"), int(1));
    assert_eq!(get(&s, &v, "financed_device_value_per_identity_30d"), int(1_500_000));
}

#[test]
fn callee_keys_come_from_callee_and_recipient() {
    let s = store(
        r#"[[feature]]
name = "contacts_per_number_1h"
entity = "callee"
agg = "distinct"
field = "subscriber"
window = "1h"

[[feature]]
name = "distinct_contacts_1h"
entity = "subscriber"
agg = "distinct"
field = "callee"
window = "1h""#,
    );
    let number = "01077778888";
    s.observe(&call(0, json!({"subscriber": "01000000001", "callee": number})));
    let sms = event(
        1,
        "sms",
        json!({
            "subscriber": "01000000002", "recipient": number, "direction": "out", "recipient_country": "KR",
        }),
    );
    let v = s.observe(&sms);
    assert_eq!(v, vec![int(2), int(1)]);
    let v = s.observe(&call(2, json!({"subscriber": "01000000002", "callee": "01011112222"})));
    assert_eq!(v, vec![int(1), int(2)], "sms recipients and callees are one kind of contact");
}

#[test]
fn distinct_counts_saturate_at_the_cap() {
    let s = shipped();
    let mut v = Vec::new();
    for i in 0..100 {
        v = s.observe(&call(i, json!({"callee": format!("010{:08}", i)})));
    }
    assert_eq!(get(&s, &v, "distinct_callees_10m"), int(DISTINCT_CAP as i64));
    assert_eq!(get(&s, &v, "distinct_callees_24h"), int(DISTINCT_CAP as i64));
    assert_eq!(get(&s, &v, "outbound_calls_1h"), int(100));
    // Calling the first numbers again keeps the value at the cap.
    let v = s.observe(&call(100, json!({"callee": "01000000000"})));
    assert_eq!(get(&s, &v, "distinct_callees_1h"), int(DISTINCT_CAP as i64));
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

#[test]
fn late_events_do_not_see_later_buckets() {
    let s = shipped();
    // payments_count_1h has 5-minute buckets: 1,000 s later is three buckets on.
    s.observe(&payment(1_000, json!({})));
    let v = s.observe(&payment(0, json!({})));
    assert_eq!(get(&s, &v, "payments_count_1h"), int(1), "only the late event itself");
    let v = s.peek(&payment(1_000, json!({})));
    assert_eq!(get(&s, &v, "payments_count_1h"), int(2));

    s.observe(&event(7_200, "sim_swap", json!({"channel": "store"})));
    let v = s.peek(&payment(3_600, json!({})));
    assert_eq!(get(&s, &v, "hours_since_sim_swap"), FeatureValue::NEVER);
    s.observe(&event(0, "sim_swap", json!({"channel": "store"})));
    let v = s.peek(&payment(3_600, json!({})));
    assert_eq!(get(&s, &v, "hours_since_sim_swap"), FeatureValue::Float(1.0));
}

#[test]
fn peek_changes_nothing() {
    let s = shipped();
    s.observe(&payment(0, json!({})));
    let before = s.stats();
    let first = s.peek(&payment(10, json!({"subscriber": "01099999999", "card_number": "4111111111111111"})));
    assert_eq!(s.stats(), before, "no state for the new subscriber or card");
    let second =
        s.peek(&payment(10, json!({"subscriber": "01099999999", "card_number": "4111111111111111"})));
    assert_eq!(first, second);
    assert_eq!(get(&s, &first, "payments_count_1h"), int(0));
    assert_eq!(get(&s, &first, "merchant_payments_10m"), int(1), "the merchant's earlier payment");
}

#[test]
fn observers_on_several_threads_share_one_store() {
    let s = shipped();
    let threads = 4;
    let per_thread = 500;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let s = &s;
            scope.spawn(move || {
                for i in 0..per_thread {
                    s.observe(&payment(i % 60, json!({"subscriber": format!("0107000000{t}")})));
                }
            });
        }
    });
    let v = s.peek(&payment(60, json!({"subscriber": "01070000000"})));
    assert_eq!(get(&s, &v, "payments_count_1h"), int(per_thread));
    assert_eq!(get(&s, &v, "merchant_payments_10m"), int(threads * per_thread));
    assert_eq!(s.stats().entities, 4 + 1, "four subscribers and the merchant");
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

// ---------------------------------------------------------------- property tests

const PROPS: &str = r#"
[[feature]]
name = "pays_10m"
entity = "subscriber"
agg = "count"
window = "10m"
types = ["payment"]

[[feature]]
name = "amount_1h"
entity = "subscriber"
agg = "sum"
field = "amount"
window = "1h"
types = ["payment"]

[[feature]]
name = "merchants_1h"
entity = "subscriber"
agg = "distinct"
field = "merchant_id"
window = "1h"
types = ["payment"]

[[feature]]
name = "big_pays_24h"
entity = "subscriber"
agg = "count"
window = "24h"
types = ["payment"]
where = { amount = { ge = 5000 } }

[[feature]]
name = "hours_since_transfer"
entity = "subscriber"
agg = "since_last"
unit = "hours"
horizon = "6h"
types = ["payment"]
where = { method = "transfer" }

[[feature]]
name = "hours_since_first_pay"
entity = "subscriber"
agg = "since_first"
unit = "hours"
horizon = "3h"
types = ["payment"]

[[feature]]
name = "merchant_pays_1h"
entity = "merchant"
agg = "count"
window = "1h"

[[feature]]
name = "subscribers_per_merchant_1h"
entity = "merchant"
agg = "distinct"
field = "subscriber"
window = "1h"
"#;

#[derive(Clone, Debug)]
struct Pay {
    secs: i64,
    sub: u8,
    merchant: u8,
    amount: i64,
    transfer: bool,
}

impl Pay {
    fn event(&self) -> Event {
        payment(
            self.secs,
            json!({
                "subscriber": format!("0100000000{}", self.sub),
                "merchant_id": format!("m-{}", self.merchant),
                "amount": self.amount,
                "method": if self.transfer { "transfer" } else { "card" },
            }),
        )
    }
}

fn pays() -> impl Strategy<Value = Vec<Pay>> {
    prop::collection::vec((0i64..1_500, 0u8..3, 0u8..4, 1i64..10_000, any::<bool>()), 1..80).prop_map(|raw| {
        let mut secs = 0;
        raw.into_iter()
            .map(|(gap, sub, merchant, amount, transfer)| {
                secs += gap;
                Pay { secs, sub, merchant, amount, transfer }
            })
            .collect()
    })
}

/// The events before and including `i` with `same` true, split by age at event `i`:
/// those a window of `window` seconds must count (age at most 11/12 of it) and those it
/// may count (age below it).
fn must_and_may(pays: &[Pay], i: usize, window: i64, same: impl Fn(&Pay) -> bool) -> (Vec<&Pay>, Vec<&Pay>) {
    let t = pays[i].secs;
    let sure = window * i64::from(BUCKETS - 1) / i64::from(BUCKETS);
    let seen = pays[..=i].iter().filter(|p| same(p));
    let must = seen.clone().filter(|p| t - p.secs <= sure).collect();
    let may = seen.filter(|p| t - p.secs < window).collect();
    (must, may)
}

fn within(got: FeatureValue, low: i64, high: i64, what: &str) -> Result<(), TestCaseError> {
    let FeatureValue::Int(n) = got else {
        return Err(TestCaseError::fail(format!("{what}: {got:?} is not an integer")));
    };
    prop_assert!(low <= n && n <= high, "{what}: {n} not within {low}..={high}");
    Ok(())
}

fn distinct<T: std::hash::Hash + Eq>(items: impl Iterator<Item = T>) -> i64 {
    items.collect::<HashSet<T>>().len() as i64
}

/// Checks one observed row against a brute-force reading of `pays[..=i]`.
fn check_row(pays: &[Pay], i: usize, row: &[FeatureValue]) -> Result<(), TestCaseError> {
    let p = &pays[i];
    let t = p.secs;
    let sub = |q: &Pay| q.sub == p.sub;
    let merchant = |q: &Pay| q.merchant == p.merchant;

    let (must, may) = must_and_may(pays, i, 600, sub);
    within(row[0], must.len() as i64, may.len() as i64, "pays_10m")?;
    let (must, may) = must_and_may(pays, i, 3_600, sub);
    let total = |v: &[&Pay]| v.iter().map(|q| q.amount).sum::<i64>();
    within(row[1], total(&must), total(&may), "amount_1h")?;
    within(
        row[2],
        distinct(must.iter().map(|q| q.merchant)),
        distinct(may.iter().map(|q| q.merchant)),
        "merchants_1h",
    )?;
    let (must, may) = must_and_may(pays, i, 86_400, |q| sub(q) && q.amount >= 5_000);
    within(row[3], must.len() as i64, may.len() as i64, "big_pays_24h")?;

    // since_last: exact, never beyond the 6 h horizon.
    let last = pays[..=i].iter().filter(|q| sub(q) && q.transfer).map(|q| q.secs).max();
    let expected = match last {
        Some(s) if t - s <= 6 * 3_600 => hours(t - s),
        _ => FeatureValue::NEVER,
    };
    prop_assert_eq!(row[4], expected, "hours_since_transfer");

    // since_first: exact within the 3 h horizon; a first payment beyond it is forgotten
    // and the next one starts afresh.
    let mut first: Option<i64> = None;
    for q in pays[..=i].iter().filter(|q| sub(q)) {
        if first.is_none_or(|f| q.secs - f > 3 * 3_600) {
            first = Some(q.secs);
        }
    }
    let expected = match first {
        Some(f) if t - f <= 3 * 3_600 => hours(t - f),
        _ => FeatureValue::NEVER,
    };
    prop_assert_eq!(row[5], expected, "hours_since_first_pay");

    let (must, may) = must_and_may(pays, i, 3_600, merchant);
    within(row[6], must.len() as i64, may.len() as i64, "merchant_pays_1h")?;
    within(
        row[7],
        distinct(must.iter().map(|q| q.sub)),
        distinct(may.iter().map(|q| q.sub)),
        "subscribers_per_merchant_1h",
    )?;
    Ok(())
}

proptest! {
    #[test]
    fn windows_match_a_brute_force_reading_within_one_bucket(pays in pays()) {
        let s = store(PROPS);
        for (i, p) in pays.iter().enumerate() {
            let row = s.observe(&p.event());
            check_row(&pays, i, &row)?;
        }
    }

    #[test]
    fn replays_peeks_and_evictions_do_not_change_values(pays in pays(), probe in 0usize..80) {
        let plain = store(PROPS);
        let replay = store(PROPS);
        let peeked = store(PROPS);
        let evicted = store(PROPS);
        let events: Vec<Event> = pays.iter().map(Pay::event).collect();
        for (i, e) in events.iter().enumerate() {
            let expected = plain.observe(e);
            prop_assert_eq!(&replay.observe(e), &expected);

            // Peeking at this event and at another one first changes nothing.
            let before = peeked.stats();
            let other = &events[probe % events.len()];
            let look = peeked.peek(other);
            prop_assert_eq!(&peeked.peek(other), &look);
            peeked.peek(e);
            prop_assert_eq!(peeked.stats(), before);
            prop_assert_eq!(&peeked.observe(e), &expected);

            // Evicting as of this event's time first changes nothing either.
            evicted.evict_idle(e.occurred_at);
            prop_assert_eq!(&evicted.observe(e), &expected, "event {}", i);
        }
    }
}
