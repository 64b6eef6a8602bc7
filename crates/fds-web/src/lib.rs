//! The synchronous HTTP API payment systems call before they charge.
//!
//! This crate owns routing, API-key authentication, `application/problem+json`
//! errors, the request deadline policy, HTTP metrics and the OpenAPI document. It
//! turns requests into pipeline calls and back; it must never hold SQL or scoring
//! logic (those are `fds-store` and `fds-scoring`, reached through `fds-pipeline`).
//! The analyst console (`console/`) is mounted beside the API under `/console`:
//! server-rendered pages from the askama templates in `web/templates/`, with its own
//! accounts, sessions and role permissions (see `console/mod.rs`).

mod auth;
mod backtests;
pub mod console;
mod handlers;
mod http_metrics;
mod openapi;
mod problem;

pub use auth::{ApiKeys, STORED_KEYS_EVERY};
pub use problem::ApiError;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use fds_pipeline::Pipeline;
use fds_store::ApiScope;
use http_metrics::HttpMetrics;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// What `POST /v1/score` answers when no decision is ready within the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Degraded {
    /// Fail open: answer `allow` with `"degraded": true` (payments keep flowing).
    Allow,
    /// Fail closed: answer 503 so the caller applies its own policy.
    Error,
}

/// The API's settings, already validated by the caller.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    pub keys: ApiKeys,
    /// How long `POST /v1/score` may take before the degraded policy applies.
    pub deadline: Duration,
    pub on_deadline: Degraded,
}

#[derive(Clone)]
pub(crate) struct AppState {
    pipeline: Arc<Pipeline>,
    http: Arc<HttpMetrics>,
    deadline: Duration,
    on_deadline: Degraded,
    backtests: Arc<backtests::Backtests>,
}

/// The bound, not yet running, HTTP server.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and builds the routes.
    pub async fn build(config: ApiConfig, pipeline: Arc<Pipeline>) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.listen).await?;
        follow_stored_keys(&config.keys, &pipeline).await;
        Ok(Application { listener, router: router(config, pipeline) })
    }

    /// As [`Application::build`], with the analyst console mounted under `/console`.
    pub async fn build_with_console(
        config: ApiConfig,
        pipeline: Arc<Pipeline>,
        console: console::ConsoleConfig,
    ) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.listen).await?;
        // One set of backtest jobs: the console's rule pages and `/v1/backtests` see the same.
        let backtests = Arc::new(backtests::Backtests::default());
        // One set of keys: the console's API keys page changes what the API accepts.
        follow_stored_keys(&config.keys, &pipeline).await;
        let router =
            console::console_router_with(pipeline.clone(), console, backtests.clone(), config.keys.clone())
                .merge(router_with(config, pipeline, backtests));
        Ok(Application { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Binds `listen` for the operations endpoints alone ([`ops_router`]).
    pub async fn ops(
        listen: SocketAddr,
        pipeline: Arc<Pipeline>,
        extra: MetricsSource,
    ) -> std::io::Result<Application> {
        let listener = TcpListener::bind(listen).await?;
        Ok(Application { listener, router: ops_router(pipeline, extra) })
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await
    }
}

/// Loads the API keys made in the console now, then every [`STORED_KEYS_EVERY`]
/// until the pipeline is dropped.
async fn follow_stored_keys(keys: &ApiKeys, pipeline: &Arc<Pipeline>) {
    if let Err(error) = keys.load_stored(pipeline.store().as_ref()).await {
        tracing::error!(%error, "loading the stored API keys failed; the poll retries");
    }
    let (keys, pipeline) = (keys.clone(), Arc::downgrade(pipeline));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(STORED_KEYS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(pipeline) = pipeline.upgrade() else { break };
            if let Err(error) = keys.load_stored(pipeline.store().as_ref()).await {
                tracing::error!(%error, "reloading the stored API keys failed; the configured keys still work");
            }
        }
    });
}

/// Appends a process's own metrics to `/metrics`.
pub type MetricsSource = Arc<dyn Fn(&mut String) + Send + Sync>;

/// The operations endpoints alone — `/healthz`, `/readyz` (the store answers) and
/// `/metrics` (the pipeline's, then `extra`'s) — for a process that serves no API:
/// the Kafka worker's probes and scrape target.
pub fn ops_router(pipeline: Arc<Pipeline>, extra: MetricsSource) -> Router {
    let http = Arc::new(HttpMetrics::default());
    let state = AppState {
        pipeline,
        http,
        deadline: Duration::ZERO,
        on_deadline: Degraded::Error,
        backtests: Arc::default(),
    };
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route(
            "/metrics",
            get(move |State(state): State<AppState>| {
                let extra = extra.clone();
                async move {
                    let mut out = String::with_capacity(16 * 1024);
                    state.pipeline.render_metrics(&mut out);
                    extra(&mut out);
                    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
                }
            }),
        )
        .fallback(handlers::not_found)
        .with_state(state)
}

/// The API's routes over `pipeline`.
pub fn router(config: ApiConfig, pipeline: Arc<Pipeline>) -> Router {
    router_with(config, pipeline, Arc::default())
}

fn router_with(config: ApiConfig, pipeline: Arc<Pipeline>, backtests: Arc<backtests::Backtests>) -> Router {
    let http = Arc::new(HttpMetrics::default());
    let state = AppState {
        pipeline,
        http: http.clone(),
        deadline: config.deadline,
        on_deadline: config.on_deadline,
        backtests,
    };
    // Each route needs its scope: a configured key holds every scope, a key made in
    // the console only those it was given.
    let scoped = |scope| {
        middleware::from_fn_with_state(auth::Scoped { keys: config.keys.clone(), scope }, auth::require_key)
    };
    let api = Router::new()
        .route("/v1/score", post(handlers::score).route_layer(scoped(ApiScope::Score)))
        .route("/v1/blocks/{subscriber}", get(handlers::block).route_layer(scoped(ApiScope::Blocks)))
        .route("/v1/labels", post(handlers::label).route_layer(scoped(ApiScope::Labels)))
        .route("/v1/backtests", post(backtests::start).route_layer(scoped(ApiScope::Backtests)))
        .route(
            "/v1/backtests/{id}",
            get(backtests::status).delete(backtests::cancel).route_layer(scoped(ApiScope::Backtests)),
        );
    Router::new()
        .merge(api)
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .route("/openapi.json", get(handlers::openapi))
        .fallback(handlers::not_found)
        .with_state(state)
        // Bodies past 1 MiB are cut by axum; the event limit (64 KiB) is checked in
        // the handler so the client gets a problem+json answer.
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(middleware::from_fn_with_state(http, http_metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let path = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
            tracing::info_span!("request", method = %request.method(), path)
        }))
}
