//! The shipped rule library (`rules/`) loads cleanly and passes all of its fixtures,
//! run through the real feature engine with the shipped `rules/features.toml`.

use anyhow::Context;
use fds_features::FeatureSet;
use fds_rules::{Family, PackFiles, RulePack};
use fds_scoring::fixtures::{run_fixtures, run_fixtures_in};
use std::path::PathBuf;
use std::sync::Arc;

/// The library is expected to cover the business team's patterns broadly; fewer rules
/// than this means files went missing.
const MIN_RULES: usize = 40;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

#[test]
fn the_rule_library_passes_all_of_its_fixtures() -> anyhow::Result<()> {
    let dir = rules_dir();
    let spec_path = dir.join("features.toml");
    let spec =
        std::fs::read_to_string(&spec_path).with_context(|| format!("reading {}", spec_path.display()))?;
    let features = Arc::new(FeatureSet::from_toml_str(&spec).context("parsing features.toml")?);
    let pack = RulePack::load_dir(&dir, features.names(), features.utc_offset())
        .context("loading the rule library")?;

    let report = run_fixtures(&dir, &pack, &features);
    for problem in &report.problems {
        eprintln!("problem: {problem}");
    }
    for result in &report.results {
        if let Err(why) = &result.outcome {
            eprintln!("FAILED {} / {:?}: {why}", result.rule_id, result.case);
        }
    }
    eprintln!(
        "{} rules ({} run natively), {} cases: {} passed, {} failed, {} problems",
        pack.rules().len(),
        (0..pack.rules().len()).filter(|&i| pack.runs_natively(i)).count(),
        report.results.len(),
        report.passed(),
        report.failed(),
        report.problems.len()
    );

    let empty: Vec<&str> = Family::ALL
        .iter()
        .filter(|family| !pack.rules().iter().any(|r| r.family == **family))
        .map(|family| family.as_str())
        .collect();
    assert!(empty.is_empty(), "families without any rule: {empty:?}");
    assert!(
        pack.rules().len() >= MIN_RULES,
        "only {} rules loaded, expected at least {MIN_RULES}",
        pack.rules().len()
    );
    assert!(report.problems.is_empty(), "{} fixture problems (listed above)", report.problems.len());
    assert_eq!(report.failed(), 0, "{} fixture cases failed (listed above)", report.failed());
    assert!(report.passed() >= 2 * pack.rules().len(), "every rule needs a hit and a no_hit case");
    Ok(())
}

/// The library held as files (as the store keeps a pack) compiles to the same pack and
/// passes the same fixture cases as the library read from its directory.
#[test]
fn the_library_as_pack_files_compiles_and_tests_exactly_like_its_directory() -> anyhow::Result<()> {
    let dir = rules_dir();
    let spec = std::fs::read_to_string(dir.join("features.toml"))?;
    let features = Arc::new(FeatureSet::from_toml_str(&spec).context("parsing features.toml")?);
    let from_dir = RulePack::load_dir(&dir, features.names(), features.utc_offset())?;
    let files = PackFiles::read_dir(&dir)?;
    let from_files = RulePack::from_files(&files, features.names(), features.utc_offset())?;
    assert_eq!(from_files.version(), from_dir.version());
    let ids = |p: &RulePack| p.rules().iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&from_files), ids(&from_dir));

    let on_disk = run_fixtures(&dir, &from_dir, &features);
    let in_files = run_fixtures_in(&files, &from_files, &features);
    assert!(in_files.is_ok(), "{:?}", in_files.problems);
    assert_eq!(in_files.results, on_disk.results);

    // A fixture that no longer holds is caught from the files alone.
    let mut broken = files.clone();
    let (path, text) = files.iter().find(|(p, _)| p.ends_with(".test.toml")).context("a fixture file")?;
    broken
        .insert(path, text.replacen("expect = \"hit\"", "expect = \"no_hit\"", 1))
        .map_err(anyhow::Error::msg)?;
    let report = run_fixtures_in(&broken, &from_files, &features);
    assert!(report.failed() > 0 || !report.problems.is_empty(), "a flipped expectation still passed");
    Ok(())
}

/// The fast paths (native subset, batches, type index) decide exactly what running each
/// rule alone in Rhai decides, on realistic traffic with every family in it.
#[test]
fn every_evaluation_path_agrees_on_simulated_traffic() -> anyhow::Result<()> {
    use fds_features::{FeatureStore, InMemoryFeatures};
    let dir = rules_dir();
    let spec = std::fs::read_to_string(dir.join("features.toml"))?;
    let features = Arc::new(FeatureSet::from_toml_str(&spec)?);
    let pack = RulePack::load_dir(&dir, features.names(), features.utc_offset())?;
    let store = InMemoryFeatures::new(features.clone());
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00+09:00")?.to_utc();
    let sim = fds_sim::Simulator::new(fds_sim::SimConfig {
        seed: 3,
        subscribers: 1_000,
        start,
        ..fds_sim::SimConfig::default()
    });
    let mut hits = 0;
    for (n, value) in sim.take(30_000).enumerate() {
        let event = fds_core::Event::from_value(value, None)?;
        let values = store.observe(&event);
        let fast = pack.evaluate(&event, &values);
        let rhai = pack.evaluate_rhai(&event, &values);
        assert!(fast.errors.is_empty() && rhai.errors.is_empty(), "rule errors on event {n}");
        assert_eq!(fast.hits, rhai.hits, "event {n} ({}) decided differently", event.event_id);
        if n % 10 == 0 {
            assert_eq!(pack.evaluate_naive(&event, &values).hits, fast.hits, "naive differs on event {n}");
        }
        hits += fast.hits.len();
    }
    assert!(hits > 100, "the traffic should make rules fire, got {hits} hits");
    Ok(())
}
