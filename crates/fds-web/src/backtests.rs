//! Backtests as background jobs (what the console's rule editor calls):
//! `POST /v1/backtests` starts one — a draft against the live pack, or the live pack
//! against itself without a draft — `GET /v1/backtests/{id}` reads its progress and,
//! once done, its report, `DELETE /v1/backtests/{id}` cancels it (the report so far is
//! kept). Jobs live in this process's memory; the console's rule pages start and
//! read the same jobs ([`Backtests::start`], [`Backtests::view`]).

use crate::problem::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fds_core::{Problem, Timestamp};
use fds_pipeline::backtest::{backtest, BacktestReport};
use fds_pipeline::rulebook::{self, RulebookError};
use fds_pipeline::Pipeline;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The jobs of this process.
#[derive(Default)]
pub(crate) struct Backtests {
    next: AtomicU64,
    jobs: Mutex<HashMap<u64, Arc<Job>>>,
}

struct Job {
    cancel: AtomicBool,
    state: Mutex<Value>,
    /// The draft it runs (`None`: the live pack against itself).
    draft: Option<i64>,
    report: Mutex<Option<BacktestReport>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    from: String,
    to: String,
    #[serde(default)]
    draft: Option<i64>,
}

fn instant(field: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Timestamp> {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(at) => Some(at.to_utc()),
        Err(_) => {
            problems.push(Problem { field: field.into(), reason: "must be an RFC 3339 instant".into() });
            None
        }
    }
}

/// The report as JSON: decisions by live and draft action as a list of rows.
fn report_json(report: &BacktestReport) -> Value {
    let transitions: Vec<Value> = report
        .transitions
        .iter()
        .map(|((live, draft), n)| json!({ "live": live.as_str(), "draft": draft.as_str(), "decisions": n }))
        .collect();
    let rule_hits: Vec<Value> = report
        .rule_hits
        .iter()
        .map(|(id, (live, draft))| json!({ "rule_id": id, "live": live, "draft": draft }))
        .collect();
    let l = &report.labels;
    json!({
        "events": report.events,
        "warm_up_events": report.warm_up_events,
        "changed": report.changed(),
        "transitions": transitions,
        "newly_blocked": report.newly_blocked,
        "released": report.released,
        "labels": {
            "fraud": l.fraud, "legit": l.legit,
            "caught_live": l.caught_live, "caught_draft": l.caught_draft,
            "false_positives_live": l.false_positives_live, "false_positives_draft": l.false_positives_draft,
        },
        "rule_hits": rule_hits,
        "elapsed_ms": report.elapsed.as_millis() as u64,
        "events_per_second": report.events_per_second(),
    })
}

/// Why a backtest did not start.
#[derive(Debug)]
pub(crate) enum StartError {
    /// No such draft.
    NotFound(String),
    /// The draft does not compile or a fixture fails: every problem.
    Problems(Vec<String>),
    Store(fds_store::StoreError),
}

impl From<StartError> for ApiError {
    fn from(error: StartError) -> ApiError {
        match error {
            StartError::NotFound(what) => ApiError::NotFound(what),
            StartError::Problems(found) => ApiError::Invalid(
                found.into_iter().map(|reason| Problem { field: "draft".into(), reason }).collect(),
            ),
            StartError::Store(e) => ApiError::Unavailable(e.to_string()),
        }
    }
}

/// What the console shows of a job: its state JSON (as the API answers it), the
/// draft it runs and, once finished, the report.
pub(crate) struct JobView {
    pub(crate) state: Value,
    pub(crate) draft: Option<i64>,
    pub(crate) report: Option<BacktestReport>,
}

impl Backtests {
    /// Starts a backtest of draft `draft` (or of the live pack against itself) over
    /// `[from, to)` in a task of its own: the job's id.
    pub(crate) async fn start(
        &self,
        pipeline: Arc<Pipeline>,
        (from, to): (Timestamp, Timestamp),
        draft_id: Option<i64>,
    ) -> Result<u64, StartError> {
        let live = pipeline.scorer();
        let draft = match draft_id {
            None => live.with_rules(live.rules().clone()),
            Some(id) => match rulebook::check_change(pipeline.store().as_ref(), id, live.features()).await {
                Ok(checked) => live.with_rules(Arc::new(checked.pack)),
                Err(RulebookError::NotFound(what)) => return Err(StartError::NotFound(what)),
                Err(RulebookError::Problems(found)) => return Err(StartError::Problems(found)),
                Err(RulebookError::Store(e)) => return Err(StartError::Store(e)),
            },
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let job = Arc::new(Job {
            cancel: AtomicBool::new(false),
            state: Mutex::new(json!({ "id": id, "state": "running", "events": 0, "warm_up_events": 0 })),
            draft: draft_id,
            report: Mutex::new(None),
        });
        self.jobs.lock().insert(id, job.clone());
        tokio::spawn(async move {
            let progress_job = job.clone();
            let result = backtest(
                pipeline.store().as_ref(),
                (&live, &draft),
                (from, to),
                &job.cancel,
                |p| {
                    let mut s = progress_job.state.lock();
                    s["events"] = json!(p.events);
                    s["warm_up_events"] = json!(p.warm_up_events);
                    s["at"] = json!(p.at.to_rfc3339());
                },
                |_, _, _| {},
            )
            .await;
            let mut s = job.state.lock();
            match result {
                Ok(report) => {
                    s["state"] = json!(if report.cancelled { "cancelled" } else { "done" });
                    s["events"] = json!(report.events);
                    s["warm_up_events"] = json!(report.warm_up_events);
                    s["report"] = report_json(&report);
                    *job.report.lock() = Some(report);
                }
                Err(error) => {
                    tracing::error!(%error, backtest = id, "backtest failed");
                    s["state"] = json!("failed");
                }
            }
        });
        Ok(id)
    }

    /// Job `id` as the console shows it, if this process runs or ran it.
    pub(crate) fn view(&self, id: u64) -> Option<JobView> {
        let job = self.jobs.lock().get(&id).cloned()?;
        let state = job.state.lock().clone();
        let report = job.report.lock().clone();
        Some(JobView { state, draft: job.draft, report })
    }
}

pub(crate) async fn start(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: Request = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("$", format!("not a valid backtest request: {e}")))?;
    let mut problems = Vec::new();
    let from = instant("from", &request.from, &mut problems);
    let to = instant("to", &request.to, &mut problems);
    let (Some(from), Some(to)) = (from, to) else { return Err(ApiError::Invalid(problems)) };
    if from >= to {
        return Err(ApiError::invalid("to", "must come after from"));
    }
    let id = state.backtests.start(state.pipeline.clone(), (from, to), request.draft).await?;
    let location = format!("/v1/backtests/{id}");
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(json!({ "id": id, "state": "running" })))
        .into_response())
}

fn job(state: &AppState, id: u64) -> Result<Arc<Job>, ApiError> {
    state
        .backtests
        .jobs
        .lock()
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no backtest {id}")))
}

pub(crate) async fn status(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(job(&state, id)?.state.lock().clone()))
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    job(&state, id)?.cancel.store(true, Ordering::Relaxed);
    Ok(StatusCode::ACCEPTED)
}
