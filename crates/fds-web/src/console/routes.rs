//! The console's route table. Routes are added only through [`Routes::get`] and
//! [`Routes::post`], each with the [`Access`] it needs; the guard that checks it
//! wraps the handler itself. The guard marks each response it let through, and
//! [`Routes::into_router`] adds an outer check that turns any response without the
//! mark into a 500: a route added to the router any other way fails closed and is
//! found by the first request (and by the route-table test below).

use super::permission::Access;
use super::session;
use super::ConsoleState;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// One declared route: what the table test walks.
#[derive(Clone, Debug)]
pub(crate) struct Declared {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) access: Access,
}

/// Put in a response's extensions by the guard: the route declared its access.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Guarded;

/// The routes being built, with their table.
pub(crate) struct Routes {
    router: Router<ConsoleState>,
    table: Vec<Declared>,
    state: ConsoleState,
}

#[derive(Clone)]
struct GuardState {
    state: ConsoleState,
    access: Access,
}

impl Routes {
    pub(crate) fn new(state: ConsoleState) -> Routes {
        Routes { router: Router::new(), table: Vec::new(), state }
    }

    pub(crate) fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, ConsoleState>,
        T: 'static,
    {
        self.add(Method::GET, path, access, get(handler))
    }

    pub(crate) fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, ConsoleState>,
        T: 'static,
    {
        self.add(Method::POST, path, access, post(handler))
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        route: axum::routing::MethodRouter<ConsoleState>,
    ) -> Routes {
        let guard = GuardState { state: self.state.clone(), access };
        let route = route.layer(middleware::from_fn_with_state(guard, run_guard));
        self.router = self.router.route(path, route);
        self.table.push(Declared { method, path, access });
        self
    }

    /// The table of every route added.
    #[cfg(test)]
    pub(crate) fn table(&self) -> &[Declared] {
        &self.table
    }

    /// The router: the routes, the refusal of unguarded responses and the security
    /// headers on every response. It has no fallback, so it merges with the API's
    /// router; `routes()` declares a public catch-all under `/console/` instead.
    pub(crate) fn into_router(self) -> Router {
        for route in &self.table {
            tracing::debug!(method = %route.method, path = route.path, access = ?route.access, "console route");
        }
        self.router
            .layer(middleware::from_fn(refuse_unguarded))
            .layer(middleware::from_fn_with_state(
                super::headers::OverTls(self.state.config.secure_cookies),
                super::headers::security_headers,
            ))
            // One span per request, named by the matched route (never the raw path,
            // which may hold an event id).
            .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let path = request
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or("unmatched", axum::extract::MatchedPath::as_str);
                tracing::info_span!("console", method = %request.method(), path)
            }))
            .with_state(self.state)
    }

    /// The router being built, for a test that adds a route around the table.
    #[cfg(test)]
    pub(crate) fn router_mut(&mut self) -> &mut Router<ConsoleState> {
        &mut self.router
    }
}

async fn run_guard(State(guard): State<GuardState>, request: Request, next: Next) -> Response {
    let mut response = session::guard(&guard.state, guard.access, request, next).await;
    response.extensions_mut().insert(Guarded);
    response
}

/// Answers 500 for a response that no guard let through (the not-found page marks
/// its own): a route that declared no access never serves anything.
async fn refuse_unguarded(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if response.extensions().get::<Guarded>().is_some() {
        return response;
    }
    tracing::error!(path, "a console route without a declared permission was refused");
    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "route without a declared permission").into_response()
}
