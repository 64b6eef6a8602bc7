//! Dashboard aggregates, shared by both backends: the [`Dashboard`] a store
//! returns, the [`Bucket`] sizes it groups by, and the hourly rollup rows a save
//! adds to the rollup tables (migration 0004) in its own transaction.
//!
//! Dashboards read the rollups, never the decisions: a year of decisions is tens
//! of millions of rows, its rollup a few hundred thousand. A rollup row counts the
//! decisions of one UTC hour by event type and action (`decision_rollup`), and by
//! fraud family and action (`decision_family_rollup`: a decision counts once in
//! every family named by one of its rule reasons), with the payment amounts
//! involved. Only decisions a save actually stores are counted, so redeliveries
//! count once.
//!
//! Retention keeps the rollups to the decisions it keeps: the run that removes
//! decisions before the cut-off removes the rollup hours before it in the same
//! transaction. Decisions kept past the cut-off by a legal hold stay readable
//! (by event id and by subscriber) but leave the dashboard with their hour: the
//! dashboard describes traffic within the retention window. The amounts stay with
//! the rollup when the (shorter-lived) events are removed.

use crate::store::{ActionCounts, Record};
use crate::StoreError;
use chrono::{DurationRound, TimeDelta};
use fds_core::{Action, EventBody, Reason, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// The size of the buckets of [`Dashboard::series`], in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    /// The `date_trunc` unit of the bucket.
    pub(crate) fn unit(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    /// Seconds in one bucket.
    pub(crate) fn seconds(self) -> i64 {
        match self {
            Bucket::Hour => 3_600,
            Bucket::Day => 86_400,
        }
    }
}

/// Decisions and the payment amounts involved, per action.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub decisions: ActionCounts,
    /// The sum of the payment amounts (KRW) of the decided events; events of other
    /// types add nothing.
    pub amount: ActionCounts,
}

impl Tally {
    /// All decisions, whatever their action.
    pub fn total(&self) -> u64 {
        self.decisions.allow + self.decisions.review + self.decisions.block
    }

    /// The share of decisions that blocked, 0 when there is none.
    pub fn block_rate(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            total => self.decisions.block as f64 / total as f64,
        }
    }

    pub(crate) fn add(&mut self, action: Action, decisions: u64, amount: u64) {
        self.decisions.add(action, decisions);
        self.amount.add(action, amount);
    }
}

/// What a dashboard shows for a window: decisions by action, by event type, by
/// fraud family and per time bucket, with the payment amounts involved.
///
/// The window covers whole UTC hours: the decisions whose event occurred in an
/// hour that starts at or after `from` (rounded down to the hour) and before
/// `to`. Buckets are UTC hours or days; the first and last may be partly outside
/// the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub from: Timestamp,
    pub to: Timestamp,
    pub bucket: Bucket,
    pub total: Tally,
    /// By event type (`payment`, `call`, …).
    pub by_event_type: BTreeMap<String, Tally>,
    /// By the fraud family of the rules that hit; a decision hit by rules of two
    /// families counts in both, one without rule hits in none.
    pub by_family: BTreeMap<String, Tally>,
    /// Per bucket, oldest first, each keyed by its start; buckets without
    /// decisions are left out.
    pub series: Vec<(Timestamp, Tally)>,
}

/// One row a backend reads from the rollups: a key (bucket start, event type or
/// family), the action, the decisions and the amount.
pub(crate) type Row<K> = (K, String, i64, i64);

impl Dashboard {
    /// Assembles a dashboard from rollup rows summed per bucket (`series`), per
    /// event type and per family.
    pub(crate) fn from_rows(
        from: Timestamp,
        to: Timestamp,
        bucket: Bucket,
        series: Vec<Row<Timestamp>>,
        by_event_type: Vec<Row<String>>,
        by_family: Vec<Row<String>>,
    ) -> Result<Dashboard, StoreError> {
        let mut dashboard = Dashboard {
            from,
            to,
            bucket,
            total: Tally::default(),
            by_event_type: BTreeMap::new(),
            by_family: BTreeMap::new(),
            series: Vec::new(),
        };
        let mut buckets: BTreeMap<Timestamp, Tally> = BTreeMap::new();
        for (start, action, decisions, amount) in series {
            let (action, decisions, amount) = decode(&action, decisions, amount)?;
            buckets.entry(start).or_default().add(action, decisions, amount);
            dashboard.total.add(action, decisions, amount);
        }
        dashboard.series = buckets.into_iter().collect();
        for (event_type, action, decisions, amount) in by_event_type {
            let (action, decisions, amount) = decode(&action, decisions, amount)?;
            dashboard.by_event_type.entry(event_type).or_default().add(action, decisions, amount);
        }
        for (family, action, decisions, amount) in by_family {
            let (action, decisions, amount) = decode(&action, decisions, amount)?;
            dashboard.by_family.entry(family).or_default().add(action, decisions, amount);
        }
        Ok(dashboard)
    }
}

/// Rule hits over a window: per rule id, the decisions it hit (by the action each
/// decision took) and their payment amounts. A rule that did not hit is absent.
pub type RuleHits = BTreeMap<String, Tally>;

/// Folds rollup rows keyed by rule id into [`RuleHits`].
pub(crate) fn rule_hits(rows: Vec<Row<String>>) -> Result<RuleHits, StoreError> {
    let mut hits = RuleHits::new();
    for (rule_id, action, decisions, amount) in rows {
        let (action, decisions, amount) = decode(&action, decisions, amount)?;
        hits.entry(rule_id).or_default().add(action, decisions, amount);
    }
    Ok(hits)
}

fn decode(action: &str, decisions: i64, amount: i64) -> Result<(Action, u64, u64), StoreError> {
    let action =
        Action::parse(action).ok_or_else(|| StoreError::corrupt("decision_rollup", "unknown action"))?;
    Ok((
        action,
        crate::codec::count(decisions, "decision_rollup")?,
        crate::codec::count(amount, "decision_rollup")?,
    ))
}

/// The start of the UTC hour `at` falls in.
pub(crate) fn hour_of(at: Timestamp) -> Timestamp {
    // Truncating to a whole hour cannot overflow a timestamp that exists.
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

/// The start of the UTC day `at` falls in.
pub(crate) fn day_of(at: Timestamp) -> Timestamp {
    at.duration_trunc(TimeDelta::days(1)).unwrap_or(at)
}

/// The rollup rows of one saved batch, keyed and sorted (a save takes the rollup
/// rows' locks in key order, so two concurrent saves queue instead of deadlocking).
#[derive(Default, Debug, PartialEq)]
pub(crate) struct Rollup {
    /// `(hour, event type, action)` → `(decisions, amount)`.
    pub(crate) by_event_type: BTreeMap<(Timestamp, &'static str, &'static str), (i64, i64)>,
    /// `(hour, family, action)` → `(decisions, amount)`.
    pub(crate) by_family: BTreeMap<(Timestamp, String, &'static str), (i64, i64)>,
    /// `(hour, rule id, action)` → `(decisions, amount)`: a decision counts once
    /// for every rule that hit.
    pub(crate) by_rule: BTreeMap<(Timestamp, String, &'static str), (i64, i64)>,
}

impl Rollup {
    /// The rollup of `records`: the records a save stored (not its duplicates).
    pub(crate) fn of<'r>(records: impl IntoIterator<Item = &'r Record>) -> Rollup {
        let mut rollup = Rollup::default();
        for record in records {
            let hour = hour_of(record.event.occurred_at);
            let action = record.decision.action.as_str();
            let amount = match &record.event.body {
                EventBody::Payment(payment) => payment.amount,
                _ => 0,
            };
            let add = |slot: &mut (i64, i64)| {
                slot.0 += 1;
                slot.1 = slot.1.saturating_add(amount);
            };
            add(rollup.by_event_type.entry((hour, record.event.event_type().as_str(), action)).or_default());
            let rules: BTreeSet<(&str, &str)> = record
                .decision
                .reasons
                .iter()
                .filter_map(|reason| match reason {
                    Reason::Rule { rule_id, family, .. } => Some((rule_id.as_str(), family.as_str())),
                    Reason::Model { .. } | Reason::Suppressed { .. } | Reason::Allowed { .. } => None,
                })
                .collect();
            let families: BTreeSet<&str> = rules.iter().map(|(_, family)| *family).collect();
            for family in families {
                add(rollup.by_family.entry((hour, family.to_string(), action)).or_default());
            }
            for (rule_id, _) in rules {
                add(rollup.by_rule.entry((hour, rule_id.to_string(), action)).or_default());
            }
        }
        rollup
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{minutes, record, t0};

    #[test]
    fn a_batch_rolls_up_per_hour_type_and_action_and_each_family_and_rule_once_per_decision() {
        let mut twice = record("e-2", "01012345678", 5, Action::Block);
        let reason = twice.decision.reasons[0].clone();
        twice.decision.reasons.push(reason);
        let mut none = record("e-3", "01012345678", 61, Action::Allow);
        none.decision.reasons.clear();
        let records = [record("e-1", "01099998888", 0, Action::Block), twice, none];

        let rollup = Rollup::of(&records);

        let hour = t0();
        let next = t0() + minutes(60);
        assert_eq!(
            rollup.by_event_type.into_iter().collect::<Vec<_>>(),
            [((hour, "payment", "block"), (2, 98_000)), ((next, "payment", "allow"), (1, 49_000))]
        );
        assert_eq!(
            rollup.by_family.into_iter().collect::<Vec<_>>(),
            [((hour, "carrier_billing".to_string(), "block"), (2, 98_000))]
        );
        assert_eq!(
            rollup.by_rule.into_iter().collect::<Vec<_>>(),
            [((hour, "CB-001".to_string(), "block"), (2, 98_000))],
            "a rule named twice by one decision counts once"
        );
    }

    #[test]
    fn an_instant_falls_in_the_utc_hour_that_contains_it() {
        let at = t0() + minutes(59) + chrono::Duration::microseconds(999_999);
        assert_eq!(hour_of(at), t0());
        assert_eq!(hour_of(t0()), t0());
    }

    #[test]
    fn the_block_rate_is_blocks_over_all_decisions() {
        let mut tally = Tally::default();
        assert_eq!(tally.block_rate(), 0.0);
        tally.add(Action::Allow, 3, 0);
        tally.add(Action::Block, 1, 5);
        assert_eq!((tally.total(), tally.block_rate()), (4, 0.25));
    }
}
