//! Rule authoring: the draft editor (a rule, fixture or list file of the pack, with
//! a syntax check and a fixture run of the whole pack before anything is saved), a
//! draft's page (its files as diffs against the live pack, the check, what it did in
//! shadow, the shadow switch, a backtest, withdraw and publish), and the backtest's
//! progress and result table. Everything goes through the store's rule lifecycle
//! (drafts, shadow, the four-eyes publish; each audited by the store) and the
//! pipeline's rulebook (the same checks as `fds rules publish`); backtests are the
//! jobs of `/v1/backtests`.
//!
//! Rule builders write drafts and backtest them; publishers publish — never their own
//! draft: the page says so, and the store refuses it whatever the form says.

use super::{render, when, Chrome};
use crate::console::i18n::{tr, Tr};
use crate::console::permission::Permission;
use crate::console::session::{redirect, Current};
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use chrono::NaiveDate;
use fds_core::Action;
use fds_pipeline::rulebook::{self, RulebookError};
use fds_pipeline::Pipeline;
use fds_rules::{PackFiles, RulePack};
use fds_scoring::{fixtures, Scorer};
use fds_store::{ChangeState, ChangedFile, StoreError};
use serde::Deserialize;
use std::sync::Arc;

/// Longest file the editor takes (the store keeps files whole; rules are small).
const MAX_FILE_BYTES: usize = 64 * 1024;
/// Default backtest window, days back from today.
const BACKTEST_DAYS: i64 = 7;

/// One fixture case and how it went.
pub(crate) struct FixtureRow {
    rule_id: String,
    case: String,
    passed: bool,
    why: String,
}

/// The syntax check and fixture run of a whole pack.
pub(crate) struct CheckView {
    ok: bool,
    /// Compile errors and missing fixtures, each with its file.
    problems: Vec<String>,
    rules: usize,
    fixtures: Vec<FixtureRow>,
}

impl CheckView {
    fn failed(&self) -> usize {
        self.fixtures.iter().filter(|f| !f.passed).count()
    }
}

/// Compiles `files` against the live features and runs every fixture: the checks
/// `rulebook::check` makes before a publish, kept case by case for the page.
pub(crate) fn check_files(files: &PackFiles, scorer: &Scorer) -> CheckView {
    let features = scorer.features();
    match RulePack::from_files(files, features.names(), features.utc_offset()) {
        Err(e) => CheckView { ok: false, problems: e.problems, rules: 0, fixtures: Vec::new() },
        Ok(pack) => {
            let report = fixtures::run_fixtures_in(files, &pack, features);
            CheckView {
                ok: report.is_ok(),
                rules: pack.rules().len(),
                fixtures: report
                    .results
                    .iter()
                    .map(|r| FixtureRow {
                        rule_id: r.rule_id.clone(),
                        case: r.case.clone(),
                        passed: r.outcome.is_ok(),
                        why: r.outcome.clone().err().unwrap_or_default(),
                    })
                    .collect(),
                problems: report.problems,
            }
        }
    }
}

/// The live version's number and files (version 0 and no files before the seed).
async fn live_files(state: &ConsoleState) -> Result<(u64, PackFiles), StoreError> {
    let store = state.store();
    let head = store.rule_pack_versions(1).await?.first().map_or(0, |v| v.version);
    Ok((head, store.rule_pack_files(head).await?))
}

fn store_error(lang: fds_store::Language, error: StoreError) -> Response {
    match error {
        StoreError::Refused(why) => super::bad_request(lang, &why),
        other => super::internal(lang, other),
    }
}

/// A draft's number from the path.
fn parse_id(text: &str) -> Option<i64> {
    text.parse::<i64>().ok()
}

fn bad_id(lang: fds_store::Language) -> Response {
    super::bad_request(lang, "the draft number must be a number")
}

// ---- the editor ----

#[derive(Template)]
#[template(path = "draft_edit.html")]
struct EditorPage {
    chrome: Chrome,
    /// The draft being edited; `None` for a new draft.
    change_id: Option<i64>,
    title: String,
    path: String,
    body: String,
    remove: bool,
    head: u64,
    /// The live pack's files, to pick one to start from.
    live_paths: Vec<String>,
    check: Option<CheckView>,
    message: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct PathQuery {
    path: Option<String>,
}

/// `GET /console/rules/drafts/new?path=`: a new draft, starting from the live file
/// at `path` (a rule, a fixture or a list) or from an empty rule.
pub(crate) async fn new_form(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Query(query): Query<PathQuery>,
) -> Response {
    let lang = current.lang();
    let (head, live) = match live_files(&state).await {
        Ok(found) => found,
        Err(e) => return super::internal(lang, e),
    };
    let path = query.path.unwrap_or_default();
    let body = live.get(&path).map(str::to_string).unwrap_or_else(|| {
        if path.is_empty() || path.ends_with(fds_rules::RULE_SUFFIX) {
            RULE_TEMPLATE.to_string()
        } else {
            String::new()
        }
    });
    let page = EditorPage {
        chrome: Chrome::new(&current, "/console/rules/drafts/new"),
        change_id: None,
        title: String::new(),
        path,
        body,
        remove: false,
        head,
        live_paths: live.iter().map(|(p, _)| p.to_string()).collect(),
        check: None,
        message: (head == 0).then(|| tr(lang).no_pack_yet.to_string()),
    };
    render(&page, lang)
}

/// What a new rule starts as: the header every rule carries.
const RULE_TEMPLATE: &str =
    "// id: \n// name: \n// family: carrier_billing_abuse\n// action: review\n// score: 40\n\
// events: payment\n// description: \n";

/// `GET /console/rules/drafts/{change_id}/edit?path=`: one file of a draft (its own
/// version if it writes the file, else the live one).
pub(crate) async fn edit_form(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(change_id): Path<String>,
    Query(query): Query<PathQuery>,
) -> Response {
    let lang = current.lang();
    let Some(change_id) = parse_id(&change_id) else { return bad_id(lang) };
    let change = match state.store().rule_change(change_id).await {
        Ok(Some(change)) => change,
        Ok(None) => return super::error_page(lang, super::Page::NotFound, StatusCode::NOT_FOUND),
        Err(e) => return super::internal(lang, e),
    };
    let (head, live) = match live_files(&state).await {
        Ok(found) => found,
        Err(e) => return super::internal(lang, e),
    };
    let path = query.path.unwrap_or_default();
    let own = change.files.iter().find(|f| f.path == path);
    let (body, remove) = match own {
        Some(ChangedFile { body: Some(body), .. }) => (body.clone(), false),
        Some(ChangedFile { body: None, .. }) => (live.get(&path).unwrap_or_default().to_string(), true),
        None => (live.get(&path).unwrap_or_default().to_string(), false),
    };
    let page = EditorPage {
        chrome: Chrome::new(&current, format!("/console/rules/drafts/{change_id}")),
        change_id: Some(change_id),
        title: change.title,
        path,
        body,
        remove,
        head,
        live_paths: live.iter().map(|(p, _)| p.to_string()).collect(),
        check: None,
        message: None,
    };
    render(&page, lang)
}

#[derive(Deserialize)]
pub(crate) struct EditForm {
    #[serde(default)]
    title: String,
    path: String,
    #[serde(default)]
    body: String,
    /// "on" to remove the file from the pack.
    remove: Option<String>,
    /// `check` (run the checks, save nothing) or `save`.
    #[serde(rename = "do")]
    step: String,
}

impl EditForm {
    /// The file as the draft writes it, after checking the form.
    fn file(&self) -> Result<ChangedFile, String> {
        let path = self.path.trim().to_string();
        PackFiles::kind(&path)?;
        if self.remove.is_some() {
            return Ok(ChangedFile { path, body: None });
        }
        if self.body.len() > MAX_FILE_BYTES {
            return Err(format!("the file is longer than {} KiB", MAX_FILE_BYTES / 1024));
        }
        // Browsers send CRLF line ends from a textarea; the pack keeps LF.
        let mut body = self.body.replace("\r\n", "\n");
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Ok(ChangedFile { path, body: Some(body) })
    }
}

/// The editor again with the form's content, the check and a message.
fn editor_again(
    current: &Current,
    change_id: Option<i64>,
    form: &EditForm,
    (head, live): (u64, &PackFiles),
    check: Option<CheckView>,
    message: Option<String>,
) -> Response {
    let here = match change_id {
        Some(id) => format!("/console/rules/drafts/{id}"),
        None => "/console/rules/drafts/new".to_string(),
    };
    let page = EditorPage {
        chrome: Chrome::new(current, here),
        change_id,
        title: form.title.clone(),
        path: form.path.clone(),
        body: form.body.clone(),
        remove: form.remove.is_some(),
        head,
        live_paths: live.iter().map(|(p, _)| p.to_string()).collect(),
        check,
        message,
    };
    // A refused file is a bad request; a check, whatever it found, is an answer.
    let status = if page.message.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    (status, render(&page, current.lang())).into_response()
}

/// Applies `files` to `base` for a check.
fn applied(base: &PackFiles, files: &[ChangedFile]) -> Result<PackFiles, String> {
    let mut out = base.clone();
    for file in files {
        match &file.body {
            Some(body) => out.insert(file.path.clone(), body.clone())?,
            None => {
                out.remove(&file.path);
            }
        }
    }
    Ok(out)
}

/// `POST /console/rules/drafts`: check the file against the live pack (`do=check`)
/// or open a new draft with it (`do=save`).
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Form(form): Form<EditForm>,
) -> Response {
    let lang = current.lang();
    let (head, live) = match live_files(&state).await {
        Ok(found) => found,
        Err(e) => return super::internal(lang, e),
    };
    if head == 0 {
        return super::bad_request(lang, tr(lang).no_pack_yet);
    }
    let file = match form.file() {
        Ok(file) => file,
        Err(why) => return editor_again(&current, None, &form, (head, &live), None, Some(why)),
    };
    let scorer = state.pipeline.scorer();
    if form.step == "check" {
        let check = match applied(&live, std::slice::from_ref(&file)) {
            Ok(files) => check_files(&files, &scorer),
            Err(why) => return editor_again(&current, None, &form, (head, &live), None, Some(why)),
        };
        return editor_again(&current, None, &form, (head, &live), Some(check), None);
    }
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        let why = "a draft needs a title of at most 200 characters".to_string();
        return editor_again(&current, None, &form, (head, &live), None, Some(why));
    }
    match state.store().create_rule_change(title, &current.user.login, head, &[file], state.now()).await {
        Ok(change) => redirect(&format!("/console/rules/drafts/{}", change.change_id)),
        Err(StoreError::Refused(why)) => editor_again(&current, None, &form, (head, &live), None, Some(why)),
        Err(e) => super::internal(lang, e),
    }
}

/// `POST /console/rules/drafts/{change_id}/files`: check the draft with this file
/// (`do=check`) or write it into the draft (`do=save`; only the author may).
pub(crate) async fn save_file(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(change_id): Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    let lang = current.lang();
    let Some(change_id) = parse_id(&change_id) else { return bad_id(lang) };
    let change = match state.store().rule_change(change_id).await {
        Ok(Some(change)) => change,
        Ok(None) => return super::error_page(lang, super::Page::NotFound, StatusCode::NOT_FOUND),
        Err(e) => return super::internal(lang, e),
    };
    let (head, live) = match live_files(&state).await {
        Ok(found) => found,
        Err(e) => return super::internal(lang, e),
    };
    let id = Some(change_id);
    let file = match form.file() {
        Ok(file) => file,
        Err(why) => return editor_again(&current, id, &form, (head, &live), None, Some(why)),
    };
    // The draft's files with this one written over its earlier version.
    let mut files: Vec<ChangedFile> = change.files.iter().filter(|f| f.path != file.path).cloned().collect();
    files.push(file);
    if form.step == "check" {
        let check = match applied(&live, &files) {
            Ok(all) => check_files(&all, &state.pipeline.scorer()),
            Err(why) => return editor_again(&current, id, &form, (head, &live), None, Some(why)),
        };
        return editor_again(&current, id, &form, (head, &live), Some(check), None);
    }
    match state.store().update_rule_change(change_id, &current.user.login, &files, state.now()).await {
        Ok(_) => redirect(&format!("/console/rules/drafts/{change_id}")),
        Err(StoreError::Refused(why)) => editor_again(&current, id, &form, (head, &live), None, Some(why)),
        Err(e) => super::internal(lang, e),
    }
}

// ---- a draft's page ----

pub(crate) struct FileDiff {
    path: String,
    removed: bool,
    diff: String,
}

pub(crate) struct ShadowRow {
    rule_id: String,
    hits: u64,
    overlap: u64,
}

#[derive(Template)]
#[template(path = "draft.html")]
struct DraftPage {
    chrome: Chrome,
    change_id: i64,
    title: String,
    author: String,
    state: &'static str,
    shadow: bool,
    base_version: u64,
    head: u64,
    created_at: String,
    updated_at: String,
    closed: Option<String>,
    files: Vec<FileDiff>,
    check: Option<CheckView>,
    /// Events evaluated in shadow and decisions the draft would have changed.
    shadow_total: Option<(u64, u64)>,
    shadow_rules: Vec<ShadowRow>,
    /// The reader wrote this draft and may edit it.
    can_edit: bool,
    can_backtest: bool,
    can_publish: bool,
    /// Why the reader cannot publish it now, if a publisher.
    publish_blocked: Option<&'static str>,
    backtest_from: String,
    backtest_to: String,
    message: Option<(bool, String)>,
}

/// Renders draft `change_id`'s page with an optional message (`true`: success).
async fn draft_page(
    state: &ConsoleState,
    current: &Current,
    change_id: i64,
    message: Option<(bool, String)>,
    status: StatusCode,
) -> Response {
    let lang = current.lang();
    let t = tr(lang);
    let change = match state.store().rule_change(change_id).await {
        Ok(Some(change)) => change,
        Ok(None) => return super::error_page(lang, super::Page::NotFound, StatusCode::NOT_FOUND),
        Err(e) => return super::internal(lang, e),
    };
    let (head, live) = match live_files(state).await {
        Ok(found) => found,
        Err(e) => return super::internal(lang, e),
    };
    let is_draft = change.state == ChangeState::Draft;
    // A draft is shown and checked against the live pack (what publishing makes
    // live); a closed change against the version it was made from.
    let base = if is_draft {
        live.clone()
    } else {
        match state.store().rule_pack_files(change.base_version).await {
            Ok(files) => files,
            Err(e) => return super::internal(lang, e),
        }
    };
    let after = match change.apply_to(&base) {
        Ok(after) => after,
        Err(why) => return super::bad_request(lang, &why),
    };
    let files = base
        .changes_to(&after)
        .iter()
        .map(|c| FileDiff { path: c.path.to_string(), removed: c.after.is_none(), diff: c.unified_diff() })
        .collect();
    let check = is_draft.then(|| check_files(&after, &state.pipeline.scorer()));
    let tallies = match state.store().shadow_tallies(change_id).await {
        Ok(t) => t,
        Err(e) => return super::internal(lang, e),
    };
    let shadow_total = tallies.iter().find(|t| t.rule_id.is_empty()).map(|t| (t.evaluated, t.changed));
    let shadow_rules = tallies
        .iter()
        .filter(|t| !t.rule_id.is_empty())
        .map(|t| ShadowRow { rule_id: t.rule_id.clone(), hits: t.hits, overlap: t.overlap })
        .collect();
    let own = change.author == current.user.login;
    let can_publish = is_draft && current.can(Permission::PublishRules);
    let publish_blocked = if !can_publish {
        None
    } else if own {
        Some(t.publish_not_own)
    } else if !check.as_ref().is_some_and(|c| c.ok) {
        Some(t.publish_check_fails)
    } else {
        None
    };
    let today = state.now().date_naive();
    let closed = match (&change.closed_by, change.closed_at) {
        (Some(by), Some(at)) => Some(format!(
            "{} {by}, {}{}",
            change.state.as_str(),
            when(at),
            change.published_version.map(|v| format!(" (v{v})")).unwrap_or_default()
        )),
        _ => None,
    };
    let page = DraftPage {
        chrome: Chrome::new(current, format!("/console/rules/drafts/{change_id}")),
        change_id,
        title: change.title.clone(),
        author: change.author.clone(),
        state: state_label(t, change.state),
        shadow: change.shadow,
        base_version: change.base_version,
        head,
        created_at: when(change.created_at),
        updated_at: when(change.updated_at),
        closed,
        files,
        check,
        shadow_total,
        shadow_rules,
        can_edit: is_draft && own && current.can(Permission::EditRules),
        can_backtest: is_draft && current.can(Permission::EditRules),
        can_publish,
        publish_blocked,
        backtest_from: (today - chrono::Duration::days(BACKTEST_DAYS)).to_string(),
        backtest_to: today.to_string(),
        message,
    };
    (status, render(&page, lang)).into_response()
}

fn state_label(t: &Tr, state: ChangeState) -> &'static str {
    match state {
        ChangeState::Draft => t.state_draft,
        ChangeState::Published => t.state_published,
        ChangeState::Withdrawn => t.state_withdrawn,
    }
}

/// `GET /console/rules/drafts/{change_id}`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(change_id): Path<String>,
) -> Response {
    match parse_id(&change_id) {
        Some(id) => draft_page(&state, &current, id, None, StatusCode::OK).await,
        None => bad_id(current.lang()),
    }
}

#[derive(Deserialize)]
pub(crate) struct ShadowForm {
    /// `on` or `off`.
    shadow: String,
}

/// `POST /console/rules/drafts/{change_id}/shadow`: run the draft in shadow on live
/// traffic (counted, never acted on), or stop.
pub(crate) async fn shadow(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(change_id): Path<String>,
    Form(form): Form<ShadowForm>,
) -> Response {
    let lang = current.lang();
    let Some(change_id) = parse_id(&change_id) else { return bad_id(lang) };
    let on = match form.shadow.as_str() {
        "on" => true,
        "off" => false,
        _ => return super::bad_request(lang, "shadow must be on or off"),
    };
    match state.store().set_rule_change_shadow(change_id, &current.user.login, on, state.now()).await {
        Ok(_) => {
            // This process starts (or stops) the shadow now; the others at their next poll.
            if let Err(e) = state.pipeline.reload_rules().await {
                tracing::error!(error = %e, "reloading the rules after a shadow switch failed");
            }
            redirect(&format!("/console/rules/drafts/{change_id}"))
        }
        Err(StoreError::Refused(why)) => {
            draft_page(&state, &current, change_id, Some((false, why)), StatusCode::CONFLICT).await
        }
        Err(e) => store_error(lang, e),
    }
}

/// `POST /console/rules/drafts/{change_id}/withdraw` (the author only; the store checks).
pub(crate) async fn withdraw(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(change_id): Path<String>,
) -> Response {
    let lang = current.lang();
    let Some(change_id) = parse_id(&change_id) else { return bad_id(lang) };
    match state.store().withdraw_rule_change(change_id, &current.user.login, state.now()).await {
        Ok(_) => redirect(&format!("/console/rules/drafts/{change_id}")),
        Err(StoreError::Refused(why)) => {
            draft_page(&state, &current, change_id, Some((false, why)), StatusCode::CONFLICT).await
        }
        Err(e) => store_error(lang, e),
    }
}

/// `POST /console/rules/drafts/{change_id}/publish`: the publisher's step, through
/// `rulebook::publish` (the pack with the draft must compile and pass every
/// fixture; the store refuses the draft's author and a live version that moved).
pub(crate) async fn publish(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(change_id): Path<String>,
) -> Response {
    let lang = current.lang();
    let Some(change_id) = parse_id(&change_id) else { return bad_id(lang) };
    let pipeline: &Arc<Pipeline> = &state.pipeline;
    let scorer = pipeline.scorer();
    let result = rulebook::publish(
        state.store().as_ref(),
        change_id,
        &current.user.login,
        scorer.features(),
        state.now(),
    )
    .await;
    match result {
        Ok(version) => {
            // This process picks the new pack up now; the others at their next poll.
            if let Err(e) = pipeline.reload_rules().await {
                tracing::error!(error = %e, "reloading the rules after a publish failed");
            }
            let text = format!("{} {}", tr(lang).published_as, version.label());
            draft_page(&state, &current, change_id, Some((true, text)), StatusCode::OK).await
        }
        Err(RulebookError::Store(StoreError::Refused(why))) => {
            draft_page(&state, &current, change_id, Some((false, why)), StatusCode::CONFLICT).await
        }
        Err(RulebookError::Problems(problems)) => {
            let why = problems.join("; ");
            draft_page(&state, &current, change_id, Some((false, why)), StatusCode::CONFLICT).await
        }
        Err(RulebookError::NotFound(_)) => {
            super::error_page(lang, super::Page::NotFound, StatusCode::NOT_FOUND)
        }
        Err(RulebookError::Store(e)) => super::internal(lang, e),
    }
}

// ---- backtests ----

#[derive(Deserialize)]
pub(crate) struct BacktestForm {
    from: String,
    to: String,
}

fn day(text: &str, what: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{what} must be a date YYYY-MM-DD"))
}

/// `POST /console/rules/drafts/{change_id}/backtest`: replay `[from, to]` (whole UTC
/// days) with the live pack and the draft, as a job; its page shows the progress.
pub(crate) async fn backtest(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(change_id): Path<String>,
    Form(form): Form<BacktestForm>,
) -> Response {
    let lang = current.lang();
    let Some(change_id) = parse_id(&change_id) else { return bad_id(lang) };
    let (from, to) = match (day(&form.from, "from"), day(&form.to, "to")) {
        (Ok(from), Ok(to)) if from <= to => (from, to),
        (Err(e), _) | (_, Err(e)) => return super::bad_request(lang, &e),
        _ => return super::bad_request(lang, "from must not be after to"),
    };
    let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let end = (to + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let (Some(start), Some(end)) = (start, end) else {
        return super::bad_request(lang, "the dates are out of range");
    };
    match state.backtests.start(state.pipeline.clone(), (start, end), Some(change_id)).await {
        Ok(job) => redirect(&format!("/console/rules/backtests/{job}")),
        Err(crate::backtests::StartError::NotFound(_)) => {
            super::error_page(lang, super::Page::NotFound, StatusCode::NOT_FOUND)
        }
        Err(crate::backtests::StartError::Problems(problems)) => {
            let why = problems.join("; ");
            draft_page(&state, &current, change_id, Some((false, why)), StatusCode::CONFLICT).await
        }
        Err(crate::backtests::StartError::Store(e)) => super::internal(lang, e),
    }
}

pub(crate) struct TransitionRow {
    live: &'static str,
    draft: &'static str,
    changed: bool,
    decisions: u64,
}

pub(crate) struct HitRow {
    rule_id: String,
    live: u64,
    draft: u64,
}

pub(crate) struct ReportView {
    changed: u64,
    newly_blocked: u64,
    released: u64,
    transitions: Vec<TransitionRow>,
    rule_hits: Vec<HitRow>,
    fraud: u64,
    legit: u64,
    caught_live: u64,
    caught_draft: u64,
    false_positives_live: u64,
    false_positives_draft: u64,
    events_per_second: String,
}

#[derive(Template)]
#[template(path = "backtest.html")]
struct BacktestPage {
    chrome: Chrome,
    job: u64,
    draft: Option<i64>,
    /// running, done, cancelled, failed
    state: String,
    running: bool,
    events: u64,
    warm_up_events: u64,
    at: String,
    report: Option<ReportView>,
}

/// `GET /console/rules/backtests/{job}`: the progress (the page reloads itself every
/// two seconds while the job runs), then the result table.
pub(crate) async fn backtest_page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(job): Path<String>,
) -> Response {
    let lang = current.lang();
    let t = tr(lang);
    let Ok(job) = job.parse::<u64>() else {
        return super::bad_request(lang, "the backtest number must be a number");
    };
    let Some(view) = state.backtests.view(job) else {
        return super::error_page(lang, super::Page::NotFound, StatusCode::NOT_FOUND);
    };
    let field = |name: &str| view.state.get(name).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let job_state =
        view.state.get("state").and_then(serde_json::Value::as_str).unwrap_or("failed").to_string();
    let label = |a: Action| super::action_label(t, a);
    let report = view.report.as_ref().map(|r| ReportView {
        changed: r.changed(),
        newly_blocked: r.newly_blocked,
        released: r.released,
        transitions: r
            .transitions
            .iter()
            .map(|((live, draft), n)| TransitionRow {
                live: label(*live),
                draft: label(*draft),
                changed: live != draft,
                decisions: *n,
            })
            .collect(),
        rule_hits: r
            .rule_hits
            .iter()
            .map(|(id, (live, draft))| HitRow { rule_id: id.clone(), live: *live, draft: *draft })
            .collect(),
        fraud: r.labels.fraud,
        legit: r.labels.legit,
        caught_live: r.labels.caught_live,
        caught_draft: r.labels.caught_draft,
        false_positives_live: r.labels.false_positives_live,
        false_positives_draft: r.labels.false_positives_draft,
        events_per_second: format!("{:.0}", r.events_per_second()),
    });
    let running = job_state == "running";
    let mut chrome = Chrome::new(&current, format!("/console/rules/backtests/{job}"));
    if running {
        chrome.refresh = 2;
    }
    let page = BacktestPage {
        chrome,
        job,
        draft: view.draft,
        running,
        events: field("events"),
        warm_up_events: field("warm_up_events"),
        at: view.state.get("at").and_then(serde_json::Value::as_str).unwrap_or("").to_string(),
        state: job_state,
        report,
    };
    render(&page, lang)
}

// ---- version history ----

#[derive(Template)]
#[template(path = "rule_version.html")]
struct VersionPage {
    chrome: Chrome,
    version: u64,
    published_by: String,
    published_at: String,
    note: String,
    change_id: Option<i64>,
    label: String,
    files: Vec<FileDiff>,
}

/// `GET /console/rules/versions/{version}`: what version N changed, as diffs
/// against version N-1 (the seed against an empty pack).
pub(crate) async fn version(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(version): Path<String>,
) -> Response {
    let lang = current.lang();
    let Ok(number) = version.parse::<u64>() else {
        return super::bad_request(lang, "the version must be a number");
    };
    let store = state.store();
    let versions = match store.rule_pack_versions(u32::MAX).await {
        Ok(v) => v,
        Err(e) => return super::internal(lang, e),
    };
    let Some(found) = versions.into_iter().find(|v| v.version == number) else {
        return super::error_page(lang, super::Page::NotFound, StatusCode::NOT_FOUND);
    };
    let (before, after) =
        match (store.rule_pack_files(number.saturating_sub(1)).await, store.rule_pack_files(number).await) {
            (Ok(before), Ok(after)) => (before, after),
            (Err(e), _) | (_, Err(e)) => return super::internal(lang, e),
        };
    let files = before
        .changes_to(&after)
        .iter()
        .map(|c| FileDiff { path: c.path.to_string(), removed: c.after.is_none(), diff: c.unified_diff() })
        .collect();
    let page = VersionPage {
        chrome: Chrome::new(&current, format!("/console/rules/versions/{number}")),
        version: number,
        label: found.label(),
        published_by: found.published_by,
        published_at: when(found.published_at),
        note: found.note,
        change_id: found.change_id,
        files,
    };
    render(&page, lang)
}
