//! One-year retention and legal holds: the policy, the report of a run, the
//! holds, and the cut-offs both backends compute the same way.
//!
//! A retention run ([`Store::retention`](crate::Store::retention)) removes
//! decisions older than the start of the month `decisions_months` months before
//! the current one (so the current month and the `decisions_months` full months
//! before it are kept), and events (the data mart) older than `events_days` days.
//! Rows of a subscriber under an active [`LegalHold`] are never removed. Postgres
//! drops whole month partitions, after copying their held rows to `held_decisions`
//! / `held_events`; SQLite deletes rows in place. A run that is not a dry run
//! appends one `retention.run` audit record with its report.

use crate::StoreError;
use chrono::{Datelike, TimeZone};
use fds_core::{Pii, Timestamp};
use serde::Serialize;

/// The table name a report uses for decisions (held ones included).
pub const DECISIONS: &str = "decisions";
/// The table name a report uses for events, the data mart (held ones included).
pub const EVENTS: &str = "events";

/// The actor of the `retention.run` audit record.
pub const RETENTION_ACTOR: &str = "retention";

/// How long decisions and events are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    /// Full months of decisions kept besides the current one.
    pub decisions_months: u32,
    /// Days of events (the data mart) kept.
    pub events_days: u32,
}

impl Default for RetentionPolicy {
    /// Twelve full months of decisions plus the current one; 90 days of events.
    fn default() -> Self {
        RetentionPolicy { decisions_months: 12, events_days: 90 }
    }
}

impl RetentionPolicy {
    /// Decisions that occurred before this instant are removed: midnight UTC on
    /// the first day of the month `decisions_months` months before `now`'s month.
    pub fn decisions_cutoff(&self, now: Timestamp) -> Result<Timestamp, StoreError> {
        let months_since_epoch = i64::from(now.year()) * 12 + i64::from(now.month0());
        let cutoff = months_since_epoch - i64::from(self.decisions_months);
        let year = i32::try_from(cutoff.div_euclid(12)).map_err(|_| out_of_range("decisions_months"))?;
        let month0 = u32::try_from(cutoff.rem_euclid(12)).map_err(|_| out_of_range("decisions_months"))?;
        chrono::Utc
            .with_ymd_and_hms(year, month0 + 1, 1, 0, 0, 0)
            .single()
            .ok_or_else(|| out_of_range("decisions_months"))
    }

    /// Events that occurred before this instant are removed: `events_days` days
    /// before `now`.
    pub fn events_cutoff(&self, now: Timestamp) -> Result<Timestamp, StoreError> {
        now.checked_sub_signed(chrono::Duration::days(i64::from(self.events_days)))
            .ok_or_else(|| out_of_range("events_days"))
    }
}

fn out_of_range(what: &'static str) -> StoreError {
    StoreError::Encode { what, reason: "the cut-off it gives is out of the supported range".into() }
}

/// The rows of one table and month a retention run removed (or, in a dry run,
/// would remove), and those it kept because of a legal hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemovedRows {
    /// [`DECISIONS`] or [`EVENTS`].
    pub table: String,
    /// The UTC month of `occurred_at`, `YYYY-MM`.
    pub month: String,
    /// Rows removed (past the cut-off and not held).
    pub rows: u64,
    /// Rows past the cut-off kept because their subscriber is on hold.
    pub held: u64,
}

/// What a retention run removed, or in a dry run would remove.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub dry_run: bool,
    pub policy: RetentionPolicy,
    /// Decisions that occurred before this were due for removal.
    pub decisions_cutoff: Timestamp,
    /// Events that occurred before this were due for removal.
    pub events_cutoff: Timestamp,
    /// One entry per table and month with rows removed or held, ordered by table
    /// then month.
    pub removed: Vec<RemovedRows>,
    /// Whole partitions dropped (Postgres only; always empty on SQLite), ordered.
    pub partitions_dropped: Vec<String>,
}

impl RetentionReport {
    /// Rows removed from `table` ([`DECISIONS`] or [`EVENTS`]) over all months.
    pub fn rows_removed(&self, table: &str) -> u64 {
        self.removed.iter().filter(|r| r.table == table).map(|r| r.rows).sum()
    }

    /// Rows of `table` past the cut-off kept because of a hold, over all months.
    pub fn rows_held(&self, table: &str) -> u64 {
        self.removed.iter().filter(|r| r.table == table).map(|r| r.held).sum()
    }

    /// Adds `rows` removed and `held` kept to the entry of `table` and `month`.
    pub(crate) fn add(&mut self, table: &str, month: &str, rows: u64, held: u64) {
        if rows == 0 && held == 0 {
            return;
        }
        match self.removed.iter_mut().find(|r| r.table == table && r.month == month) {
            Some(entry) => {
                entry.rows += rows;
                entry.held += held;
            }
            None => self.removed.push(RemovedRows { table: table.into(), month: month.into(), rows, held }),
        }
    }

    /// An empty report for a run of `policy` at `now`.
    pub(crate) fn new(policy: RetentionPolicy, now: Timestamp, dry_run: bool) -> Result<Self, StoreError> {
        Ok(RetentionReport {
            dry_run,
            policy,
            decisions_cutoff: policy.decisions_cutoff(now)?,
            events_cutoff: policy.events_cutoff(now)?,
            removed: Vec::new(),
            partitions_dropped: Vec::new(),
        })
    }

    /// Puts the entries in their documented order.
    pub(crate) fn sorted(mut self) -> Self {
        self.removed.sort_by(|a, b| (&a.table, &a.month).cmp(&(&b.table, &b.month)));
        self.partitions_dropped.sort();
        self
    }

    /// The `retention.run` audit entry of this (real) run at `at`.
    pub(crate) fn audit_entry(&self, at: Timestamp) -> crate::AuditEntry {
        crate::AuditEntry {
            actor: RETENTION_ACTOR.into(),
            action: crate::audit::actions::RETENTION_RUN.into(),
            target: format!("retention:{}", at.format("%Y-%m-%dT%H:%M:%SZ")),
            before: None,
            after: serde_json::to_value(self).ok(),
            at,
        }
    }
}

/// A legal hold: while it is not lifted, retention removes none of the
/// subscriber's decisions and events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LegalHold {
    /// Assigned by the store: 1, 2, …
    pub hold_id: i64,
    pub subscriber: Pii,
    /// The case the hold is for, if any.
    pub case_id: Option<String>,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: Timestamp,
}

impl LegalHold {
    /// The audit target of this hold.
    pub(crate) fn target(&self) -> String {
        format!("hold:{}", self.hold_id)
    }

    /// The `hold.place` audit entry.
    pub(crate) fn placed_entry(&self) -> crate::AuditEntry {
        crate::AuditEntry {
            actor: self.placed_by.clone(),
            action: crate::audit::actions::HOLD_PLACE.into(),
            target: self.target(),
            before: None,
            after: serde_json::to_value(self).ok(),
            at: self.placed_at,
        }
    }

    /// The `hold.lift` audit entry, by `actor` for `reason` at `at`.
    pub(crate) fn lifted_entry(&self, actor: &str, reason: &str, at: Timestamp) -> crate::AuditEntry {
        crate::AuditEntry {
            actor: actor.into(),
            action: crate::audit::actions::HOLD_LIFT.into(),
            target: self.target(),
            before: serde_json::to_value(self).ok(),
            after: Some(serde_json::json!({ "lifted_by": actor, "reason": reason })),
            at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i32, month: u32, day: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(year, month, day, 12, 30, 0).unwrap()
    }

    #[test]
    fn the_decisions_cutoff_keeps_the_current_month_and_twelve_before_it() {
        let cutoff = RetentionPolicy::default().decisions_cutoff(at(2026, 11, 22)).unwrap();
        assert_eq!(cutoff, chrono::Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn the_decisions_cutoff_crosses_years_both_ways() {
        let policy = RetentionPolicy { decisions_months: 1, events_days: 90 };
        assert_eq!(
            policy.decisions_cutoff(at(2026, 1, 5)).unwrap(),
            chrono::Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap()
        );
        let none = RetentionPolicy { decisions_months: 0, events_days: 90 };
        assert_eq!(
            none.decisions_cutoff(at(2026, 12, 31)).unwrap(),
            chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn the_events_cutoff_is_the_given_days_before_now() {
        let cutoff = RetentionPolicy::default().events_cutoff(at(2026, 11, 22)).unwrap();
        assert_eq!(cutoff, at(2026, 8, 24));
    }

    #[test]
    fn a_report_merges_entries_of_one_table_and_month_and_skips_empty_ones() {
        let mut report = RetentionReport::new(RetentionPolicy::default(), at(2026, 11, 22), false).unwrap();
        report.add(EVENTS, "2025-01", 2, 0);
        report.add(DECISIONS, "2025-01", 3, 1);
        report.add(DECISIONS, "2025-01", 1, 0);
        report.add(DECISIONS, "2025-02", 0, 0);
        let report = report.sorted();

        assert_eq!(
            report.removed,
            [
                RemovedRows { table: DECISIONS.into(), month: "2025-01".into(), rows: 4, held: 1 },
                RemovedRows { table: EVENTS.into(), month: "2025-01".into(), rows: 2, held: 0 },
            ]
        );
        assert_eq!((report.rows_removed(DECISIONS), report.rows_held(DECISIONS)), (4, 1));
    }
}
