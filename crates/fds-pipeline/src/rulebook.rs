//! Rule packs from the store, live: the seed from the shipped files, the checks a
//! pack passes before it is published (it compiles, every fixture passes), and
//! what a running pipeline picks up when the store's rule epoch moves — the
//! published pack (swapped into the scorer between two events, no restart, no
//! request dropped), the drafts running in shadow and the analysts' suppressions.

use fds_core::{Action, Decision, Event, FeatureValue, Timestamp};
use fds_features::FeatureSet;
use fds_rules::{FileKind, PackFiles, RulePack};
use fds_scoring::{fixtures, Scorer, Suppressions};
use fds_store::{ChangeState, PackVersion, RuleChange, ShadowTally, Store, StoreError};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RulebookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pack does not compile or a fixture fails: every problem, one per line.
    #[error("the rule pack is refused:\n  {}", .0.join("\n  "))]
    Problems(Vec<String>),
    #[error("{0}")]
    NotFound(String),
}

/// Compiles `files` against `features` and runs every rule's fixtures: what a pack
/// must pass before it is seeded or published.
pub fn check(files: &PackFiles, features: &Arc<FeatureSet>) -> Result<RulePack, RulebookError> {
    let pack = RulePack::from_files(files, features.names(), features.utc_offset())
        .map_err(|e| RulebookError::Problems(e.problems))?;
    let report = fixtures::run_fixtures_in(files, &pack, features);
    if !report.is_ok() {
        let mut problems = report.problems;
        for result in &report.results {
            if let Err(why) = &result.outcome {
                problems.push(format!("fixture {} / {:?} failed: {why}", result.rule_id, result.case));
            }
        }
        return Err(RulebookError::Problems(problems));
    }
    Ok(pack)
}

/// Seeds an empty store with `files` (checked first) as version 1; `None` when the
/// store already holds a pack.
pub async fn seed(
    store: &dyn Store,
    files: &PackFiles,
    features: &Arc<FeatureSet>,
    actor: &str,
    at: Timestamp,
) -> Result<Option<PackVersion>, RulebookError> {
    if !store.rule_pack_versions(1).await?.is_empty() {
        return Ok(None);
    }
    let pack = check(files, features)?;
    Ok(store.seed_rule_pack(files, pack.version(), actor, at).await?)
}

/// The live (newest published) pack: its version, its files, and the pack compiled
/// with its version set to the version's label so every decision records
/// `v<N>-<content hash>`.
pub struct Live {
    pub version: PackVersion,
    pub files: PackFiles,
    pub pack: RulePack,
}

/// Reads and compiles the live pack (see [`Live`]).
pub async fn live(store: &dyn Store, features: &Arc<FeatureSet>) -> Result<Live, RulebookError> {
    let version = store.rule_pack_versions(1).await?.into_iter().next().ok_or_else(|| {
        RulebookError::NotFound("the store holds no rule pack yet (seed it with `fds rules import`)".into())
    })?;
    let files = store.rule_pack_files(version.version).await?;
    let mut pack = RulePack::from_files(&files, features.names(), features.utc_offset())
        .map_err(|e| RulebookError::Problems(e.problems))?;
    pack.set_version(version.label());
    Ok(Live { version, files, pack })
}

/// A draft checked against the live pack: what publishing it would make live.
pub struct Checked {
    /// The live version it was checked against.
    pub head: u64,
    pub change: RuleChange,
    /// The live files with the change applied.
    pub files: PackFiles,
    pub pack: RulePack,
}

/// The live files with draft `change_id` applied, compiled and fixture-tested.
pub async fn check_change(
    store: &dyn Store,
    change_id: i64,
    features: &Arc<FeatureSet>,
) -> Result<Checked, RulebookError> {
    let change = store
        .rule_change(change_id)
        .await?
        .ok_or_else(|| RulebookError::NotFound(format!("there is no change {change_id}")))?;
    let head = store.rule_pack_versions(1).await?.first().map_or(0, |v| v.version);
    let files =
        change.apply_to(&store.rule_pack_files(head).await?).map_err(|p| RulebookError::Problems(vec![p]))?;
    let pack = check(&files, features)?;
    Ok(Checked { head, change, files, pack })
}

/// Publishes draft `change_id` by `publisher` once the pack it makes compiles and
/// passes every fixture; the store refuses the author and a live version that
/// moved in between.
pub async fn publish(
    store: &dyn Store,
    change_id: i64,
    publisher: &str,
    features: &Arc<FeatureSet>,
    at: Timestamp,
) -> Result<PackVersion, RulebookError> {
    let checked = check_change(store, change_id, features).await?;
    Ok(store.publish_rule_change(change_id, publisher, checked.head, checked.pack.version(), at).await?)
}

/// A draft running in shadow: scored beside the live pack, never acted on.
pub(crate) struct Shadow {
    pub(crate) change_id: i64,
    pub(crate) scorer: Scorer,
    /// Per rule of the shadow pack: whether the draft writes it (only those rules'
    /// hits are tallied; the others are the live rules again).
    pub(crate) drafted: Vec<bool>,
}

/// What the pipeline reads from the store besides the live pack.
#[derive(Default)]
pub(crate) struct RuleState {
    /// The store's rule epoch this state was loaded at (`None`: never loaded).
    pub(crate) epoch: Option<i64>,
    pub(crate) shadows: Vec<Shadow>,
    pub(crate) suppressions: Suppressions,
}

/// Loads the drafts in shadow (each compiled over the live files; one that does not
/// compile is left out and logged) and the suppressions in force or to come.
pub(crate) async fn load_state(
    store: &dyn Store,
    epoch: i64,
    live: &Scorer,
    head: u64,
    now: Timestamp,
) -> Result<RuleState, StoreError> {
    let features = live.features();
    let base = store.rule_pack_files(head).await?;
    let mut shadows = Vec::new();
    for change in store.rule_changes(Some(ChangeState::Draft)).await?.into_iter().filter(|c| c.shadow) {
        let drafted_ids: BTreeSet<String> = change
            .files
            .iter()
            .filter(|f| f.body.is_some() && PackFiles::kind(&f.path) == Ok(FileKind::Rule))
            .filter_map(|f| {
                f.path.rsplit('/').next()?.strip_suffix(fds_rules::RULE_SUFFIX).map(str::to_string)
            })
            .collect();
        let compiled = change.apply_to(&base).map_err(|p| vec![p]).and_then(|files| {
            RulePack::from_files(&files, features.names(), features.utc_offset()).map_err(|e| e.problems)
        });
        match compiled {
            Ok(mut pack) => {
                pack.set_version(format!("shadow-{}-{}", change.change_id, pack.version()));
                let drafted = pack.rules().iter().map(|r| drafted_ids.contains(&r.id)).collect();
                shadows.push(Shadow {
                    change_id: change.change_id,
                    scorer: live.with_rules(Arc::new(pack)),
                    drafted,
                });
            }
            Err(problems) => {
                tracing::warn!(change_id = change.change_id, problems = %problems.join("; "), "draft in shadow does not compile; not run");
            }
        }
    }
    let mut suppressions = Suppressions::default();
    for s in
        store.suppressions(None).await?.into_iter().filter(|s| s.lifted_at.is_none() && s.expires_at > now)
    {
        suppressions.insert(s.suppression_id, &s.rule_id, s.kind, &s.value, s.created_at, s.expires_at);
    }
    Ok(RuleState { epoch: Some(epoch), shadows, suppressions })
}

/// Shadow counts not yet written, by (change, rule, hour).
#[derive(Default)]
pub(crate) struct ShadowCounts {
    counts: HashMap<(i64, String, i64), ShadowTally>,
}

impl ShadowCounts {
    /// Scores `event` with every draft in shadow of `state` and counts what it did
    /// against `live`.
    pub(crate) fn observe(
        &mut self,
        state: &RuleState,
        event: &Event,
        values: &[FeatureValue],
        live: &Decision,
        now: Timestamp,
    ) {
        let hour = event.occurred_at.timestamp().div_euclid(3600);
        for shadow in &state.shadows {
            let scored = shadow.scorer.score_with(event, values, now, &state.suppressions);
            let total = self.entry(shadow.change_id, "", hour);
            total.evaluated += 1;
            if scored.decision.action != live.action {
                total.changed += 1;
            }
            let rules = shadow.scorer.rules().rules();
            for &hit in scored.rule_hits.iter().filter(|&&i| shadow.drafted.get(i).copied().unwrap_or(false))
            {
                let tally = self.entry(shadow.change_id, &rules[hit].id, hour);
                tally.hits += 1;
                if live.action != Action::Allow {
                    tally.overlap += 1;
                }
            }
        }
    }

    fn entry(&mut self, change_id: i64, rule_id: &str, hour: i64) -> &mut ShadowTally {
        self.counts.entry((change_id, rule_id.to_string(), hour)).or_insert_with(|| ShadowTally {
            change_id,
            rule_id: rule_id.to_string(),
            hour,
            ..ShadowTally::default()
        })
    }

    pub(crate) fn add(&mut self, t: ShadowTally) {
        let entry = self.entry(t.change_id, &t.rule_id, t.hour);
        entry.evaluated += t.evaluated;
        entry.hits += t.hits;
        entry.overlap += t.overlap;
        entry.changed += t.changed;
    }

    pub(crate) fn take(&mut self) -> Vec<ShadowTally> {
        self.counts.drain().map(|(_, t)| t).collect()
    }
}
