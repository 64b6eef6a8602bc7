//! Blocks: a search over the year by start date and status, and the release of a
//! block with a reason code (audited `block.release`; the API stops refusing the
//! subscriber's payments at once). Subscribers are shown masked.

use super::{mask, render, when, Chrome};
use crate::console::permission::Permission;
use crate::console::session::{redirect, Current};
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use chrono::NaiveDate;
use fds_store::BlockStatus;
use serde::Deserialize;

/// Blocks listed per search.
const PAGE: u32 = 500;
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
}

#[derive(Deserialize)]
pub(crate) struct BlocksQuery {
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
}

fn parse_day(text: Option<&str>, default: NaiveDate, what: &str) -> Result<NaiveDate, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| format!("{what} must be a date YYYY-MM-DD"))
        }
    }
}

/// `GET /console/blocks?from=YYYY-MM-DD&to=YYYY-MM-DD&status=all|active|released|expired`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Query(query): Query<BlocksQuery>,
) -> Response {
    let lang = current.lang();
    let now = state.now();
    let today = now.date_naive();
    let from = parse_day(query.from.as_deref(), today - chrono::Duration::days(DEFAULT_DAYS), "from");
    let to = parse_day(query.to.as_deref(), today, "to");
    let status = BlockStatus::parse(query.status.as_deref().unwrap_or("all"));
    let (from, to, status) = match (from, to, status) {
        (Ok(from), Ok(to), Some(status)) if from <= to => (from, to, status),
        (Err(e), _, _) | (_, Err(e), _) => return super::bad_request(lang, &e),
        (_, _, None) => {
            return super::bad_request(lang, "status must be one of all, active, released, expired")
        }
        _ => return super::bad_request(lang, "from must not be after to"),
    };
    let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let end = (to + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let (Some(start), Some(end)) = (start, end) else {
        return super::bad_request(lang, "the dates are out of range");
    };
    let records = match state.store().blocks_between(start, end, status, now, PAGE).await {
        Ok(r) => r,
        Err(e) => return super::internal(lang, e),
    };
    let rows = records
        .iter()
        .map(|r| BlockRow {
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
    };
    render(&page, lang)
}

#[derive(Deserialize)]
pub(crate) struct ReleaseForm {
    code: String,
    note: Option<String>,
}

/// `POST /console/blocks/{block_id}/release`
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
    let reason = match note {
        Some(note) => format!("{}: {note}", form.code),
        None => form.code.clone(),
    };
    match state.pipeline.release_block(&block_id, &current.user.login, &reason).await {
        Ok(Some(_)) => redirect("/console/blocks?status=released"),
        Ok(None) => super::bad_request(lang, "no such block, or it is released already"),
        Err(e) => super::internal(lang, e),
    }
}
