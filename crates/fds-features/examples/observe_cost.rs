//! Rough cost of `observe` with the shipped spec, and memory per tracked window.
//!
//! `cargo run --release -p fds-features --example observe_cost [subscribers]`
//!
//! Replays a synthetic day of calls, texts and payments in time order through one
//! thread and prints the mean time per event. The criterion benches in `benches/` are
//! the reference; this is a quick look while working on the store.

use fds_core::Event;
use fds_features::{FeatureSet, FeatureStore, InMemoryFeatures};
use serde_json::json;
use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

const SPEC: &str = include_str!("../../../rules/features.toml");

const METHODS: [&str; 3] = ["card", "carrier_billing", "transfer"];

/// xorshift64*: the same workload every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// The events in time order, parsed in that order so each one's memory is as fresh as
/// a just-received event's.
fn events(subscribers: u64) -> Result<Vec<Event>, Box<dyn Error>> {
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00Z")?.to_utc();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut raw = Vec::new();
    for sub in 0..subscribers {
        let number = format!("0105{sub:07}");
        for _ in 0..12 {
            let at = base + chrono::Duration::seconds(rng.below(86_400) as i64);
            let contact = format!("0109{:07}", rng.below(subscribers * 2));
            let mut v = match rng.below(10) {
                0..=5 => json!({"type": "call", "callee": contact, "direction": "out",
                    "duration_s": rng.below(600), "callee_country": "KR"}),
                6..=7 => json!({"type": "sms", "recipient": contact, "direction": "out",
                    "recipient_country": "KR", "contains_url": rng.below(5) == 0}),
                _ => json!({"type": "payment", "amount": 1_000 + rng.below(50_000),
                    "method": METHODS[rng.below(3) as usize],
                    "merchant_id": format!("m-{}", rng.below(500)), "merchant_category": "game",
                    "card_number": format!("4111{sub:012}"), "device_imei": format!("35{sub:013}")}),
            };
            v["event_id"] = json!(format!("e-{}", raw.len()));
            v["occurred_at"] = json!(at.to_rfc3339());
            v["subscriber"] = json!(number);
            raw.push((at, v));
        }
    }
    raw.sort_by_key(|(at, _)| *at);
    let mut out = Vec::with_capacity(raw.len());
    for (_, v) in raw {
        out.push(Event::from_value(v, None)?);
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn Error>> {
    let subscribers = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(20_000);
    let set = Arc::new(FeatureSet::from_toml_str(SPEC)?);
    let events = events(subscribers)?;
    let store = InMemoryFeatures::new(Arc::clone(&set));

    let started = Instant::now();
    let mut checksum = 0.0;
    for e in &events {
        checksum += store.observe(e)[0].as_f64();
    }
    let observe = started.elapsed();

    let started = Instant::now();
    for e in &events {
        checksum += store.peek(e)[0].as_f64();
    }
    let peek = started.elapsed();

    let stats = store.stats();
    let per = |d: std::time::Duration| d.as_nanos() as f64 / events.len() as f64 / 1_000.0;
    println!(
        "{} features, {} events, {subscribers} subscribers (checksum {checksum})",
        set.len(),
        events.len()
    );
    println!(
        "observe: {:.2} µs/event ({:.0} events/s)",
        per(observe),
        events.len() as f64 / observe.as_secs_f64()
    );
    println!("peek:    {:.2} µs/event", per(peek));
    println!(
        "state:   {} entities, {} windows, {} heap bytes, {:.1} bytes/window",
        stats.entities,
        stats.windows,
        stats.heap_bytes,
        stats.bytes_per_window()
    );
    Ok(())
}
