//! How timestamps are stored: integer microseconds since the Unix epoch, UTC.
//!
//! Integers sort and compare as numbers, so ordering and range queries (active
//! blocks, newest decisions) use plain indexes. Microseconds match the precision of
//! Postgres `timestamptz`, so both backends store the same values; anything finer
//! is truncated on the way in.

use crate::StoreError;
use fds_core::Timestamp;

/// The stored form of `ts`.
pub(crate) fn to_micros(ts: Timestamp) -> i64 {
    ts.timestamp_micros()
}

/// The timestamp stored as `micros` in `table`.
pub(crate) fn from_micros(micros: i64, table: &'static str) -> Result<Timestamp, StoreError> {
    Timestamp::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::corrupt(table, format!("timestamp {micros} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_timestamp_survives_the_round_trip_to_the_microsecond() {
        let ts = chrono::Utc.with_ymd_and_hms(2026, 11, 21, 11, 59, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let back = from_micros(to_micros(ts), "events").unwrap();
        assert_eq!(
            back,
            chrono::Utc.with_ymd_and_hms(2026, 11, 21, 11, 59, 0).unwrap()
                + chrono::Duration::microseconds(123_456)
        );
    }

    #[test]
    fn stored_order_is_time_order() {
        let early = chrono::Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap();
        let late = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(to_micros(early) < to_micros(late));
    }
}
