//! The review queue and the case page. A case is one flagged decision (review or
//! block) whose event has no label yet; an analyst confirms fraud, marks a false
//! positive (with a reason) — both become labels through the pipeline's labels
//! path, which the supervised model trains on — or escalates it. Subscriber
//! numbers and the event's other PII are masked unless an analyst reveals them,
//! which is audited (`pii.reveal`).

use super::{action_label, mask, render, when, Chrome};
use crate::console::session::{redirect, Current};
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use fds_core::{ids, Decision, Label, Outcome, Reason};
use fds_store::audit::actions as audit_actions;
use fds_store::{AuditEntry, QueueFilter};
use serde::Deserialize;

/// Cases listed in the queue.
const QUEUE_PAGE: u32 = 200;
/// How far back the queue looks.
const QUEUE_DAYS: i64 = 30;
/// Events on a case's subscriber timeline.
const TIMELINE: u32 = 50;
/// Longest free-text reason or note.
const MAX_REASON_CHARS: usize = 1000;

/// The JSON keys of the event contract that hold PII (shown masked).
const PII_FIELDS: [&str; 9] = [
    "subscriber",
    "callee",
    "recipient",
    "identity",
    "device_imei",
    "imei",
    "new_iccid",
    "card_number",
    "account",
];

pub(crate) struct QueueRow {
    event_id: String,
    occurred_at: String,
    subscriber: String,
    event_type: &'static str,
    action: &'static str,
    action_label: &'static str,
    score: String,
    rules: String,
    escalated: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    chrome: Chrome,
    rows: Vec<QueueRow>,
    can_act: bool,
    days: String,
    min_score: String,
    rule: String,
    family: String,
    /// Cases shown at most.
    limit: u32,
}

fn rule_ids(decision: &Decision) -> String {
    decision
        .reasons
        .iter()
        .filter_map(|r| match r {
            Reason::Rule { rule_id, .. } => Some(rule_id.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Deserialize, Default)]
pub(crate) struct QueueQuery {
    /// Days back: 1, 7 or 30 (default).
    days: Option<String>,
    min_score: Option<String>,
    rule: Option<String>,
    family: Option<String>,
}

/// The query's filter, or what is wrong with it.
fn queue_filter(query: &QueueQuery, now: fds_core::Timestamp) -> Result<QueueFilter, String> {
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
    let days = match text(&query.days).as_deref() {
        None => QUEUE_DAYS,
        Some("1") => 1,
        Some("7") => 7,
        Some("30") => 30,
        Some(_) => return Err("days must be 1, 7 or 30".into()),
    };
    let min_score = match text(&query.min_score) {
        None => None,
        Some(t) => match t.parse::<f64>() {
            Ok(score) if (0.0..=100.0).contains(&score) => Some(score),
            _ => return Err("min_score must be a number from 0 to 100".into()),
        },
    };
    Ok(QueueFilter {
        since: now - chrono::Duration::days(days),
        min_score,
        rule_id: text(&query.rule),
        family: text(&query.family),
    })
}

/// `GET /console/queue?days=&min_score=&rule=&family=`
pub(crate) async fn queue(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Query(query): Query<QueueQuery>,
) -> Response {
    let lang = current.lang();
    let store = state.store();
    let filter = match queue_filter(&query, state.now()) {
        Ok(filter) => filter,
        Err(why) => return super::bad_request(lang, &why),
    };
    let decisions = match store.review_queue(&filter, QUEUE_PAGE).await {
        Ok(d) => d,
        Err(fds_store::StoreError::Refused(why)) => return super::bad_request(lang, &why),
        Err(e) => return super::internal(lang, e),
    };
    let ids: Vec<&str> = decisions.iter().map(|d| d.event_id.as_str()).collect();
    let escalated = match store.escalations(&ids).await {
        Ok(e) => e,
        Err(e) => return super::internal(lang, e),
    };
    let tr = crate::console::i18n::tr(lang);
    let rows = decisions
        .iter()
        .map(|d| QueueRow {
            event_id: d.event_id.clone(),
            occurred_at: when(d.occurred_at),
            subscriber: mask(d.subscriber.expose()),
            event_type: d.event_type.as_str(),
            action: d.action.as_str(),
            action_label: action_label(tr, d.action),
            score: format!("{:.1}", d.score),
            rules: rule_ids(d),
            escalated: escalated.iter().any(|e| e.event_id == d.event_id),
        })
        .collect();
    let page = QueuePage {
        chrome: Chrome::new(&current, "/console/queue"),
        rows,
        can_act: current.can(crate::console::permission::Permission::ActOnCases),
        days: query.days.clone().unwrap_or_else(|| QUEUE_DAYS.to_string()),
        min_score: query.min_score.clone().unwrap_or_default(),
        rule: query.rule.clone().unwrap_or_default(),
        family: query.family.clone().unwrap_or_default(),
        limit: QUEUE_PAGE,
    };
    render(&page, lang)
}

pub(crate) struct ReasonRow {
    kind: &'static str,
    name: String,
    detail: String,
    score: String,
}

pub(crate) struct TimelineRow {
    event_id: String,
    occurred_at: String,
    event_type: &'static str,
    action: &'static str,
    action_label: &'static str,
    score: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    event_id: String,
    subscriber: String,
    /// The subscriber page's path (an opaque reference, never the number).
    subscriber_page: String,
    revealed: bool,
    action: &'static str,
    action_label: &'static str,
    score: String,
    decided_at: String,
    fields: Vec<(String, String)>,
    reasons: Vec<ReasonRow>,
    timeline: Vec<TimelineRow>,
    labels: Vec<(String, String, String)>,
    escalations: Vec<(String, String, String)>,
    can_act: bool,
    can_reveal: bool,
    message: Option<&'static str>,
}

fn reason_rows(decision: &Decision) -> Vec<ReasonRow> {
    decision
        .reasons
        .iter()
        .map(|reason| match reason {
            Reason::Rule { rule_id, name, family, score, features, .. } => ReasonRow {
                kind: "rule",
                name: format!("{rule_id} — {name}"),
                detail: std::iter::once(format!("family={family}"))
                    .chain(features.iter().map(|(k, v)| format!("{k}={}", feature_text(v))))
                    .collect::<Vec<_>>()
                    .join(", "),
                score: format!("{score:.1}"),
            },
            Reason::Model { model, version, score, contribution, top_features } => ReasonRow {
                kind: "model",
                name: format!("{model} ({version})"),
                detail: top_features
                    .iter()
                    .map(|(k, v)| format!("{k} {v:+.3}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                score: format!("{score:.3} → +{contribution:.1}"),
            },
            Reason::Suppressed { rule_id, suppression_id, until } => ReasonRow {
                kind: "suppressed",
                name: rule_id.clone(),
                detail: format!("suppression {suppression_id} until {}", when(*until)),
                score: "0".into(),
            },
            Reason::Allowed { allow_id, until } => ReasonRow {
                kind: "allowed",
                name: format!("allow {allow_id}"),
                detail: format!("allowed until {}: a block is lowered to review", when(*until)),
                score: "0".into(),
            },
        })
        .collect()
}

fn feature_text(value: &fds_core::FeatureValue) -> String {
    serde_json::to_value(value).map(|v| v.to_string()).unwrap_or_default()
}

/// The event's fields as text, PII masked unless `revealed`.
fn event_fields(event: &fds_core::Event, revealed: bool) -> Vec<(String, String)> {
    let serde_json::Value::Object(map) = event.to_json() else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            let shown = if PII_FIELDS.contains(&key.as_str()) && !revealed { mask(&text) } else { text };
            (key, shown)
        })
        .collect()
}

async fn case_page(
    state: &ConsoleState,
    current: &Current,
    event_id: &str,
    revealed: bool,
    message: Option<&'static str>,
) -> Response {
    let lang = current.lang();
    let store = state.store();
    let decision = match store.decision_for_event(event_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
        Err(e) => return super::internal(lang, e),
    };
    let event = match store.event(event_id).await {
        Ok(event) => event,
        Err(e) => return super::internal(lang, e),
    };
    let subscriber = decision.subscriber.expose();
    let history = match store.decisions_for_subscriber(subscriber, TIMELINE).await {
        Ok(h) => h,
        Err(e) => return super::internal(lang, e),
    };
    let escalations = match store.escalations(&[event_id]).await {
        Ok(e) => e,
        Err(e) => return super::internal(lang, e),
    };
    let labels = match store.labels_for_event(event_id).await {
        Ok(labels) => labels,
        Err(e) => return super::internal(lang, e),
    };
    let labels = labels
        .into_iter()
        .map(|l| {
            let outcome = super::outcome_label(crate::console::i18n::tr(lang), l.outcome);
            (outcome.to_string(), l.note.unwrap_or_default(), l.labelled_by)
        })
        .collect();
    let tr = crate::console::i18n::tr(lang);
    let page = CasePage {
        chrome: Chrome::new(current, format!("/console/cases/{event_id}")),
        event_id: event_id.to_string(),
        subscriber: if revealed { subscriber.to_string() } else { mask(subscriber) },
        subscriber_page: super::subscriber::page_path(&store.subscriber_ref(subscriber)),
        revealed,
        action: decision.action.as_str(),
        action_label: action_label(tr, decision.action),
        score: format!("{:.1}", decision.score),
        decided_at: when(decision.decided_at),
        fields: event.as_ref().map(|e| event_fields(e, revealed)).unwrap_or_default(),
        reasons: reason_rows(&decision),
        timeline: history
            .iter()
            .map(|d| TimelineRow {
                event_id: d.event_id.clone(),
                occurred_at: when(d.occurred_at),
                event_type: d.event_type.as_str(),
                action: d.action.as_str(),
                action_label: action_label(tr, d.action),
                score: format!("{:.1}", d.score),
            })
            .collect(),
        labels,
        escalations: escalations
            .into_iter()
            .map(|e| (when(e.escalated_at), e.escalated_by, e.reason))
            .collect(),
        can_act: current.can(crate::console::permission::Permission::ActOnCases),
        can_reveal: current.can(crate::console::permission::Permission::RevealPii),
        message,
    };
    render(&page, lang)
}

/// `GET /console/cases/{event_id}`
pub(crate) async fn case(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(event_id): Path<String>,
) -> Response {
    case_page(&state, &current, &event_id, false, None).await
}

/// `POST /console/cases/{event_id}/reveal`: the case with its PII shown, audited.
pub(crate) async fn reveal(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(event_id): Path<String>,
) -> Response {
    let lang = current.lang();
    let store = state.store();
    let decision = match store.decision_for_event(&event_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
        Err(e) => return super::internal(lang, e),
    };
    let entry = AuditEntry {
        actor: current.user.login.clone(),
        action: audit_actions::PII_REVEAL.into(),
        // The target names the case, never the number itself.
        target: format!("event:{event_id}"),
        before: None,
        after: Some(serde_json::json!({ "fields": PII_FIELDS, "subscriber": decision.subscriber.expose() })),
        at: state.now(),
    };
    if let Err(e) = store.append_audit(entry).await {
        return super::internal(lang, e);
    }
    case_page(&state, &current, &event_id, true, None).await
}

#[derive(Deserialize)]
pub(crate) struct OutcomeForm {
    outcome: String,
    reason: Option<String>,
}

/// `POST /console/cases/{event_id}/outcome`: `fraud` (confirm) or `legit` (a false
/// positive, reason required), recorded as a label.
pub(crate) async fn outcome(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(event_id): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> Response {
    let lang = current.lang();
    let (outcome, reason) = match parse_outcome(&form.outcome, form.reason.as_deref()) {
        Ok(parsed) => parsed,
        Err(why) => return super::bad_request(lang, why),
    };
    let decision = match state.store().decision_for_event(&event_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
        Err(e) => return super::internal(lang, e),
    };
    if let Err(e) = record_outcome(&state, &current, &decision, outcome, reason).await {
        return super::internal(lang, e);
    }
    redirect("/console/queue")
}

/// The outcome and reason of a form, checked: a false positive needs a reason.
fn parse_outcome(outcome: &str, reason: Option<&str>) -> Result<(Outcome, Option<String>), &'static str> {
    let reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    let outcome = match outcome {
        "fraud" => Outcome::Fraud,
        "legit" => Outcome::Legit,
        _ => return Err("outcome must be fraud or legit"),
    };
    if outcome == Outcome::Legit && reason.is_none() {
        return Err("a false positive needs a reason");
    }
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err("the reason is longer than 1000 characters");
    }
    Ok((outcome, reason))
}

/// Records `outcome` for the case of `decision` as a label, through the pipeline's
/// labels path (audited `label.create`).
async fn record_outcome(
    state: &ConsoleState,
    current: &Current,
    decision: &Decision,
    outcome: Outcome,
    reason: Option<String>,
) -> Result<(), fds_store::StoreError> {
    let now = state.now();
    let event_id = &decision.event_id;
    let label = Label {
        label_id: ids::derived(
            "lbl",
            &format!("console|{event_id}|{}|{}", outcome.as_str(), now.timestamp_micros()),
        ),
        event_id: Some(event_id.clone()),
        subscriber: Some(decision.subscriber.clone()),
        outcome,
        note: reason,
        labelled_by: current.user.login.clone(),
        labelled_at: now,
    };
    state.pipeline.label(&label).await
}

/// Cases one bulk action may label at most (a queue page).
const BULK_LIMIT: usize = QUEUE_PAGE as usize;

/// `POST /console/queue/bulk`: one outcome for the cases ticked on the queue
/// (`event_id` repeated). Every case is checked before any is labelled.
pub(crate) async fn bulk(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    body: axum::body::Bytes,
) -> Response {
    let lang = current.lang();
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (outcome, reason) = match parse_outcome(field("outcome").unwrap_or(""), field("reason")) {
        Ok(parsed) => parsed,
        Err(why) => return super::bad_request(lang, why),
    };
    let mut ids: Vec<&str> =
        fields.iter().filter(|(k, _)| k == "event_id").map(|(_, v)| v.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() > BULK_LIMIT {
        return super::bad_request(lang, "tick 1 to 200 cases");
    }
    let decisions = match state.store().decisions_for_events(&ids).await {
        Ok(d) => d,
        Err(e) => return super::internal(lang, e),
    };
    if decisions.len() != ids.len() {
        return super::bad_request(lang, "a ticked case is not a stored decision");
    }
    for decision in &decisions {
        if let Err(e) = record_outcome(&state, &current, decision, outcome, reason.clone()).await {
            return super::internal(lang, e);
        }
    }
    redirect("/console/queue")
}

#[derive(Deserialize)]
pub(crate) struct EscalateForm {
    reason: String,
}

/// `POST /console/cases/{event_id}/escalate`
pub(crate) async fn escalate(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(event_id): Path<String>,
    Form(form): Form<EscalateForm>,
) -> Response {
    let lang = current.lang();
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return super::bad_request(lang, "an escalation needs a reason of 1 to 1000 characters");
    }
    match state.store().decision_for_event(&event_id).await {
        Ok(Some(_)) => {}
        Ok(None) => return super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
        Err(e) => return super::internal(lang, e),
    }
    if let Err(e) = state.store().escalate_case(&event_id, reason, &current.user.login, state.now()).await {
        return super::internal(lang, e);
    }
    case_page(&state, &current, &event_id, false, Some(crate::console::i18n::tr(lang).outcome_recorded)).await
}
