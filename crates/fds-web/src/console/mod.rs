//! The analyst console: server-rendered pages (askama templates in `web/templates/`)
//! for the business team only, mounted under `/console` beside the API.
//!
//! Code map: `routes.rs` (the route table: every route declares its [`Access`];
//! undeclared routes fail closed), `permission.rs` (roles → permissions),
//! `session.rs` (cookie sessions, timeouts, the guard, CSRF), `auth.rs` (login,
//! lockout, TOTP enrolment and checks, logout), `password.rs` (argon2id), `totp.rs`
//! (RFC 6238), `headers.rs` (security headers), `i18n.rs` (every label in Korean and
//! English), `pages/` (one handler module per page, with its template struct),
//! `assets.rs` (the static files, compiled into the binary). Data comes from the
//! store's methods and the pipeline (labels, block releases); no SQL here.

mod assets;
mod auth;
mod headers;
mod i18n;
mod pages;
pub(crate) mod password;
mod permission;
mod routes;
mod session;
mod totp;

pub use password::{generate_password, hash_password, PasswordError, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

use fds_pipeline::Pipeline;
use fds_store::Store;
use permission::{Access, Permission};
use routes::Routes;
use std::sync::Arc;
use std::time::Duration;

/// The console's settings, already validated by the caller.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// Mark cookies `Secure`: the console is served over TLS or behind a TLS proxy.
    pub secure_cookies: bool,
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after its login, however active.
    pub absolute_timeout: Duration,
    /// Failed logins in a row that lock an account.
    pub lock_after: u32,
    /// How long a lockout lasts.
    pub lock_for: Duration,
    /// The process's effective configuration as (key, value) lines for the settings
    /// page, secrets already hidden by the caller (`fds serve` fills it).
    pub settings: Vec<(String, String)>,
}

impl Default for ConsoleConfig {
    /// Plain cookies (local use), 30 minutes idle, 12 hours at most, 5 failures
    /// lock for 15 minutes.
    fn default() -> Self {
        ConsoleConfig {
            secure_cookies: false,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            lock_after: 5,
            lock_for: Duration::from_secs(15 * 60),
            settings: Vec::new(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct ConsoleState {
    pipeline: Arc<Pipeline>,
    config: Arc<ConsoleConfig>,
    /// The backtest jobs, shared with `/v1/backtests` when both are served.
    backtests: Arc<crate::backtests::Backtests>,
    /// The API's keys: the API keys page reloads the stored ones after a change.
    api_keys: crate::ApiKeys,
}

impl ConsoleState {
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        self.pipeline.store()
    }

    pub(crate) fn now(&self) -> fds_core::Timestamp {
        self.pipeline.clock().now()
    }
}

/// The console's routes, to be merged at the root (all paths start `/console`).
pub fn console_router(pipeline: Arc<Pipeline>, config: ConsoleConfig) -> axum::Router {
    console_router_with(pipeline, config, Arc::default(), crate::ApiKeys::default())
}

/// As [`console_router`], with the backtest jobs the API serves too.
pub(crate) fn console_router_with(
    pipeline: Arc<Pipeline>,
    config: ConsoleConfig,
    backtests: Arc<crate::backtests::Backtests>,
    api_keys: crate::ApiKeys,
) -> axum::Router {
    routes(ConsoleState { pipeline, config: Arc::new(config), backtests, api_keys }).into_router()
}

/// Every console route with the access it needs.
fn routes(state: ConsoleState) -> Routes {
    use Permission::*;
    Routes::new(state)
        .get("/console/static/{file}", Access::Public, assets::serve)
        .get("/console/login", Access::Public, auth::login_form)
        .post("/console/login", Access::Public, auth::login)
        .get("/console/totp", Access::SecondFactor, auth::totp_form)
        .post("/console/totp", Access::SecondFactor, auth::totp)
        .get("/console/enrol", Access::SecondFactor, auth::enrol_form)
        .post("/console/enrol", Access::SecondFactor, auth::enrol)
        .post("/console/logout", Access::Needs(OwnAccount), auth::logout)
        .post("/console/logout-everywhere", Access::Needs(OwnAccount), auth::logout_everywhere)
        .post("/console/language", Access::Needs(OwnAccount), auth::language)
        .get("/console", Access::Needs(ViewDashboard), pages::home)
        .get("/console/", Access::Needs(ViewDashboard), pages::home)
        .get("/console/dashboard", Access::Needs(ViewDashboard), pages::dashboard::page)
        .get("/console/rules", Access::Needs(ViewRules), pages::rules::page)
        .get("/console/rules/drafts/new", Access::Needs(EditRules), pages::drafts::new_form)
        .post("/console/rules/drafts", Access::Needs(EditRules), pages::drafts::create)
        .get("/console/rules/drafts/{change_id}", Access::Needs(ViewRules), pages::drafts::page)
        .get("/console/rules/drafts/{change_id}/edit", Access::Needs(EditRules), pages::drafts::edit_form)
        .post("/console/rules/drafts/{change_id}/files", Access::Needs(EditRules), pages::drafts::save_file)
        .post("/console/rules/drafts/{change_id}/shadow", Access::Needs(EditRules), pages::drafts::shadow)
        .post("/console/rules/drafts/{change_id}/withdraw", Access::Needs(EditRules), pages::drafts::withdraw)
        .post("/console/rules/drafts/{change_id}/backtest", Access::Needs(EditRules), pages::drafts::backtest)
        .post(
            "/console/rules/drafts/{change_id}/publish",
            Access::Needs(PublishRules),
            pages::drafts::publish,
        )
        .get("/console/rules/backtests/{job}", Access::Needs(ViewRules), pages::drafts::backtest_page)
        .get("/console/rules/versions/{version}", Access::Needs(ViewRules), pages::drafts::version)
        .get("/console/rules/suppressions", Access::Needs(ViewRules), pages::suppressions::page)
        .post("/console/rules/suppressions", Access::Needs(Suppress), pages::suppressions::add)
        .post("/console/rules/suppressions/{id}/lift", Access::Needs(Suppress), pages::suppressions::lift)
        .get("/console/models", Access::Needs(ViewRules), pages::models::page)
        .post("/console/models/{version}/promote", Access::Needs(PromoteModels), pages::models::promote)
        .get("/console/queue", Access::Needs(ViewCases), pages::cases::queue)
        .post("/console/queue/bulk", Access::Needs(ActOnCases), pages::cases::bulk)
        .get("/console/cases/{event_id}", Access::Needs(ViewCases), pages::cases::case)
        .post("/console/cases/{event_id}/reveal", Access::Needs(RevealPii), pages::cases::reveal)
        .post("/console/cases/{event_id}/outcome", Access::Needs(ActOnCases), pages::cases::outcome)
        .post("/console/cases/{event_id}/escalate", Access::Needs(ActOnCases), pages::cases::escalate)
        .get("/console/subscribers", Access::Needs(ViewCases), pages::subscriber::form)
        .post("/console/subscribers", Access::Needs(ViewCases), pages::subscriber::search)
        .get("/console/subscribers/{reference}", Access::Needs(ViewCases), pages::subscriber::page)
        .post(
            "/console/subscribers/{reference}/notes",
            Access::Needs(ActOnCases),
            pages::subscriber::add_note,
        )
        .get("/console/blocks", Access::Needs(ViewBlocks), pages::blocks::page)
        .get("/console/blocks.csv", Access::Needs(ViewBlocks), pages::blocks::csv)
        .post("/console/blocks/{block_id}/release", Access::Needs(ReleaseBlocks), pages::blocks::release)
        .post(
            "/console/blocks/requests/{request_id}/{verdict}",
            Access::Needs(ReleaseBlocks),
            pages::blocks::decide,
        )
        .get("/console/audit", Access::Needs(ViewAudit), pages::audit::page)
        .get("/console/audit/verify", Access::Needs(ViewAudit), pages::audit::verify)
        .get("/console/admin/users", Access::Needs(ManageUsers), pages::users::page)
        .post("/console/admin/users", Access::Needs(ManageUsers), pages::users::create)
        .post("/console/admin/users/{login}/{change}", Access::Needs(ManageUsers), pages::users::change)
        .get("/console/admin/api-keys", Access::Needs(ManageApiKeys), pages::api_keys::page)
        .post("/console/admin/api-keys", Access::Needs(ManageApiKeys), pages::api_keys::create)
        .post(
            "/console/admin/api-keys/{key_id}/revoke",
            Access::Needs(ManageApiKeys),
            pages::api_keys::revoke,
        )
        .get("/console/admin/settings", Access::Needs(ManageApiKeys), pages::settings::page)
        .get("/console/{*rest}", Access::Public, pages::not_found)
}

#[cfg(test)]
mod tests;
