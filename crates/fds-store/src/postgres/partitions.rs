//! The monthly partitions of `events` and `decisions` (UTC months of
//! `occurred_at`), created ahead of the rows that need them.
//!
//! The SQL function `fds_create_month_partitions` (see the migration) creates
//! them; this side decides which months to ask for and remembers which it has
//! already ensured, so a batch into known months costs no extra round trip.

use crate::StoreError;
use chrono::{Datelike, TimeZone};
use fds_core::Timestamp;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

/// Months created after the newest month a batch needs (and after the current
/// month at open): the partitions of the coming months exist well before their
/// first event, so a new month never starts with DDL on the write path.
pub(super) const MONTHS_AHEAD: u32 = 3;

/// A calendar month in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Month {
    year: i32,
    /// 1 to 12.
    month: u32,
}

impl Month {
    pub(super) fn of(at: Timestamp) -> Month {
        Month { year: at.year(), month: at.month() }
    }

    /// The month of the partition named `name` (`<parent>_YYYY_MM`), if it is one
    /// of `parent`.
    pub(super) fn of_partition(parent: &str, name: &str) -> Option<Month> {
        let rest = name.strip_prefix(parent)?.strip_prefix('_')?;
        let (year, month) = rest.split_once('_')?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let month = Month { year: year.parse().ok()?, month: month.parse().ok()? };
        (1..=12).contains(&month.month).then_some(month)
    }

    /// `YYYY-MM`.
    pub(super) fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub(super) fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    /// Midnight UTC on the first day of the month.
    pub(super) fn start(self) -> Result<Timestamp, StoreError> {
        chrono::Utc.with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0).single().ok_or_else(|| {
            StoreError::Encode {
                what: "occurred_at",
                reason: "its month is out of the supported range".into(),
            }
        })
    }
}

/// The months `instants` fall in, and the [`MONTHS_AHEAD`] months after the latest.
pub(super) fn months_for(instants: impl IntoIterator<Item = Timestamp>) -> BTreeSet<Month> {
    let mut months: BTreeSet<Month> = instants.into_iter().map(Month::of).collect();
    if let Some(&newest) = months.last() {
        let mut month = newest;
        for _ in 0..MONTHS_AHEAD {
            month = month.next();
            months.insert(month);
        }
    }
    months
}

/// The months whose partitions this store has ensured.
#[derive(Debug, Default)]
pub(super) struct Partitions {
    ensured: Mutex<BTreeSet<Month>>,
}

impl Partitions {
    /// Makes sure the partitions of `months` exist, creating the missing ones in a
    /// transaction of their own (before the caller's inserts).
    pub(super) async fn ensure(&self, pool: &PgPool, months: BTreeSet<Month>) -> Result<(), StoreError> {
        let missing: Vec<Month> = {
            let ensured = self.ensured.lock().unwrap_or_else(PoisonError::into_inner);
            months.difference(&ensured).copied().collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let starts = missing.iter().map(|m| m.start()).collect::<Result<Vec<_>, _>>()?;
        sqlx::query("SELECT fds_create_month_partitions($1)").bind(starts).execute(pool).await?;
        self.ensured.lock().unwrap_or_else(PoisonError::into_inner).extend(missing);
        Ok(())
    }

    /// Forgets what was ensured: partitions may have been dropped since (by
    /// retention, or by hand), and the next [`Partitions::ensure`] asks again.
    pub(super) fn forget(&self) {
        self.ensured.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// Whether `error` is Postgres refusing a row no partition accepts.
pub(super) fn is_missing_partition(error: &sqlx::Error) -> bool {
    // `check_violation` without a constraint name: the partition routing error.
    // (A failed CHECK constraint names its constraint; the message text is
    // localised, so it is not compared.)
    error
        .as_database_error()
        .is_some_and(|e| e.code().as_deref() == Some("23514") && e.constraint().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i32, month: u32, day: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(year, month, day, 23, 59, 59).unwrap()
    }

    fn month(year: i32, month: u32) -> Month {
        Month { year, month }
    }

    #[test]
    fn a_batch_needs_its_own_months_and_the_next_few_after_the_newest() {
        let months = months_for([at(2026, 11, 30), at(2019, 3, 1), at(2026, 10, 15), at(2026, 11, 2)]);

        assert_eq!(
            months.into_iter().collect::<Vec<_>>(),
            [
                month(2019, 3),
                month(2026, 10),
                month(2026, 11),
                month(2026, 12),
                month(2027, 1),
                month(2027, 2)
            ]
        );
    }

    #[test]
    fn a_partition_name_gives_its_month_and_other_names_give_none() {
        assert_eq!(Month::of_partition("decisions", "decisions_2025_03"), Some(month(2025, 3)));
        assert_eq!(month(2025, 3).label(), "2025-03");
        for name in
            ["events_2025_03", "decisions_2025_13", "decisions_25_03", "decisions_2025_3x", "decisions"]
        {
            assert_eq!(Month::of_partition("decisions", name), None, "{name}");
        }
    }

    #[test]
    fn an_empty_batch_needs_no_month() {
        assert!(months_for([]).is_empty());
    }

    #[test]
    fn a_month_starts_at_midnight_utc_on_its_first_day() {
        assert_eq!(
            month(2026, 12).start().unwrap(),
            chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(month(2026, 12).next(), month(2027, 1));
    }
}
