//! The dashboard: decisions by action, block rate, events per minute, the review
//! queue's size, amounts blocked, top rules and families, and a server-drawn chart
//! of decisions over time, for the last 24 hours, 7 days or 30 days, and the models'
//! drift (the champions' largest latest PSI). Read from the
//! store's hourly rollups; the page reloads itself every minute.

use super::{render, when, Chrome};
use crate::console::session::Current;
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use fds_store::{Bucket, Tally};
use serde::Deserialize;

/// Rules listed on the dashboard.
const TOP_RULES: usize = 10;
/// Seconds between reloads of the page.
const REFRESH_SECONDS: u32 = 60;
/// Height of the chart's drawing area, in SVG units.
const CHART_HEIGHT: f64 = 140.0;

/// A dashboard window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    Day,
    Week,
    Month,
}

impl Window {
    fn parse(text: Option<&str>) -> Option<Window> {
        match text.unwrap_or("24h") {
            "24h" => Some(Window::Day),
            "7d" => Some(Window::Week),
            "30d" => Some(Window::Month),
            _ => None,
        }
    }

    fn duration(self) -> chrono::Duration {
        match self {
            Window::Day => chrono::Duration::hours(24),
            Window::Week => chrono::Duration::days(7),
            Window::Month => chrono::Duration::days(30),
        }
    }

    fn bucket(self) -> Bucket {
        match self {
            Window::Day => Bucket::Hour,
            Window::Week | Window::Month => Bucket::Day,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Window::Day => "24h",
            Window::Week => "7d",
            Window::Month => "30d",
        }
    }
}

/// One bar group of the chart.
pub(crate) struct Bar {
    pub(crate) start: String,
    pub(crate) x: f64,
    pub(crate) width: f64,
    /// (y, height) of the allow, review and block parts, stacked.
    pub(crate) allow: (f64, f64),
    pub(crate) review: (f64, f64),
    pub(crate) block: (f64, f64),
    pub(crate) tally: Tally,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    window: &'static str,
    total: Tally,
    block_rate: String,
    events_per_minute: String,
    queue_size: u64,
    top_rules: Vec<(String, u64, u64)>,
    families: Vec<(String, Tally)>,
    bars: Vec<Bar>,
    /// The champions' largest latest PSI and how many need retraining.
    drift: Option<(String, usize)>,
}

#[derive(Deserialize)]
pub(crate) struct DashboardQuery {
    window: Option<String>,
}

/// Every bucket of the window, oldest first, those without decisions as zero: the
/// chart's time axis is the window, not the busy part of it.
fn every_bucket(dashboard: &fds_store::Dashboard) -> Vec<(fds_core::Timestamp, Tally)> {
    use chrono::DurationRound;
    let step = match dashboard.bucket {
        Bucket::Hour => chrono::Duration::hours(1),
        Bucket::Day => chrono::Duration::days(1),
    };
    let counted: std::collections::BTreeMap<_, _> = dashboard.series.iter().copied().collect();
    let mut start = dashboard.from.duration_trunc(step).unwrap_or(dashboard.from);
    let mut out = Vec::new();
    while start < dashboard.to && out.len() < 1_000 {
        out.push((start, counted.get(&start).copied().unwrap_or_default()));
        start += step;
    }
    out
}

/// The chart's bars for a series, scaled to the busiest bucket.
fn bars(series: &[(fds_core::Timestamp, Tally)]) -> Vec<Bar> {
    let busiest = series.iter().map(|(_, t)| t.total()).max().unwrap_or(0).max(1) as f64;
    let width = 1000.0 / series.len().max(1) as f64;
    series
        .iter()
        .enumerate()
        .map(|(i, (start, tally))| {
            let h = |n: u64| n as f64 / busiest * CHART_HEIGHT;
            let (a, r, b) = (h(tally.decisions.allow), h(tally.decisions.review), h(tally.decisions.block));
            let base = CHART_HEIGHT + 10.0;
            Bar {
                start: when(*start),
                x: i as f64 * width,
                width: (width * 0.8).max(1.0),
                allow: (base - a, a),
                review: (base - a - r, r),
                block: (base - a - r - b, b),
                tally: *tally,
            }
        })
        .collect()
}

/// Decisions per minute over `[from, to)`, `from` widened to its UTC hour as the
/// rollups are (so the count and the span agree).
fn per_minute(decisions: u64, from: fds_core::Timestamp, to: fds_core::Timestamp) -> f64 {
    use chrono::DurationRound;
    let start = from.duration_trunc(chrono::Duration::hours(1)).unwrap_or(from);
    let minutes = (to - start).num_seconds() as f64 / 60.0;
    if minutes <= 0.0 {
        0.0
    } else {
        decisions as f64 / minutes
    }
}

/// `GET /console/dashboard?window=24h|7d|30d`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Query(query): Query<DashboardQuery>,
) -> Response {
    let lang = current.lang();
    let Some(window) = Window::parse(query.window.as_deref()) else {
        return super::bad_request(lang, "window must be one of 24h, 7d, 30d");
    };
    let store = state.store();
    let to = state.now();
    let from = to - window.duration();
    let dashboard = match store.dashboard(from, to, window.bucket()).await {
        Ok(d) => d,
        Err(e) => return super::internal(lang, e),
    };
    let last_hour = match store.dashboard(to - chrono::Duration::hours(1), to, Bucket::Hour).await {
        Ok(d) => d,
        Err(e) => return super::internal(lang, e),
    };
    let queue_size = match store.review_queue_size(from).await {
        Ok(n) => n,
        Err(e) => return super::internal(lang, e),
    };
    let hits = match store.rule_hits(from, to).await {
        Ok(h) => h,
        Err(e) => return super::internal(lang, e),
    };
    let mut top_rules: Vec<(String, u64, u64)> =
        hits.into_iter().map(|(rule, t)| (rule, t.total(), t.decisions.block)).collect();
    top_rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top_rules.truncate(TOP_RULES);
    let mut families: Vec<(String, Tally)> = dashboard.by_family.clone().into_iter().collect();
    families.sort_by(|a, b| b.1.total().cmp(&a.1.total()).then(a.0.cmp(&b.0)));
    let drift = match super::models::drift_tile(&state).await {
        Ok(d) => d,
        Err(e) => return super::internal(lang, e),
    };
    let mut chrome = Chrome::new(&current, format!("/console/dashboard?window={}", window.code()));
    chrome.refresh = REFRESH_SECONDS;
    let page = DashboardPage {
        chrome,
        window: window.code(),
        total: dashboard.total,
        block_rate: format!("{:.2} %", dashboard.total.block_rate() * 100.0),
        events_per_minute: format!("{:.2}", per_minute(last_hour.total.total(), last_hour.from, to)),
        queue_size,
        top_rules,
        families,
        bars: bars(&every_bucket(&dashboard)),
        drift,
    };
    render(&page, lang)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_chart_has_every_hour_of_the_window_with_counts_in_their_hour() {
        let at = |h: u32, m: u32| chrono::Utc.with_ymd_and_hms(2026, 11, 21, h, m, 0).unwrap();
        let mut busy = Tally::default();
        busy.decisions.block = 4;
        let dashboard = fds_store::Dashboard {
            from: at(0, 30),
            to: at(6, 10),
            bucket: Bucket::Hour,
            total: busy,
            by_event_type: Default::default(),
            by_family: Default::default(),
            series: vec![(at(3, 0), busy)],
        };

        let buckets = every_bucket(&dashboard);

        let starts: Vec<u32> = buckets.iter().map(|(t, _)| chrono::Timelike::hour(t)).collect();
        assert_eq!(starts, [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(buckets[3].1.decisions.block, 4);
        assert_eq!(buckets.iter().map(|(_, t)| t.total()).sum::<u64>(), 4);
        let drawn = bars(&buckets);
        assert_eq!(drawn[3].block.1, CHART_HEIGHT, "the busiest bucket is full height");
        assert_eq!(drawn[0].block.1, 0.0);
    }
}
