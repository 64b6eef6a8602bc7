//! What the scorer decides about an event, and why.

use crate::event::EventType;
use crate::features::FeatureValue;
use crate::pii::Pii;
use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The decision's verdict. Ordered: `Allow < Review < Block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Review,
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Review => "review",
            Action::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "allow" => Some(Action::Allow),
            "review" => Some(Action::Review),
            "block" => Some(Action::Block),
            _ => None,
        }
    }
}

/// What a rule asks for when it hits. `Tag` only adds its score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    Tag,
    Review,
    Block,
}

impl RuleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Tag => "tag",
            RuleAction::Review => "review",
            RuleAction::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<RuleAction> {
        match s {
            "tag" => Some(RuleAction::Tag),
            "review" => Some(RuleAction::Review),
            "block" => Some(RuleAction::Block),
            _ => None,
        }
    }

    /// The least verdict this rule's hit forces.
    pub fn floor(self) -> Action {
        match self {
            RuleAction::Tag => Action::Allow,
            RuleAction::Review => Action::Review,
            RuleAction::Block => Action::Block,
        }
    }
}

/// What a block stops: payments only, or every service of the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockScope {
    Payments,
    All,
}

impl BlockScope {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockScope::Payments => "payments",
            BlockScope::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<BlockScope> {
        match s {
            "payments" => Some(BlockScope::Payments),
            "all" => Some(BlockScope::All),
            _ => None,
        }
    }
}

/// One reason behind a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// A rule that hit, with the feature values its condition reads.
    Rule {
        rule_id: String,
        name: String,
        family: String,
        action: RuleAction,
        score: f64,
        features: BTreeMap<String, FeatureValue>,
    },
    /// A model's score and the features that drove it most.
    Model {
        model: String,
        version: String,
        /// The model's own score, 0..1.
        score: f64,
        /// Points it added to the decision score.
        contribution: f64,
        top_features: Vec<(String, f64)>,
    },
    /// A rule that hit but was silenced for this event's subscriber or one of its
    /// entities by an analyst's suppression: it added nothing to the decision.
    Suppressed { rule_id: String, suppression_id: i64, until: Timestamp },
    /// The subscriber holds a time-limited allow entry (granted with the release of
    /// an earlier block): a decision that would block is lowered to review and makes
    /// no block.
    Allowed { allow_id: i64, until: Timestamp },
}

/// An active (or expired) block on a subscriber.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub block_id: String,
    pub subscriber: Pii,
    pub scope: BlockScope,
    pub since: Timestamp,
    pub until: Timestamp,
    pub decision_id: String,
    /// The rule ids (or "score") that caused it.
    pub reason: String,
}

impl Block {
    pub fn is_active(&self, at: Timestamp) -> bool {
        self.since <= at && at < self.until
    }

    /// Whether releasing this block needs a second person's approval: a block of
    /// the whole line (`scope = all`: calls, data and payments cut off — what the
    /// rules decide for voice phishing, SIM-swap takeover and identity theft) is high
    /// severity; a payments-only block is not.
    pub fn is_high_severity(&self) -> bool {
        self.scope == BlockScope::All
    }

    /// Whether a payment must be refused under this block.
    pub fn refuses_payments(&self, at: Timestamp) -> bool {
        self.is_active(at)
    }
}

/// The decision for one event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub decision_id: String,
    pub event_id: String,
    pub subscriber: Pii,
    pub event_type: EventType,
    pub occurred_at: Timestamp,
    pub action: Action,
    /// 0..100: rule scores and model contributions, capped.
    pub score: f64,
    pub reasons: Vec<Reason>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub block: Option<Block>,
    pub rules_version: String,
    #[serde(default)]
    pub model_versions: Vec<String>,
    pub decided_at: Timestamp,
    /// Time spent deciding, from receipt to decision, in microseconds.
    pub latency_us: u64,
}

/// A confirmed outcome from an analyst or a downstream system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fraud,
    Legit,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fraud => "fraud",
            Outcome::Legit => "legit",
        }
    }
}

/// A label: the confirmed outcome for an event or for a subscriber.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub label_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subscriber: Option<Pii>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Who said so (API key name or user).
    pub labelled_by: String,
    pub labelled_at: Timestamp,
}
