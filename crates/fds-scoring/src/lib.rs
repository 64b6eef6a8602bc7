//! The hot path: `score(event, features, rules, models) -> Decision`.
//!
//! This crate owns how rule hits and model scores combine into allow / review / block,
//! the reasons attached to a decision, and the block a decision creates. It is pure
//! and synchronous: no I/O, no clock reads (the caller passes the decision time), no
//! async runtime. Feature state is updated by the caller, which hands the values in.
//! `fixtures` runs the rule library's fixture cases through the real feature engine.
//! The models beside the rules plug in through [`Model`]: `anomaly` (isolation forest) and
//! `supervised` (calibrated boosted trees); the scorer runs any number of them together.

mod anomaly;
pub mod fixtures;
mod model;
mod supervised;
mod suppressions;

pub use anomaly::{anomaly_spec, event_inputs, feature_row, AnomalyModel};
pub use model::{Model, ModelScore};
pub use supervised::SupervisedModel;
pub use suppressions::Suppressions;

use fds_core::{
    ids, Action, Block, BlockScope, Decision, Event, FeatureValue, Reason, RuleAction, Timestamp,
};
use fds_features::FeatureSet;
use fds_rules::{RuleError, RulePack};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How scores turn into actions, and what a block looks like.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    /// A total score at or above this sends the event to review.
    pub review_at: f64,
    /// A total score at or above this blocks.
    pub block_at: f64,
    /// Points a model adds at score 1.0 (its contribution is `model_weight * score`).
    pub model_weight: f64,
    /// Points the supervised model adds at fraud probability 1.0 (its contribution is
    /// `supervised_weight * probability`). At the default 50 the model alone reviews from
    /// p ≥ 0.8 and never blocks without rule points: on simulated traffic a weight of 100
    /// (blocking from p ≥ 0.8) blocked 0.72 % of legit subscribers, above the 0.1 % bar.
    pub supervised_weight: f64,
    /// How long a block lasts when no block rule says otherwise (score-driven blocks).
    pub default_block_hours: u32,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            review_at: 40.0,
            block_at: 80.0,
            model_weight: 40.0,
            supervised_weight: 50.0,
            default_block_hours: 72,
        }
    }
}

impl ScoringConfig {
    /// Every problem with the thresholds, for the configuration report.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(0.0..=100.0).contains(&self.review_at) {
            out.push(format!("scoring.review_at must be within 0..100, got {}", self.review_at));
        }
        if !(0.0..=100.0).contains(&self.block_at) {
            out.push(format!("scoring.block_at must be within 0..100, got {}", self.block_at));
        }
        if self.review_at > self.block_at {
            out.push(format!(
                "scoring.review_at ({}) must not exceed scoring.block_at ({})",
                self.review_at, self.block_at
            ));
        }
        if !(0.0..=100.0).contains(&self.model_weight) {
            out.push(format!("scoring.model_weight must be within 0..100, got {}", self.model_weight));
        }
        if !(0.0..=100.0).contains(&self.supervised_weight) {
            out.push(format!(
                "scoring.supervised_weight must be within 0..100, got {}",
                self.supervised_weight
            ));
        }
        if self.default_block_hours == 0 {
            out.push("scoring.default_block_hours must be at least 1".to_string());
        }
        out
    }
}

/// The highest total score a decision can carry.
const MAX_SCORE: f64 = 100.0;

/// A decision plus what went wrong on the way (rules that failed and were skipped).
#[derive(Clone, Debug)]
pub struct Scored {
    pub decision: Decision,
    pub rule_errors: Vec<RuleError>,
    /// Indices (into the pack) of the rules that hit, for per-rule metrics.
    pub rule_hits: Vec<usize>,
}

/// Everything needed to decide: the live rule pack, the feature set it reads, the
/// models and the thresholds. Immutable; swap a whole new `Scorer` to change any part.
pub struct Scorer {
    rules: Arc<RulePack>,
    features: Arc<FeatureSet>,
    models: Vec<Arc<dyn Model>>,
    config: ScoringConfig,
}

impl Scorer {
    pub fn new(rules: Arc<RulePack>, features: Arc<FeatureSet>, config: ScoringConfig) -> Self {
        Self { rules, features, models: Vec::new(), config }
    }

    /// Adds models whose scores join the rules' (the champion of each kind).
    pub fn with_models(mut self, models: Vec<Arc<dyn Model>>) -> Self {
        self.models = models;
        self
    }

    /// The same scorer with another rule pack (a published pack picked up live); the
    /// features, models and thresholds stay.
    pub fn with_rules(&self, rules: Arc<RulePack>) -> Scorer {
        Scorer {
            rules,
            features: self.features.clone(),
            models: self.models.clone(),
            config: self.config.clone(),
        }
    }

    /// The same scorer with other models (a promoted champion picked up live); the
    /// rules, features and thresholds stay.
    pub fn with_models_replaced(&self, models: Vec<Arc<dyn Model>>) -> Scorer {
        Scorer {
            rules: self.rules.clone(),
            features: self.features.clone(),
            models,
            config: self.config.clone(),
        }
    }

    pub fn rules(&self) -> &Arc<RulePack> {
        &self.rules
    }

    /// The models whose scores join the rules', in scoring order.
    pub fn models(&self) -> &[Arc<dyn Model>] {
        &self.models
    }

    pub fn features(&self) -> &Arc<FeatureSet> {
        &self.features
    }

    pub fn config(&self) -> &ScoringConfig {
        &self.config
    }

    /// Decides on `event` given its feature values (already updated with the event,
    /// in the feature set's order). `decided_at` is the caller's clock; the block, if
    /// any, runs from the event's own time so replays decide identically.
    pub fn score(&self, event: &Event, features: &[FeatureValue], decided_at: Timestamp) -> Scored {
        self.score_with(event, features, decided_at, &Suppressions::default())
    }

    /// [`Scorer::score`] with analysts' suppressions: a rule that hits but is
    /// silenced at `decided_at` for one of the event's entities adds nothing (no
    /// points, no action floor, no block) and shows as a `suppressed` reason.
    pub fn score_with(
        &self,
        event: &Event,
        features: &[FeatureValue],
        decided_at: Timestamp,
        suppressions: &Suppressions,
    ) -> Scored {
        let mut evaluation = self.rules.evaluate(event, features);
        let metas = self.rules.rules();
        let names = self.features.names();

        let mut reasons = Vec::with_capacity(evaluation.hits.len() + self.models.len());
        let mut total = 0.0;
        let mut floor = Action::Allow;
        // The block a rule asks for: widest scope, longest duration among block rules.
        let mut rule_block: Option<(BlockScope, u32)> = None;
        let mut block_rules: Vec<&str> = Vec::new();

        if !suppressions.is_empty() {
            evaluation.hits.retain(|&i| match suppressions.silencing(&metas[i].id, event, decided_at) {
                Some((suppression_id, until)) => {
                    reasons.push(Reason::Suppressed { rule_id: metas[i].id.clone(), suppression_id, until });
                    false
                }
                None => true,
            });
        }
        for &i in &evaluation.hits {
            let rule = &metas[i];
            total += rule.score;
            floor = floor.max(rule.action.floor());
            if rule.action == RuleAction::Block {
                block_rules.push(&rule.id);
                rule_block = Some(match rule_block {
                    None => (rule.scope, rule.block_hours),
                    Some((scope, hours)) => (scope.max(rule.scope), hours.max(rule.block_hours)),
                });
            }
            let used: BTreeMap<String, FeatureValue> = rule
                .features
                .iter()
                .filter_map(|&f| Some((names.get(f)?.clone(), *features.get(f)?)))
                .collect();
            reasons.push(Reason::Rule {
                rule_id: rule.id.clone(),
                name: rule.name.clone(),
                family: rule.family.as_str().to_string(),
                action: rule.action,
                score: rule.score,
                features: used,
            });
        }

        let mut model_versions = Vec::with_capacity(self.models.len());
        for model in &self.models {
            let verdict = model.score(event, features);
            let score = verdict.score.clamp(0.0, 1.0);
            let contribution = model.weight(&self.config) * score;
            total += contribution;
            model_versions.push(format!("{}@{}", model.name(), model.version()));
            reasons.push(Reason::Model {
                model: model.name().to_string(),
                version: model.version().to_string(),
                score,
                contribution,
                top_features: verdict.top_features,
            });
        }

        let score = total.min(MAX_SCORE);
        let by_score = if score >= self.config.block_at {
            Action::Block
        } else if score >= self.config.review_at {
            Action::Review
        } else {
            Action::Allow
        };
        let action = floor.max(by_score);

        // Strongest reasons first; ties keep rule order.
        reasons.sort_by(|a, b| reason_points(b).total_cmp(&reason_points(a)));

        let decision_id = ids::decision_id(&event.event_id);
        let block = (action == Action::Block).then(|| {
            let (scope, hours) =
                rule_block.unwrap_or((BlockScope::Payments, self.config.default_block_hours));
            let reason = if block_rules.is_empty() {
                format!("score {score:.0} >= {}", self.config.block_at)
            } else {
                block_rules.join(", ")
            };
            Block {
                block_id: ids::block_id(&event.event_id),
                subscriber: event.subscriber.clone(),
                scope,
                since: event.occurred_at,
                until: event.occurred_at + chrono::Duration::hours(i64::from(hours)),
                decision_id: decision_id.clone(),
                reason,
            }
        });

        Scored {
            decision: Decision {
                decision_id,
                event_id: event.event_id.clone(),
                subscriber: event.subscriber.clone(),
                event_type: event.event_type(),
                occurred_at: event.occurred_at,
                action,
                score,
                reasons,
                block,
                rules_version: self.rules.version().to_string(),
                model_versions,
                decided_at,
                latency_us: 0,
            },
            rule_errors: evaluation.errors,
            rule_hits: evaluation.hits,
        }
    }
}

fn reason_points(reason: &Reason) -> f64 {
    match reason {
        Reason::Rule { score, .. } => *score,
        Reason::Model { contribution, .. } => *contribution,
        Reason::Suppressed { .. } | Reason::Allowed { .. } => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use fds_rules::RuleSource;
    use serde_json::json;
    use std::path::PathBuf;

    const FEATURES: &str = r#"
utc_offset = "+09:00"
[[feature]]
name = "payments_count_1h"
entity = "subscriber"
agg = "count"
window = "1h"
types = ["payment"]
[[feature]]
name = "payments_sum_24h"
entity = "subscriber"
agg = "sum"
field = "amount"
window = "24h"
types = ["payment"]
"#;

    fn rule(id: &str, action: &str, score: u32, extra: &str, condition: &str) -> RuleSource {
        RuleSource {
            path: PathBuf::from(format!("carrier_billing_abuse/{id}.rhai")),
            text: format!(
                "// id: {id}\n// name: {id}\n// family: carrier_billing_abuse\n// action: {action}\n// score: {score}\n// events: payment\n{extra}// description: test rule\n{condition}\n"
            ),
        }
    }

    fn scorer(rules: Vec<RuleSource>) -> Scorer {
        let features = Arc::new(FeatureSet::from_toml_str(FEATURES).expect("features"));
        let pack = RulePack::from_sources(rules, Default::default(), features.names(), features.utc_offset())
            .expect("pack compiles");
        Scorer::new(Arc::new(pack), features, ScoringConfig::default())
    }

    fn payment(amount: i64) -> Event {
        Event::from_value(
            json!({"event_id": "e-1", "occurred_at": "2026-11-21T12:00:00+09:00", "subscriber": "01012345678",
                   "type": "payment", "amount": amount, "method": "carrier_billing", "merchant_id": "m",
                   "merchant_category": "gift_card"}),
            None,
        )
        .expect("valid")
    }

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 1).single().expect("time")
    }

    /// Values in feature-set order: payments_count_1h, payments_sum_24h.
    fn values(count: i64, sum: i64) -> Vec<FeatureValue> {
        vec![FeatureValue::Int(count), FeatureValue::Int(sum)]
    }

    #[test]
    fn no_hit_allows_with_no_reasons() {
        let s = scorer(vec![rule("big", "review", 45, "", "e.amount > 100000")]);
        let d = s.score(&payment(1000), &values(1, 1000), now()).decision;
        assert_eq!(d.action, Action::Allow);
        assert_eq!(d.score, 0.0);
        assert!(d.reasons.is_empty() && d.block.is_none());
        assert_eq!(d.decision_id, ids::decision_id("e-1"));
        assert_eq!(d.rules_version, s.rules().version());
    }

    #[test]
    fn tags_add_up_to_review_and_block_thresholds() {
        let s = scorer(vec![
            rule("a", "tag", 20, "", "true"),
            rule("b", "tag", 25, "", "f.payments_count_1h >= 3"),
            rule("c", "tag", 40, "", "f.payments_sum_24h > 500000"),
        ]);
        assert_eq!(s.score(&payment(1), &values(1, 1), now()).decision.action, Action::Allow);
        let review = s.score(&payment(1), &values(3, 1), now()).decision;
        assert_eq!((review.action, review.score), (Action::Review, 45.0));
        let block = s.score(&payment(1), &values(3, 600_000), now()).decision;
        assert_eq!((block.action, block.score), (Action::Block, 85.0));
        let b = block.block.expect("a score-driven block");
        assert_eq!(b.scope, BlockScope::Payments);
        assert_eq!(b.until - b.since, chrono::Duration::hours(72));
        assert!(b.reason.starts_with("score 85"));
    }

    #[test]
    fn a_rule_action_is_a_floor_whatever_the_score() {
        let s = scorer(vec![rule(
            "hard",
            "block",
            10,
            "// scope: all\n// block_hours: 24\n",
            "e.amount >= 50000",
        )]);
        let d = s.score(&payment(50_000), &values(1, 50_000), now()).decision;
        assert_eq!(d.action, Action::Block);
        assert_eq!(d.score, 10.0);
        let b = d.block.expect("block");
        assert_eq!((b.scope, b.reason.as_str()), (BlockScope::All, "hard"));
        assert_eq!(b.since, payment(1).occurred_at);
        assert_eq!(b.until - b.since, chrono::Duration::hours(24));
        assert_eq!(b.decision_id, d.decision_id);
    }

    #[test]
    fn a_suppressed_rule_adds_nothing_and_shows_as_suppressed_only_while_in_force() {
        let s = scorer(vec![
            rule("hard", "block", 80, "// scope: all\n// block_hours: 24\n", "e.amount >= 50000"),
            rule("soft", "review", 45, "", "e.amount >= 50000"),
        ]);
        let event = payment(50_000);
        let subscriber = event.subscriber.expose().to_string();
        let mut silenced = Suppressions::default();
        let until = now() + chrono::Duration::hours(1);
        silenced.insert(7, "hard", fds_core::EntityKind::Subscriber, &subscriber, now(), until);
        silenced.insert(8, "soft", fds_core::EntityKind::Subscriber, "01000000000", now(), until);

        let scored = s.score_with(&event, &values(1, 50_000), now(), &silenced);
        let d = scored.decision;
        assert_eq!((d.action, d.score, d.block.is_none()), (Action::Review, 45.0, true));
        let silenced_reason = Reason::Suppressed { rule_id: "hard".into(), suppression_id: 7, until };
        assert_eq!(d.reasons.last(), Some(&silenced_reason), "shown after the reasons that scored");
        assert_eq!(scored.rule_hits.len(), 1, "the suppressed hit is not counted as a hit");

        let later = s.score_with(&event, &values(1, 50_000), until, &silenced).decision;
        assert_eq!(later.action, Action::Block, "an expired suppression silences nothing");
        let unsuppressed = s.score(&event, &values(1, 50_000), now()).decision;
        assert_eq!((unsuppressed.action, unsuppressed.score), (Action::Block, 100.0));
    }

    #[test]
    fn reasons_carry_the_features_each_rule_read_strongest_first() {
        let s = scorer(vec![
            rule("weak", "tag", 5, "", "f.payments_count_1h >= 1"),
            rule("strong", "review", 45, "", "f.payments_sum_24h > 10 && e.amount > 0"),
        ]);
        let d = s.score(&payment(100), &values(2, 300), now()).decision;
        let ids: Vec<&str> = d
            .reasons
            .iter()
            .map(|r| match r {
                Reason::Rule { rule_id, .. } => rule_id.as_str(),
                Reason::Model { model, .. } => model.as_str(),
                Reason::Suppressed { rule_id, .. } => rule_id.as_str(),
                Reason::Allowed { .. } => "allowed",
            })
            .collect();
        assert_eq!(ids, ["strong", "weak"]);
        let Reason::Rule { features, family, .. } = &d.reasons[0] else { panic!("a rule reason") };
        assert_eq!(family, "carrier_billing_abuse");
        assert_eq!(features.get("payments_sum_24h"), Some(&FeatureValue::Int(300)));
        assert!(!features.contains_key("payments_count_1h"));
    }

    #[test]
    fn scores_are_capped_at_one_hundred() {
        let s = scorer(vec![rule("x", "tag", 70, "", "true"), rule("y", "tag", 70, "", "true")]);
        assert_eq!(s.score(&payment(1), &values(1, 1), now()).decision.score, 100.0);
    }

    #[test]
    fn a_failing_rule_is_reported_and_the_others_still_decide() {
        let s = scorer(vec![
            rule("loops", "block", 90, "", "let x = 0; loop { x += 1; } x > 0"),
            rule("fine", "review", 45, "", "e.amount > 10"),
        ]);
        let scored = s.score(&payment(100), &values(1, 100), now());
        assert_eq!(scored.decision.action, Action::Review);
        assert_eq!(scored.rule_errors.len(), 1);
        assert_eq!(scored.rule_errors[0].rule_id, "loops");
    }

    struct Fixed(f64);

    impl Model for Fixed {
        fn name(&self) -> &str {
            "anomaly"
        }
        fn version(&self) -> &str {
            "v1"
        }
        fn score(&self, _: &Event, features: &[FeatureValue]) -> ModelScore {
            ModelScore {
                score: self.0,
                top_features: vec![("payments_count_1h".into(), features[0].as_f64())],
            }
        }
    }

    #[test]
    fn model_scores_add_weighted_points_and_their_reasons() {
        let s = scorer(vec![rule("r", "tag", 30, "", "true")]).with_models(vec![Arc::new(Fixed(0.5))]);
        let d = s.score(&payment(1), &values(4, 1), now()).decision;
        assert_eq!(d.score, 50.0);
        assert_eq!(d.action, Action::Review);
        assert_eq!(d.model_versions, ["anomaly@v1"]);
        let Reason::Model { contribution, top_features, .. } = &d.reasons[1] else {
            panic!("model reason second")
        };
        assert_eq!(*contribution, 20.0);
        assert_eq!(top_features[0], ("payments_count_1h".to_string(), 4.0));
    }

    #[test]
    fn threshold_configuration_problems_are_all_reported() {
        let bad = ScoringConfig {
            review_at: 120.0,
            block_at: 90.0,
            model_weight: -1.0,
            supervised_weight: 101.0,
            default_block_hours: 0,
        };
        assert_eq!(bad.problems().len(), 5);
        assert!(ScoringConfig::default().problems().is_empty());
    }
}
