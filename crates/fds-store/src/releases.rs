//! Two-person releases and allow entries: the values both backends trade in, and
//! the checks and audit records they share (SQLite 0009, Postgres 0011).
//!
//! Which block needs a second person is the caller's rule (`Block::is_high_severity`
//! in `fds-core`, applied by the pipeline); the store keeps the requests straight:
//! one pending request per block, decided once, never by the person who asked
//! (also a CHECK in the table). Approving releases the block in the same
//! transaction. A release — direct or approved — may grant the subscriber a
//! time-limited allow entry (`allow_entries`, pointing at the released block, whose
//! row holds the sealed subscriber and its blind index): while it lasts the
//! pipeline lowers a decision that would block the subscriber to review. Every step
//! appends its audit record in the same transaction.

use crate::audit::AuditEntry;
use crate::console::BlockRecord;
use crate::StoreError;
use fds_core::{Pii, Timestamp};
use serde_json::json;

/// The audit actions of two-person releases and allow entries.
pub mod actions {
    /// A release of a high-severity block was asked for (pending a second person).
    pub const RELEASE_REQUEST: &str = "block.release_request";
    /// A second person approved a pending release (the block is released with it).
    pub const RELEASE_APPROVE: &str = "block.release_approve";
    /// A second person rejected a pending release (the block stays).
    pub const RELEASE_REJECT: &str = "block.release_reject";
    /// A released block's subscriber was allowed for a while.
    pub const ALLOW: &str = "block.allow";
}

/// The longest allow entry a release may grant, in days.
pub const MAX_ALLOW_DAYS: u32 = 90;

/// Where a release request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    Pending,
    Approved,
    Rejected,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Result<RequestState, StoreError> {
        match text {
            "pending" => Ok(RequestState::Pending),
            "approved" => Ok(RequestState::Approved),
            "rejected" => Ok(RequestState::Rejected),
            other => Err(StoreError::corrupt("block_release_requests", format!("unknown state {other:?}"))),
        }
    }
}

/// A release of a block waiting for (or decided by) a second person.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseRequest {
    pub request_id: i64,
    pub block_id: String,
    pub reason: String,
    /// Days the subscriber is allowed once the release is approved.
    pub allow_days: Option<u32>,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub state: RequestState,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub decision_note: Option<String>,
}

/// A subscriber allowed until `until`: a decision that would block is lowered to review.
#[derive(Clone, Debug, PartialEq)]
pub struct AllowEntry {
    pub allow_id: i64,
    /// The released block that granted it.
    pub block_id: String,
    pub subscriber: Pii,
    pub since: Timestamp,
    pub until: Timestamp,
    pub created_by: String,
    pub reason: String,
}

impl AllowEntry {
    pub fn is_active(&self, at: Timestamp) -> bool {
        self.since <= at && at < self.until
    }
}

/// A released block and the allow entry its release granted, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub block: BlockRecord,
    pub allow: Option<AllowEntry>,
}

/// What deciding a request did: the request as decided and, when approved, the release.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    pub request: ReleaseRequest,
    pub release: Option<Release>,
}

/// Checks a release's reason and allow period.
pub(crate) fn check_release(reason: &str, allow_days: Option<u32>) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    if reason.trim().is_empty() {
        problems.push("a release needs a reason".to_string());
    }
    if let Some(days) = allow_days {
        if !(1..=MAX_ALLOW_DAYS).contains(&days) {
            problems.push(format!("an allow entry lasts from 1 to {MAX_ALLOW_DAYS} days"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Refused(problems.join("; ")))
    }
}

/// The checks of deciding `request` by `actor`, shared by both backends.
pub(crate) fn check_decision(request: &ReleaseRequest, actor: &str) -> Result<(), StoreError> {
    if request.state != RequestState::Pending {
        return Err(StoreError::Refused(format!(
            "release request {} is {} already",
            request.request_id,
            request.state.as_str()
        )));
    }
    if request.requested_by == actor {
        return Err(StoreError::Refused(format!(
            "release request {} was made by {actor}: a second person must approve or reject it",
            request.request_id
        )));
    }
    Ok(())
}

/// The end of an allow entry granted at `at` for `days`.
pub(crate) fn allow_until(at: Timestamp, days: u32) -> Timestamp {
    at + chrono::Duration::days(i64::from(days))
}

/// A `block_release_requests` row: id, block, reason, allow days, by, at, state,
/// decided by, decided at, note.
pub(crate) type RequestRow<T> =
    (i64, String, String, Option<i64>, String, T, String, Option<String>, Option<T>, Option<String>);

pub(crate) const REQUEST_COLUMNS: &str = "request_id, block_id, reason, allow_days, requested_by, \
     requested_at, state, decided_by, decided_at, decision_note";

pub(crate) fn request_from_row<T>(
    row: RequestRow<T>,
    time: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<ReleaseRequest, StoreError> {
    let (
        request_id,
        block_id,
        reason,
        allow_days,
        requested_by,
        requested_at,
        state,
        decided_by,
        decided_at,
        note,
    ) = row;
    Ok(ReleaseRequest {
        request_id,
        block_id,
        reason,
        allow_days: allow_days
            .map(|d| {
                u32::try_from(d).map_err(|_| StoreError::corrupt("block_release_requests", "allow days"))
            })
            .transpose()?,
        requested_by,
        requested_at: time(requested_at)?,
        state: RequestState::parse(&state)?,
        decided_by,
        decided_at: decided_at.map(&time).transpose()?,
        decision_note: note,
    })
}

/// An allow entry row joined with its block's sealed subscriber: id, block, sealed
/// subscriber, since, until, by, reason.
pub(crate) type AllowRow<T> = (i64, String, String, T, T, String, String);

/// The columns of an [`AllowRow`], from `allow_entries a JOIN blocks b`.
pub(crate) const ALLOW_COLUMNS: &str =
    "a.allow_id, a.block_id, b.subscriber_sealed, a.since, a.until, a.created_by, a.reason";

pub(crate) fn allow_from_row<T>(
    vault: &fds_vault::Vault,
    row: AllowRow<T>,
    time: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<AllowEntry, StoreError> {
    let (allow_id, block_id, sealed, since, until, created_by, reason) = row;
    Ok(AllowEntry {
        allow_id,
        block_id,
        subscriber: Pii::new(crate::pii::open_subscriber(vault, "blocks", &sealed)?),
        since: time(since)?,
        until: time(until)?,
        created_by,
        reason,
    })
}

fn request_json(r: &ReleaseRequest) -> serde_json::Value {
    json!({
        "request_id": r.request_id,
        "block_id": r.block_id,
        "reason": r.reason,
        "allow_days": r.allow_days,
        "requested_by": r.requested_by,
        "state": r.state.as_str(),
        "decided_by": r.decided_by,
        "decision_note": r.decision_note,
    })
}

pub(crate) fn audit_request(r: &ReleaseRequest) -> AuditEntry {
    AuditEntry {
        actor: r.requested_by.clone(),
        action: actions::RELEASE_REQUEST.into(),
        target: format!("block:{}", r.block_id),
        before: None,
        after: Some(request_json(r)),
        at: r.requested_at,
    }
}

/// The audit record of deciding `before` into `after`.
pub(crate) fn audit_decision(before: &ReleaseRequest, after: &ReleaseRequest) -> AuditEntry {
    AuditEntry {
        actor: after.decided_by.clone().unwrap_or_default(),
        action: match after.state {
            RequestState::Approved => actions::RELEASE_APPROVE,
            _ => actions::RELEASE_REJECT,
        }
        .into(),
        target: format!("block:{}", after.block_id),
        before: Some(request_json(before)),
        after: Some(request_json(after)),
        at: after.decided_at.unwrap_or(after.requested_at),
    }
}

pub(crate) fn audit_allow(entry: &AllowEntry) -> AuditEntry {
    AuditEntry {
        actor: entry.created_by.clone(),
        action: actions::ALLOW.into(),
        target: format!("block:{}", entry.block_id),
        before: None,
        after: Some(json!({
            "allow_id": entry.allow_id,
            // Under the key the PII sealing knows: sealed in the log.
            "subscriber": entry.subscriber.expose(),
            "since": entry.since,
            "until": entry.until,
            "reason": entry.reason,
        })),
        at: entry.since,
    }
}
