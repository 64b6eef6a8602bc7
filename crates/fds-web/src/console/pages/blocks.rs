//! Blocks: a search over the year by start date and status, and the release of a
//! block with a reason code (audited `block.release`; the API stops refusing the
//! subscriber's payments at once), optionally allowing the subscriber for a number
//! of days (the pipeline then lowers a decision that would block them to review).
//! A high-severity block (`Block::is_high_severity`: the whole line cut off) is not
//! released by one analyst: the release becomes a pending request that a second,
//! different analyst approves or rejects here. Subscribers are shown masked.

use super::{mask, render, when, Chrome};
use crate::console::permission::Permission;
use crate::console::session::{redirect, Current};
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use chrono::NaiveDate;
use fds_pipeline::ReleaseOutcome;
use fds_store::{BlockStatus, StoreError};
use serde::Deserialize;

/// Blocks listed per search.
const PAGE: u32 = 500;
/// Pending release requests listed.
const PENDING: u32 = 100;
/// Default search window, in days back from today.
const DEFAULT_DAYS: i64 = 30;
/// The reason codes a release is filed under.
pub(crate) const REASON_CODES: [&str; 4] = ["customer_verified", "false_positive", "duplicate", "other"];

pub(crate) struct BlockRow {
    block_id: String,
    subscriber: String,
    scope: &'static str,
    since: String,
    until: String,
    reason: String,
    status: &'static str,
    released: String,
    /// Releasing it needs a second analyst.
    high: bool,
    /// The pending release request, if one waits.
    pending: Option<i64>,
}

pub(crate) struct RequestRow {
    request_id: i64,
    subscriber: String,
    scope: &'static str,
    reason: String,
    allow_days: Option<u32>,
    requested_by: String,
    requested_at: String,
    /// The reader asked for it, so cannot decide it.
    own: bool,
}

#[derive(Template)]
#[template(path = "blocks.html")]
struct BlocksPage {
    chrome: Chrome,
    from: String,
    to: String,
    status: &'static str,
    rows: Vec<BlockRow>,
    can_release: bool,
    requests: Vec<RequestRow>,
    message: Option<String>,
    max_allow_days: u32,
}

#[derive(Deserialize)]
pub(crate) struct BlocksQuery {
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
    /// A release request just filed (shown as a message).
    requested: Option<i64>,
}

fn parse_day(text: Option<&str>, default: NaiveDate, what: &str) -> Result<NaiveDate, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| format!("{what} must be a date YYYY-MM-DD"))
        }
    }
}

/// A validated search: the days, the status and the blocks found.
struct Search {
    from: NaiveDate,
    to: NaiveDate,
    status: BlockStatus,
    records: Vec<fds_store::BlockRecord>,
}

/// Runs the search of `query`; `Err` is the page to answer with.
async fn search(state: &ConsoleState, current: &Current, query: &BlocksQuery) -> Result<Search, Response> {
    let lang = current.lang();
    let now = state.now();
    let today = now.date_naive();
    let from = parse_day(query.from.as_deref(), today - chrono::Duration::days(DEFAULT_DAYS), "from");
    let to = parse_day(query.to.as_deref(), today, "to");
    let status = BlockStatus::parse(query.status.as_deref().unwrap_or("all"));
    let (from, to, status) = match (from, to, status) {
        (Ok(from), Ok(to), Some(status)) if from <= to => (from, to, status),
        (Err(e), _, _) | (_, Err(e), _) => return Err(super::bad_request(lang, &e)),
        (_, _, None) => {
            return Err(super::bad_request(lang, "status must be one of all, active, released, expired"))
        }
        _ => return Err(super::bad_request(lang, "from must not be after to")),
    };
    let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let end = (to + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let (Some(start), Some(end)) = (start, end) else {
        return Err(super::bad_request(lang, "the dates are out of range"));
    };
    match state.store().blocks_between(start, end, status, now, PAGE).await {
        Ok(records) => Ok(Search { from, to, status, records }),
        Err(e) => Err(super::internal(lang, e)),
    }
}

/// `GET /console/blocks.csv?…`: the same search as CSV (subscribers masked).
pub(crate) async fn csv(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Query(query): Query<BlocksQuery>,
) -> Response {
    let found = match search(&state, &current, &query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let now = state.now();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "block_id",
        "subscriber",
        "scope",
        "since",
        "until",
        "reason",
        "status",
        "released_at",
        "released_by",
        "release_reason",
    ];
    if let Err(e) = writer.write_record(header) {
        return super::internal(current.lang(), e);
    }
    for r in &found.records {
        let row = [
            r.block.block_id.clone(),
            mask(r.block.subscriber.expose()),
            r.block.scope.as_str().to_string(),
            r.block.since.to_rfc3339(),
            r.block.until.to_rfc3339(),
            r.block.reason.clone(),
            r.status_at(now).as_str().to_string(),
            r.released_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            r.released_by.clone().unwrap_or_default(),
            r.release_reason.clone().unwrap_or_default(),
        ];
        if let Err(e) = writer.write_record(&row) {
            return super::internal(current.lang(), e);
        }
    }
    let bytes = match writer.into_inner() {
        Ok(bytes) => bytes,
        Err(e) => return super::internal(current.lang(), e),
    };
    let name =
        format!("attachment; filename=\"blocks-{}-{}-{}.csv\"", found.from, found.to, found.status.as_str());
    let headers = [(CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (CONTENT_DISPOSITION, name)];
    (headers, bytes).into_response()
}

/// `GET /console/blocks?from=YYYY-MM-DD&to=YYYY-MM-DD&status=all|active|released|expired`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Query(query): Query<BlocksQuery>,
) -> Response {
    let lang = current.lang();
    let now = state.now();
    let Search { from, to, status, records } = match search(&state, &current, &query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let pending = match state.store().release_requests(true, PENDING).await {
        Ok(pending) => pending,
        Err(e) => return super::internal(lang, e),
    };
    let mut requests = Vec::with_capacity(pending.len());
    for request in &pending {
        let Some(record) = (match state.store().block(&request.block_id).await {
            Ok(record) => record,
            Err(e) => return super::internal(lang, e),
        }) else {
            continue;
        };
        requests.push(RequestRow {
            request_id: request.request_id,
            subscriber: mask(record.block.subscriber.expose()),
            scope: record.block.scope.as_str(),
            reason: request.reason.clone(),
            allow_days: request.allow_days,
            requested_by: request.requested_by.clone(),
            requested_at: when(request.requested_at),
            own: request.requested_by == current.user.login,
        });
    }
    let pending_of = |block_id: &str| pending.iter().find(|p| p.block_id == block_id).map(|p| p.request_id);
    let rows = records
        .iter()
        .map(|r| BlockRow {
            high: r.block.is_high_severity(),
            pending: pending_of(&r.block.block_id),
            block_id: r.block.block_id.clone(),
            subscriber: mask(r.block.subscriber.expose()),
            scope: r.block.scope.as_str(),
            since: when(r.block.since),
            until: when(r.block.until),
            reason: r.block.reason.clone(),
            status: r.status_at(now).as_str(),
            released: match (&r.released_by, &r.release_reason) {
                (Some(by), Some(why)) => format!("{by}: {why}"),
                _ => String::new(),
            },
        })
        .collect();
    let page = BlocksPage {
        chrome: Chrome::new(&current, "/console/blocks"),
        from: from.to_string(),
        to: to.to_string(),
        status: status.as_str(),
        rows,
        can_release: current.can(Permission::ReleaseBlocks),
        requests,
        message: query
            .requested
            .map(|id| format!("{} #{id}", super::super::i18n::tr(lang).release_requested)),
        max_allow_days: fds_store::MAX_ALLOW_DAYS,
    };
    render(&page, lang)
}

#[derive(Deserialize)]
pub(crate) struct ReleaseForm {
    code: String,
    note: Option<String>,
    /// Days to allow the subscriber after the release (empty: none).
    allow_days: Option<String>,
}

/// `POST /console/blocks/{block_id}/release`: releases the block, or files the
/// release for a second analyst when the block is high severity.
pub(crate) async fn release(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(block_id): Path<String>,
    Form(form): Form<ReleaseForm>,
) -> Response {
    let lang = current.lang();
    if !REASON_CODES.contains(&form.code.as_str()) {
        return super::bad_request(
            lang,
            "the reason code must be one of customer_verified, false_positive, duplicate, other",
        );
    }
    let note = form.note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if form.code == "other" && note.is_none() {
        return super::bad_request(lang, "a release for another reason needs a note");
    }
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return super::bad_request(lang, "the note is longer than 500 characters");
    }
    let allow_days = match form.allow_days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(days) if (1..=fds_store::MAX_ALLOW_DAYS).contains(&days) => Some(days),
            _ => return super::bad_request(lang, "the allow period is a number of days from 1 to 90"),
        },
    };
    let reason = match note {
        Some(note) => format!("{}: {note}", form.code),
        None => form.code.clone(),
    };
    match state.pipeline.release_block(&block_id, &current.user.login, &reason, allow_days).await {
        Ok(ReleaseOutcome::Released(_)) => redirect("/console/blocks?status=released"),
        Ok(ReleaseOutcome::Requested(request)) => {
            redirect(&format!("/console/blocks?status=active&requested={}", request.request_id))
        }
        Ok(ReleaseOutcome::NotFound) => super::bad_request(lang, "no such block, or it is released already"),
        Err(StoreError::Refused(why)) => super::bad_request(lang, &why),
        Err(e) => super::internal(lang, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct DecideForm {
    #[serde(default)]
    note: String,
}

/// `POST /console/blocks/requests/{request_id}/{approve|reject}`: a second analyst
/// decides a pending release (the store refuses the analyst who asked).
pub(crate) async fn decide(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path((request_id, verdict)): Path<(String, String)>,
    Form(form): Form<DecideForm>,
) -> Response {
    let lang = current.lang();
    let Ok(request_id) = request_id.parse::<i64>() else {
        return super::bad_request(lang, "the request number must be a number");
    };
    let approve = match verdict.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
    };
    let note = form.note.trim();
    if note.chars().count() > 500 {
        return super::bad_request(lang, "the note is longer than 500 characters");
    }
    match state.pipeline.decide_release(request_id, &current.user.login, approve, note).await {
        Ok(Some(_)) if approve => redirect("/console/blocks?status=released"),
        Ok(Some(_)) => redirect("/console/blocks?status=active"),
        Ok(None) => super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
        Err(StoreError::Refused(why)) => super::bad_request(lang, &why),
        Err(e) => super::internal(lang, e),
    }
}
