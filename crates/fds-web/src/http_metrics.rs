//! Request counts and latencies per matched route (never the raw path: it may hold a
//! subscriber number).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use fds_pipeline::metrics::{header, label_value, Histogram, LabelledCounter, LATENCY_BOUNDS};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

#[derive(Default)]
pub(crate) struct HttpMetrics {
    requests: LabelledCounter,
    latency: RwLock<BTreeMap<String, Arc<Histogram>>>,
}

impl HttpMetrics {
    fn histogram(&self, route: &str) -> Arc<Histogram> {
        if let Some(h) = self.latency.read().get(route) {
            return h.clone();
        }
        self.latency
            .write()
            .entry(route.to_string())
            .or_insert_with(|| Arc::new(Histogram::new(LATENCY_BOUNDS)))
            .clone()
    }

    pub(crate) fn render(&self, out: &mut String) {
        header(out, "fds_http_requests_total", "counter", "HTTP requests by route and status.");
        for (key, n) in self.requests.snapshot() {
            let (route, status) = key.rsplit_once(' ').unwrap_or((key.as_str(), ""));
            out.push_str(&format!(
                "fds_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}\n",
                label_value(route)
            ));
        }
        header(out, "fds_http_request_duration_seconds", "histogram", "HTTP request latency by route.");
        for (route, h) in self.latency.read().iter() {
            h.render(out, "fds_http_request_duration_seconds", &format!("route=\"{}\"", label_value(route)));
        }
    }
}

pub(crate) async fn track(State(metrics): State<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.histogram(&route).observe(started.elapsed().as_secs_f64());
    metrics.requests.inc(&format!("{route} {}", response.status().as_u16()));
    response
}
