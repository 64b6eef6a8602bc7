//! Suppressions: silencing one rule for one subscriber (or another entity) for a
//! while, with a reason, and lifting it early — what `fds rules suppress` and
//! `fds rules unsuppress` do, through the same store calls (audited
//! `rules.suppress` / `rules.unsuppress`). The running pipeline applies them at its
//! next rule reload (a few seconds; at once in this process). Values are masked.

use super::{mask, render, when, Chrome};
use crate::console::permission::Permission;
use crate::console::session::{redirect, Current};
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Form};
use fds_core::EntityKind;
use fds_store::{NewSuppression, StoreError};
use serde::Deserialize;

/// The longest a suppression may run from the console, in days.
const MAX_DAYS: i64 = 90;

pub(crate) struct SuppressionRow {
    id: i64,
    rule_id: String,
    kind: &'static str,
    value: String,
    reason: String,
    created_by: String,
    until: String,
    active: bool,
    lifted: Option<String>,
}

#[derive(Template)]
#[template(path = "suppressions.html")]
struct SuppressionsPage {
    chrome: Chrome,
    rows: Vec<SuppressionRow>,
    rule_ids: Vec<String>,
    kinds: Vec<&'static str>,
    can_suppress: bool,
}

/// `GET /console/rules/suppressions`: every suppression, newest first.
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    let lang = current.lang();
    let now = state.now();
    let list = match state.store().suppressions(None).await {
        Ok(list) => list,
        Err(e) => return super::internal(lang, e),
    };
    let rows = list
        .into_iter()
        .rev()
        .map(|s| SuppressionRow {
            active: s.is_active(now),
            id: s.suppression_id,
            kind: s.kind.as_str(),
            value: mask(&s.value),
            until: when(s.expires_at),
            lifted: match (&s.lifted_by, s.lifted_at) {
                (Some(by), Some(at)) => Some(format!("{by}, {}", when(at))),
                _ => None,
            },
            rule_id: s.rule_id,
            reason: s.reason,
            created_by: s.created_by,
        })
        .collect();
    let scorer = state.pipeline.scorer();
    let mut rule_ids: Vec<String> = scorer.rules().rules().iter().map(|r| r.id.clone()).collect();
    rule_ids.sort();
    let page = SuppressionsPage {
        chrome: Chrome::new(&current, "/console/rules/suppressions"),
        rows,
        rule_ids,
        kinds: EntityKind::ALL.iter().map(|k| k.as_str()).collect(),
        can_suppress: current.can(Permission::Suppress),
    };
    render(&page, lang)
}

#[derive(Deserialize)]
pub(crate) struct AddForm {
    rule: String,
    kind: String,
    value: String,
    days: String,
    reason: String,
}

/// `POST /console/rules/suppressions`
pub(crate) async fn add(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Form(form): Form<AddForm>,
) -> Response {
    let lang = current.lang();
    let Some(kind) = EntityKind::parse(form.kind.trim()) else {
        return super::bad_request(lang, "the entity kind is not one of the known kinds");
    };
    let days = match form.days.trim().parse::<i64>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => d,
        _ => return super::bad_request(lang, "a suppression lasts from 1 to 90 days"),
    };
    let rule = form.rule.trim().to_string();
    if !state.pipeline.scorer().rules().rules().iter().any(|r| r.id == rule) {
        return super::bad_request(lang, "the rule is not in the live pack");
    }
    let now = state.now();
    let new = NewSuppression {
        rule_id: rule,
        kind,
        value: form.value.trim().to_string(),
        reason: form.reason.trim().to_string(),
        created_by: current.user.login.clone(),
        created_at: now,
        expires_at: now + chrono::Duration::days(days),
    };
    match state.store().add_suppression(&new).await {
        Ok(_) => applied(&state).await,
        Err(StoreError::Refused(why)) => super::bad_request(lang, &why),
        Err(e) => super::internal(lang, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct LiftForm {
    reason: String,
}

/// `POST /console/rules/suppressions/{id}/lift`
pub(crate) async fn lift(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(id): Path<String>,
    Form(form): Form<LiftForm>,
) -> Response {
    let lang = current.lang();
    let Ok(id) = id.parse::<i64>() else {
        return super::bad_request(lang, "the suppression number must be a number");
    };
    let reason = form.reason.trim();
    if reason.is_empty() {
        return super::bad_request(lang, "lifting a suppression needs a reason");
    }
    match state.store().lift_suppression(id, &current.user.login, reason, state.now()).await {
        Ok(Some(_)) => applied(&state).await,
        Ok(None) => super::bad_request(lang, "there is no unlifted suppression with this number"),
        Err(e) => super::internal(lang, e),
    }
}

/// Reloads this process's rule state (the suppressions) and goes back to the list.
async fn applied(state: &ConsoleState) -> Response {
    if let Err(e) = state.pipeline.reload_rules().await {
        tracing::error!(error = %e, "reloading the rules after a suppression change failed");
    }
    redirect("/console/rules/suppressions")
}
