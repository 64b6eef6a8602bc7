//! The API's handlers: thin adapters from HTTP to the pipeline.

use crate::auth::Client;
use crate::problem::ApiError;
use crate::{AppState, Degraded};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use fds_core::{ids, Label, Outcome, Pii};
use fds_pipeline::SubmitError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `POST /v1/score`: the decision for one event.
pub(crate) async fn score(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    if body.len() > fds_core::MAX_EVENT_BYTES {
        return Err(ApiError::TooLarge(fds_core::MAX_EVENT_BYTES));
    }
    // Detached: past the deadline the answer goes out, but the event is still
    // scored and stored (a redelivery then gets the stored decision).
    let work = state.pipeline.submit_json_detached(body);
    let submitted = match tokio::time::timeout(state.deadline, work).await {
        Ok(Ok(Ok(submitted))) => submitted,
        Ok(Ok(Err(SubmitError::Invalid(invalid)))) => return Err(ApiError::Invalid(invalid.problems)),
        Ok(Ok(Err(SubmitError::Store(e)))) => return Err(ApiError::Unavailable(e.to_string())),
        Ok(Err(failed)) => return Err(ApiError::Internal(format!("scoring failed: {failed}"))),
        Err(_elapsed) => {
            return match state.on_deadline {
                Degraded::Allow => Ok(Json(json!({
                    "action": "allow",
                    "degraded": true,
                    "detail": "no decision within the deadline; allowed by the fail-open policy",
                }))
                .into_response()),
                Degraded::Error => Err(ApiError::DeadlineExceeded),
            };
        }
    };
    let mut body =
        serde_json::to_value(submitted.decision().as_ref()).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Value::Object(map) = &mut body {
        map.insert("duplicate".into(), Value::Bool(submitted.is_duplicate()));
    }
    Ok(Json(body).into_response())
}

#[derive(Serialize)]
struct BlockStatus {
    subscriber: String,
    /// Whether payments for this subscriber must be refused now.
    refuse_payments: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn valid_msisdn(s: &str) -> bool {
    (8..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// `GET /v1/blocks/{subscriber}`: whether a payment must be refused now.
pub(crate) async fn block(
    State(state): State<AppState>,
    Path(subscriber): Path<String>,
) -> Result<Json<impl Serialize>, ApiError> {
    if !valid_msisdn(&subscriber) {
        return Err(ApiError::invalid("subscriber", "must be 8 to 15 digits"));
    }
    let block = state.pipeline.active_block(&subscriber);
    let rfc = |t: fds_core::Timestamp| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(Json(match block {
        Some(b) => BlockStatus {
            refuse_payments: true,
            scope: Some(b.scope.as_str()),
            since: Some(rfc(b.since)),
            until: Some(rfc(b.until)),
            decision_id: Some(b.decision_id),
            block_id: Some(b.block_id),
            reason: Some(b.reason),
            subscriber,
        },
        None => BlockStatus {
            subscriber,
            refuse_payments: false,
            scope: None,
            since: None,
            until: None,
            decision_id: None,
            block_id: None,
            reason: None,
        },
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LabelRequest {
    event_id: Option<String>,
    subscriber: Option<String>,
    outcome: String,
    note: Option<String>,
}

/// `POST /v1/labels`: a confirmed outcome for an event or a subscriber.
pub(crate) async fn label(
    State(state): State<AppState>,
    Extension(client): Extension<Client>,
    body: Bytes,
) -> Result<(StatusCode, Json<Label>), ApiError> {
    let request: LabelRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("$", format!("not a valid label: {e}")))?;
    let mut problems = Vec::new();
    let mut push = |field: &str, reason: &str| {
        problems.push(fds_core::Problem { field: field.into(), reason: reason.into() })
    };
    let outcome = match request.outcome.as_str() {
        "fraud" => Some(Outcome::Fraud),
        "legit" => Some(Outcome::Legit),
        _ => {
            push("outcome", "must be one of fraud, legit");
            None
        }
    };
    if request.event_id.is_none() && request.subscriber.is_none() {
        push("event_id", "either event_id or subscriber is required");
    }
    if let Some(s) = &request.subscriber {
        if !valid_msisdn(s) {
            push("subscriber", "must be 8 to 15 digits");
        }
    }
    if let Some(id) = &request.event_id {
        if id.is_empty() || id.chars().count() > 128 {
            push("event_id", "must be 1 to 128 characters");
        }
    }
    if request.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        push("note", "must be at most 1000 characters");
    }
    let Some(outcome) = outcome.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Invalid(problems));
    };
    let mut subscriber = request.subscriber.map(Pii::new);
    if let Some(event_id) = &request.event_id {
        let decision = state
            .pipeline
            .decision_for_event(event_id)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?
            .ok_or_else(|| ApiError::NotFound(format!("no scored event with id {event_id:?}")))?;
        subscriber.get_or_insert_with(|| decision.subscriber.clone());
    }
    let now = state.pipeline.clock().now();
    let key = format!(
        "{}|{}|{}|{}",
        request.event_id.as_deref().unwrap_or(""),
        subscriber.as_ref().map(Pii::expose).unwrap_or(""),
        outcome.as_str(),
        now.timestamp_micros()
    );
    let label = Label {
        label_id: ids::derived("lbl", &key),
        event_id: request.event_id,
        subscriber,
        outcome,
        note: request.note,
        labelled_by: client.0,
        labelled_at: now,
    };
    state.pipeline.label(&label).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(label)))
}

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.pipeline.ready().await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok("ready")
}

pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(16 * 1024);
    state.pipeline.render_metrics(&mut out);
    state.http.render(&mut out);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

pub(crate) async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}
