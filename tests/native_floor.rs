//! The rule library written as native Rust closures (`benches/floor/native_rules.rs`, the
//! benchmark's floor) decides exactly as the rule engine does. That the file is what
//! the library generates is checked by `tests/native_floor_source.rs`.

#[rustfmt::skip]
#[path = "../benches/floor/native_rules.rs"]
mod native_rules;

use anyhow::Context;
use fds_core::Event;
use fds_features::{FeatureSet, FeatureStore, InMemoryFeatures};
use fds_rules::RulePack;
use fds_scoring::fixtures::fixture_inputs;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn library() -> anyhow::Result<(Arc<FeatureSet>, RulePack)> {
    let dir = root().join("rules");
    let spec = std::fs::read_to_string(dir.join("features.toml"))?;
    let features = Arc::new(FeatureSet::from_toml_str(&spec).context("parsing features.toml")?);
    let pack = RulePack::load_dir(&dir, features.names(), features.utc_offset())?;
    Ok((features, pack))
}

/// The ids of the closures that hit the event.
fn native_hits(
    rules: &[native_rules::NativeRule],
    pack: &RulePack,
    e: &Event,
    values: &[fds_core::FeatureValue],
    features: &FeatureSet,
) -> BTreeSet<String> {
    rules
        .iter()
        .filter(|r| r.events.contains(&e.event_type()))
        .filter(|r| (r.check)(e, values, pack.lists(), features.utc_offset()))
        .map(|r| r.id.to_string())
        .collect()
}

/// The ids of the engine's hits among the rules that have a closure.
fn engine_hits(
    pack: &RulePack,
    e: &Event,
    values: &[fds_core::FeatureValue],
    covered: &BTreeSet<String>,
) -> BTreeSet<String> {
    let evaluation = pack.evaluate(e, values);
    assert!(evaluation.errors.is_empty(), "{:?}", evaluation.errors);
    evaluation.hits.iter().map(|&i| pack.rules()[i].id.clone()).filter(|id| covered.contains(id)).collect()
}

#[test]
fn the_closures_decide_every_fixture_case_and_simulated_event_as_the_engine() -> anyhow::Result<()> {
    let (features, pack) = library()?;
    let rules = native_rules::rules();
    assert!(!rules.is_empty(), "the floor has no closures");
    let covered: BTreeSet<String> = rules.iter().map(|r| r.id.to_string()).collect();

    let cases = fixture_inputs(&pack, &features);
    assert!(cases.len() >= 2 * rules.len(), "{} fixture cases for {} rules", cases.len(), rules.len());
    let mut hit_cases = 0;
    for case in &cases {
        let native = native_hits(&rules, &pack, &case.event, &case.values, &features);
        let engine = engine_hits(&pack, &case.event, &case.values, &covered);
        assert_eq!(native, engine, "rule {} case {:?}", case.rule_id, case.case);
        if covered.contains(&case.rule_id) {
            assert_eq!(
                native.contains(&case.rule_id),
                case.expect_hit,
                "rule {} case {:?}",
                case.rule_id,
                case.case
            );
            hit_cases += usize::from(case.expect_hit);
        }
    }
    assert!(hit_cases >= rules.len(), "every closure is seen hitting a case");

    let store = InMemoryFeatures::new(features.clone());
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00+09:00")?.to_utc();
    let sim = fds_sim::Simulator::new(fds_sim::SimConfig {
        seed: 5,
        subscribers: 3_000,
        start,
        ..fds_sim::SimConfig::default()
    });
    let mut hits = 0;
    for (n, value) in sim.take(30_000).enumerate() {
        let event = Event::from_value(value, None)?;
        let values = store.observe(&event);
        let native = native_hits(&rules, &pack, &event, &values, &features);
        let engine = engine_hits(&pack, &event, &values, &covered);
        assert_eq!(native, engine, "simulated event {n}");
        hits += native.len();
    }
    assert!(hits > 0, "the simulated traffic hits rules");
    Ok(())
}
