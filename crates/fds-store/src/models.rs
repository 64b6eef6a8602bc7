//! The model registry: trained model artifacts with their metrics, training window
//! and role, and the hourly score histograms of the models that score traffic.
//!
//! Per kind (`anomaly`, `supervised`) at most one model is the champion (it scores
//! live traffic) and at most one the challenger (scored in shadow, never acting);
//! the others are retired. The backends enforce it with a unique index and change
//! roles in one transaction with the audit record of the change (`model.register`,
//! `model.promote`) and a bump of the registry version, which serving processes
//! poll to pick up a promotion. Which role a new model gets, and when to promote,
//! is the caller's decision.

use fds_core::Timestamp;
use serde::{Deserialize, Serialize};

/// The kinds of model the registry keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Anomaly,
    Supervised,
}

impl ModelKind {
    pub const ALL: [ModelKind; 2] = [ModelKind::Anomaly, ModelKind::Supervised];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Anomaly => "anomaly",
            ModelKind::Supervised => "supervised",
        }
    }

    pub fn parse(text: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// What a registered model does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelRole {
    /// Scores live traffic: its score joins the decisions.
    Champion,
    /// Scored on the same events after the decision, in shadow; never acts.
    Challenger,
    /// Kept for the record; scores nothing.
    Retired,
}

impl ModelRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelRole::Champion => "champion",
            ModelRole::Challenger => "challenger",
            ModelRole::Retired => "retired",
        }
    }

    pub fn parse(text: &str) -> Option<ModelRole> {
        [ModelRole::Champion, ModelRole::Challenger, ModelRole::Retired]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// A model to register: the artifact (JSON text, as `fds-ml` writes it) and what
/// is known about how it was made.
#[derive(Clone, Debug, PartialEq)]
pub struct NewModel {
    /// The artifact's own version (`anomaly-…`, `supervised-…`): the registry key.
    pub version: String,
    pub kind: ModelKind,
    pub artifact: String,
    /// Evaluation figures (hold-out ROC-AUC, PR-AUC, recall and false-positive rate
    /// at the thresholds, …) as the trainer reports them.
    pub metrics: serde_json::Value,
    /// The event-time window of the training data.
    pub trained_from: Timestamp,
    pub trained_to: Timestamp,
    /// SHA-256 of the artifact's feature spec: models with equal hashes read the
    /// same rows.
    pub feature_schema_hash: String,
    /// SHA-256 of the fitted rows.
    pub data_hash: String,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// A registered model, without its artifact (see [`Store::model_artifact`](crate::Store::model_artifact)).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelInfo {
    pub version: String,
    pub kind: ModelKind,
    pub role: ModelRole,
    pub metrics: serde_json::Value,
    pub trained_from: Timestamp,
    pub trained_to: Timestamp,
    pub feature_schema_hash: String,
    pub data_hash: String,
    pub created_at: Timestamp,
    pub created_by: String,
    /// When the model took its current role.
    pub role_changed_at: Timestamp,
    /// Since when the daily drift of its inputs or scores passed the alert threshold.
    pub needs_retraining_since: Option<Timestamp>,
}

/// Bins of a score histogram: scores in 0..1, bin `i` holds `[i/20, (i+1)/20)`,
/// the last one also 1.
pub const SCORE_BINS: usize = 20;

/// The histogram bin of `score` (clamped to 0..1; not-a-number counts as 0).
pub fn score_bin(score: f64) -> usize {
    let score = if score.is_nan() { 0.0 } else { score.clamp(0.0, 1.0) };
    ((score * SCORE_BINS as f64) as usize).min(SCORE_BINS - 1)
}

/// Scores of one model in one UTC hour, per bin: what the pipeline adds up in
/// memory and the store adds to its hourly rollup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreTally {
    pub model_version: String,
    /// The start of the UTC hour the scored events occurred in.
    pub hour: Timestamp,
    pub bins: [u64; SCORE_BINS],
}

/// The start of the UTC hour holding `at`.
pub fn hour_of(at: Timestamp) -> Timestamp {
    let micros = at.timestamp_micros();
    let hour = 3_600_000_000;
    Timestamp::from_timestamp_micros(micros - micros.rem_euclid(hour)).unwrap_or(at)
}

/// A histogram from `(bin, count)` rows of the score rollup.
pub(crate) fn bins_from_rows(rows: Vec<(i64, i64)>) -> Result<[u64; SCORE_BINS], crate::StoreError> {
    let mut bins = [0u64; SCORE_BINS];
    for (bin, n) in rows {
        let slot = usize::try_from(bin)
            .ok()
            .and_then(|b| bins.get_mut(b))
            .ok_or_else(|| crate::StoreError::corrupt("model_score_rollup", "bin out of range"))?;
        *slot = u64::try_from(n)
            .map_err(|_| crate::StoreError::corrupt("model_score_rollup", "negative count"))?;
    }
    Ok(bins)
}

/// Input values of one model on one UTC day, counted per bin of its training
/// baseline (see `fds_ml::Baseline`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputTally {
    pub model_version: String,
    pub day: chrono::NaiveDate,
    pub input: String,
    pub counts: Vec<u64>,
}

/// The drift of one model on one UTC day: the population stability index of each
/// input (and of `score`) against its training baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftReport {
    pub model_version: String,
    pub day: chrono::NaiveDate,
    pub psi: std::collections::BTreeMap<String, f64>,
    /// Some PSI passed the alert threshold: the model is marked as needing retraining
    /// (from `at`, unless it already was).
    pub needs_retraining: bool,
    pub at: Timestamp,
}

/// Counts per bin from `(input, bin, count)` rows, by input.
pub(crate) fn inputs_from_rows(
    rows: Vec<(String, i64, i64)>,
) -> Result<std::collections::BTreeMap<String, Vec<u64>>, crate::StoreError> {
    let corrupt = || crate::StoreError::corrupt("model_input_rollup", "bad bin or count");
    let mut out: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for (input, bin, count) in rows {
        let (bin, count) =
            (usize::try_from(bin).map_err(|_| corrupt())?, u64::try_from(count).map_err(|_| corrupt())?);
        if bin > 1_000 {
            return Err(corrupt());
        }
        let counts = out.entry(input).or_default();
        if counts.len() <= bin {
            counts.resize(bin + 1, 0);
        }
        counts[bin] += count;
    }
    Ok(out)
}

/// `version, kind, role, metrics, trained_from, trained_to, feature_schema_hash,
/// data_hash, created_at, created_by, role_changed_at, needs_retraining_since`
pub(crate) type ModelRow<T> = (String, String, String, String, T, T, String, String, T, String, T, Option<T>);

/// The columns of a [`ModelRow`], in order (metrics as text on both backends).
pub(crate) const MODEL_COLUMNS: &str =
    "version, kind, role, CAST(metrics AS TEXT), trained_from, trained_to, \
     feature_schema_hash, data_hash, created_at, created_by, role_changed_at, needs_retraining_since";

pub(crate) fn model_from_row<T>(
    row: ModelRow<T>,
    time: impl Fn(T) -> Result<Timestamp, crate::StoreError>,
) -> Result<ModelInfo, crate::StoreError> {
    let corrupt = |what: &str| crate::StoreError::corrupt("models", what.to_string());
    let (
        version,
        kind,
        role,
        metrics,
        from,
        to,
        feature_schema_hash,
        data_hash,
        created_at,
        created_by,
        changed,
        needs_retraining,
    ) = row;
    Ok(ModelInfo {
        version,
        kind: ModelKind::parse(&kind).ok_or_else(|| corrupt("unknown kind"))?,
        role: ModelRole::parse(&role).ok_or_else(|| corrupt("unknown role"))?,
        metrics: serde_json::from_str(&metrics).map_err(|_| corrupt("metrics are not JSON"))?,
        trained_from: time(from)?,
        trained_to: time(to)?,
        feature_schema_hash,
        data_hash,
        created_at: time(created_at)?,
        created_by,
        role_changed_at: time(changed)?,
        needs_retraining_since: needs_retraining.map(&time).transpose()?,
    })
}

/// What a registry change records in the audit log: the model and its role.
pub(crate) fn audit_state(version: &str, kind: ModelKind, role: ModelRole) -> serde_json::Value {
    serde_json::json!({ "version": version, "kind": kind.as_str(), "role": role.as_str() })
}

/// The audit entry of a role change.
pub(crate) fn audit_entry(
    action: &str,
    actor: &str,
    kind: ModelKind,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
    at: Timestamp,
) -> crate::AuditEntry {
    crate::AuditEntry {
        actor: actor.to_string(),
        action: action.to_string(),
        target: format!("model:{}", kind.as_str()),
        before,
        after: Some(after),
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_fall_in_twenty_bins_with_one_in_the_last() {
        assert_eq!(score_bin(0.0), 0);
        assert_eq!(score_bin(0.049), 0);
        assert_eq!(score_bin(0.05), 1);
        assert_eq!(score_bin(0.99), 19);
        assert_eq!(score_bin(1.0), 19);
        assert_eq!(score_bin(7.0), 19);
        assert_eq!(score_bin(-1.0), 0);
        assert_eq!(score_bin(f64::NAN), 0);
    }

    #[test]
    fn kinds_and_roles_read_back_from_their_names() {
        for kind in ModelKind::ALL {
            assert_eq!(ModelKind::parse(kind.as_str()), Some(kind));
        }
        for role in [ModelRole::Champion, ModelRole::Challenger, ModelRole::Retired] {
            assert_eq!(ModelRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(ModelKind::parse("forest"), None);
    }
}
