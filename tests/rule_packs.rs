//! The rule lifecycle through the library's own calls, on the shipped library and
//! simulated traffic: a backtest of the live pack reproduces the decisions the
//! pipeline actually made (point-in-time features), a draft's backtest counts what it
//! changes, a broken draft is refused at publish and nothing is published, and a
//! running pipeline picks up a published pack and a draft in shadow on its next reload.

use anyhow::Context;
use chrono::TimeZone;
use fds_core::{Action, Event, Reason};
use fds_features::{FeatureSet, InMemoryFeatures};
use fds_pipeline::backtest::backtest;
use fds_pipeline::rulebook::{self, RulebookError};
use fds_pipeline::{ManualClock, Pipeline, PipelineConfig};
use fds_rules::PackFiles;
use fds_scoring::{Scorer, ScoringConfig};
use fds_store::ChangedFile;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn features() -> anyhow::Result<Arc<FeatureSet>> {
    let spec = std::fs::read_to_string(rules_dir().join("features.toml"))?;
    Ok(Arc::new(FeatureSet::from_toml_str(&spec)?))
}

fn start() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

/// `n` simulated events (seeded), in event-time order.
fn traffic(n: usize) -> anyhow::Result<Vec<Event>> {
    let sim = fds_sim::Simulator::new(fds_sim::SimConfig {
        seed: 11,
        subscribers: 800,
        start: start(),
        ..fds_sim::SimConfig::default()
    });
    let mut events: Vec<Event> =
        sim.take(n).map(|v| Event::from_value(v, None)).collect::<Result<_, _>>().context("valid events")?;
    events.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
    Ok(events)
}

/// A pipeline on a fresh SQLite file seeded with the shipped library, running its live pack.
async fn pipeline(dir: &tempfile::TempDir) -> anyhow::Result<Arc<Pipeline>> {
    let url = format!("sqlite://{}", dir.path().join("fds.db").display());
    let vault = Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()));
    let store = fds_store::open(&url, vault).await?;
    let features = features()?;
    let files = PackFiles::read_dir(&rules_dir())?;
    rulebook::seed(store.as_ref(), &files, &features, "seed", start()).await?.context("seeded")?;
    let pack = rulebook::live(store.as_ref(), &features).await?.pack;
    let scorer = Scorer::new(Arc::new(pack), features.clone(), ScoringConfig::default());
    let pipeline = Pipeline::start(
        scorer,
        Arc::new(InMemoryFeatures::new(features)),
        store,
        Arc::new(ManualClock::new(start())),
        PipelineConfig::default(),
    )
    .await?;
    pipeline.reload_rules().await?;
    Ok(Arc::new(pipeline))
}

async fn feed(pipeline: &Pipeline, events: &[Event]) -> anyhow::Result<()> {
    for chunk in events.chunks(500) {
        let batch = chunk.iter().map(|e| (e.clone(), std::time::Instant::now())).collect();
        pipeline.submit_events(batch).await?;
    }
    pipeline.flush().await?;
    Ok(())
}

fn rule_reasons(reasons: &[Reason]) -> Vec<&Reason> {
    reasons.iter().filter(|r| matches!(r, Reason::Rule { .. })).collect()
}

#[tokio::test]
async fn backtesting_the_live_pack_reproduces_every_decision_it_made_with_features_as_they_were(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline(&dir).await?;
    let events = traffic(40_000)?;
    feed(&pipeline, &events).await?;
    let stored: HashMap<String, fds_core::Decision> = {
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let mut all = HashMap::new();
        for chunk in ids.chunks(1_000) {
            for d in pipeline.store().decisions_for_events(chunk).await? {
                all.insert(d.event_id.clone(), d);
            }
        }
        all
    };
    assert_eq!(stored.len(), events.len());

    // A window starting mid-stream: its first events need the history before it.
    let from = events[events.len() / 2].occurred_at;
    let to = events.last().context("events")?.occurred_at + chrono::Duration::seconds(1);
    let live = pipeline.scorer();
    let (mut compared, mut flagged) = (0u64, 0u64);
    let report = backtest(
        pipeline.store().as_ref(),
        (&live, &live),
        (from, to),
        &AtomicBool::new(false),
        |_| {},
        |event, replayed, _| {
            let actual = &stored[&event.event_id];
            assert_eq!(
                (replayed.action, replayed.score, rule_reasons(&replayed.reasons), &replayed.block),
                (actual.action, actual.score, rule_reasons(&actual.reasons), &actual.block),
                "event {} decided otherwise in the backtest",
                event.event_id
            );
            assert_eq!(replayed.rules_version, actual.rules_version);
            compared += 1;
            flagged += u64::from(actual.action != Action::Allow);
        },
    )
    .await?;

    let in_window = events.iter().filter(|e| e.occurred_at >= from && e.occurred_at < to).count() as u64;
    assert_eq!((report.events, compared), (in_window, in_window));
    assert!(report.warm_up_events > 0, "the window's history was replayed first");
    assert_eq!(report.changed(), 0);
    assert!(flagged > 20, "the traffic should make rules decide, got {flagged} reviews and blocks");
    Ok(())
}

#[tokio::test]
async fn a_draft_backtest_counts_what_removing_a_rule_changes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline(&dir).await?;
    let events = traffic(20_000)?;
    feed(&pipeline, &events).await?;
    let live = pipeline.scorer();
    let features = live.features().clone();

    // The rule that hit most, retired in a draft.
    let (from, to) = (start(), events.last().context("events")?.occurred_at + chrono::Duration::seconds(1));
    let same = backtest(
        pipeline.store().as_ref(),
        (&live, &live),
        (from, to),
        &AtomicBool::new(false),
        |_| {},
        |_, _, _| {},
    )
    .await?;
    let (top, (top_hits, _)) =
        same.rule_hits.iter().max_by_key(|(_, (n, _))| *n).map(|(id, n)| (id.clone(), *n)).context("hits")?;
    let mut files = pipeline.store().rule_pack_files(1).await?;
    let path = files.rule_path(&top).context("the rule file")?.to_string();
    files.remove(&path);
    files.remove(&path.replace(".rhai", ".test.toml"));
    let draft = live.with_rules(Arc::new(rulebook::check(&files, &features)?));

    let report = backtest(
        pipeline.store().as_ref(),
        (&live, &draft),
        (from, to),
        &AtomicBool::new(false),
        |_| {},
        |_, _, _| {},
    )
    .await?;
    assert_eq!(report.rule_hits[&top], (top_hits, 0));
    assert!(report.changed() <= top_hits, "only decisions the rule hit can change");
    let flagged_live: u64 =
        report.transitions.iter().filter(|((a, _), _)| *a != Action::Allow).map(|(_, n)| n).sum();
    let flagged_draft: u64 =
        report.transitions.iter().filter(|((_, b), _)| *b != Action::Allow).map(|(_, n)| n).sum();
    assert!(flagged_draft <= flagged_live, "removing a rule never flags more");

    let cancelled = backtest(
        pipeline.store().as_ref(),
        (&live, &draft),
        (from, to),
        &AtomicBool::new(true),
        |_| {},
        |_, _, _| {},
    )
    .await?;
    assert!(cancelled.cancelled && cancelled.events == 0);
    Ok(())
}

#[tokio::test]
async fn a_broken_draft_is_refused_and_a_published_pack_and_a_shadow_draft_reach_the_pipeline_on_reload(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline(&dir).await?;
    let store = pipeline.store().clone();
    let features = pipeline.scorer().features().clone();
    let live = store.rule_pack_files(1).await?;
    let (fixture, text) = live.iter().find(|(p, _)| p.ends_with(".test.toml")).context("a fixture")?;
    let flipped = text.replacen("expect = \"hit\"", "expect = \"no_hit\"", 1);

    let broken = store
        .create_rule_change(
            "flip",
            "alice",
            1,
            &[ChangedFile { path: fixture.into(), body: Some(flipped) }],
            start(),
        )
        .await?;
    match rulebook::publish(store.as_ref(), broken.change_id, "bob", &features, start()).await {
        Err(RulebookError::Problems(problems)) => {
            assert!(problems.iter().any(|p| p.contains("failed")), "{problems:?}")
        }
        other => panic!("a broken pack was not refused: {other:?}"),
    }
    assert_eq!(store.rule_pack_versions(10).await?.len(), 1, "nothing was published");
    assert!(!pipeline.reload_rules().await?, "nothing changed, nothing reloads");

    // A draft that adds a probe rule on payments, in shadow.
    let probe =
        "// id: probe_any_payment\n// name: Probe\n// family: carrier_billing_abuse\n// action: block\n\
                 // score: 90\n// events: payment\n// description: Probe.\ne.amount > 0\n";
    let draft = store
        .create_rule_change(
            "probe",
            "alice",
            1,
            &[ChangedFile {
                path: "carrier_billing_abuse/probe_any_payment.rhai".into(),
                body: Some(probe.into()),
            }],
            start(),
        )
        .await?;
    store.set_rule_change_shadow(draft.change_id, "alice", true, start()).await?;
    assert!(pipeline.reload_rules().await?);
    let events = traffic(3_000)?;
    feed(&pipeline, &events).await?;
    pipeline.flush_shadow_counts().await?;
    let payments = events.iter().filter(|e| e.event_type().as_str() == "payment").count() as u64;
    let tallies = store.shadow_tallies(draft.change_id).await?;
    let total = tallies.iter().find(|t| t.rule_id.is_empty()).context("the total")?;
    let probe_tally = tallies.iter().find(|t| t.rule_id == "probe_any_payment").context("the probe")?;
    assert_eq!(total.evaluated, events.len() as u64);
    assert_eq!(probe_tally.hits, payments, "the probe hits every payment");
    assert!(
        tallies.iter().all(|t| t.rule_id.is_empty() || t.rule_id == "probe_any_payment"),
        "only drafted rules are tallied"
    );
    let stored = store.decisions_for_events(&[events[0].event_id.as_str()]).await?;
    assert!(rule_reasons(&stored[0].reasons)
        .iter()
        .all(|r| !matches!(r, Reason::Rule { rule_id, .. } if rule_id == "probe_any_payment")));

    // Publishing a fixed change: the next reload runs v2.
    let fixed = store
        .create_rule_change(
            "raise",
            "alice",
            1,
            &[ChangedFile { path: fixture.into(), body: Some(format!("{text}\n")) }],
            start(),
        )
        .await?;
    let v2 = rulebook::publish(store.as_ref(), fixed.change_id, "bob", &features, start()).await?;
    assert!(pipeline.reload_rules().await?);
    assert_eq!(pipeline.scorer().rules().version(), v2.label());
    Ok(())
}
