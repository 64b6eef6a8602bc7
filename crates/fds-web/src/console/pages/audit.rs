//! The audit log, newest first, filtered by action and actor, and the check of its
//! hash chain against the stored head (`fds audit verify` in the browser).

use super::{render, when, Chrome};
use crate::console::i18n::tr;
use crate::console::session::Current;
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use fds_store::{AuditRecord, ChainVerifier, Store, StoreError};
use serde::Deserialize;

/// Records shown per page.
const PAGE: usize = 100;
/// Records read per store call, while scanning back for matches and verifying.
const BATCH: u32 = 1_000;
/// Records a filtered page scans at most before it stops.
const SCAN_LIMIT: u64 = 20_000;

pub(crate) struct AuditRow {
    seq: u64,
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    action: String,
    actor: String,
    records: Vec<AuditRow>,
    older: Option<u64>,
    verdict: Option<(bool, String)>,
}

#[derive(Deserialize, Default)]
pub(crate) struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    /// Show records with a sequence number below this one.
    before: Option<u64>,
}

fn row(record: &AuditRecord) -> AuditRow {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    let detail = match (&record.entry.before, &record.entry.after) {
        (None, None) => String::new(),
        (None, Some(_)) => json(&record.entry.after),
        _ => format!("{} → {}", json(&record.entry.before), json(&record.entry.after)),
    };
    AuditRow {
        seq: record.seq,
        at: when(record.entry.at),
        actor: record.entry.actor.clone(),
        action: record.entry.action.clone(),
        target: record.entry.target.clone(),
        detail,
    }
}

/// Up to [`PAGE`] records below `before` matching the filters, newest first, and the
/// sequence number to continue from when there may be more.
async fn newest_matching(
    store: &dyn Store,
    before: u64,
    action: &str,
    actor: &str,
) -> Result<(Vec<AuditRecord>, Option<u64>), StoreError> {
    let mut found = Vec::new();
    // Records with a sequence number below `end` are still to be scanned.
    let mut end = before;
    let mut scanned = 0;
    while end > 1 && found.len() < PAGE && scanned < SCAN_LIMIT {
        let start = end.saturating_sub(u64::from(BATCH)).max(1);
        let batch = store.audit_records(start - 1, (end - start) as u32).await?;
        scanned += batch.len() as u64;
        end = start;
        for record in batch.into_iter().rev() {
            let matches = (action.is_empty() || record.entry.action.contains(action))
                && (actor.is_empty() || record.entry.actor == actor);
            if matches {
                found.push(record);
                if found.len() == PAGE {
                    end = found.last().map_or(start, |r| r.seq);
                    break;
                }
            }
        }
    }
    let more = (end > 1).then_some(end);
    Ok((found, more))
}

async fn audit_page(
    state: &ConsoleState,
    current: &Current,
    query: AuditQuery,
    verdict: Option<(bool, String)>,
) -> Response {
    let lang = current.lang();
    let store = state.store();
    let action = query.action.unwrap_or_default().trim().to_string();
    let actor = query.actor.unwrap_or_default().trim().to_string();
    let before = match query.before {
        Some(before) => before,
        None => match store.audit_head().await {
            Ok(head) => head.seq + 1,
            Err(e) => return super::internal(lang, e),
        },
    };
    let (records, older) = match newest_matching(store.as_ref(), before, &action, &actor).await {
        Ok(found) => found,
        Err(e) => return super::internal(lang, e),
    };
    let page = AuditPage {
        chrome: Chrome::new(current, "/console/audit"),
        action,
        actor,
        records: records.iter().map(row).collect(),
        older,
        verdict,
    };
    render(&page, lang)
}

/// `GET /console/audit?action=&actor=&before=`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Query(query): Query<AuditQuery>,
) -> Response {
    audit_page(&state, &current, query, None).await
}

/// Checks the whole chain against the stored head: the number of records verified,
/// or where it breaks.
pub(crate) async fn verify_all(store: &dyn Store) -> Result<Result<u64, String>, StoreError> {
    let head = store.audit_head().await?;
    let mut verifier = ChainVerifier::new();
    let mut after = 0;
    loop {
        let batch = store.audit_records(after, BATCH).await?;
        for record in &batch {
            if let Err(broken) = verifier.push(record) {
                return Ok(Err(broken.to_string()));
            }
        }
        match batch.last() {
            Some(last) if batch.len() == BATCH as usize => after = last.seq,
            _ => break,
        }
    }
    Ok(verifier.finish(&head).map_err(|broken| broken.to_string()))
}

/// `GET /console/audit/verify`
pub(crate) async fn verify(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    let lang = current.lang();
    let t = tr(lang);
    let verdict = match verify_all(state.store().as_ref()).await {
        Ok(Ok(n)) => (true, format!("{} {n}", t.audit_ok)),
        Ok(Err(broken)) => (false, format!("{} {broken}", t.audit_broken)),
        Err(e) => return super::internal(lang, e),
    };
    audit_page(&state, &current, AuditQuery::default(), Some(verdict)).await
}
