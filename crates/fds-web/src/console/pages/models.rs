//! The models page: every registered model with its kind, role, training window,
//! hold-out metrics, who trained it, and its latest daily drift (the largest PSI over
//! its inputs) with the needs-retraining mark; per kind with a challenger, the
//! champion / challenger comparison (their stored hold-out metrics side by side and
//! what each scored in shadow since the challenger started: events, mean score, the
//! PSI between the two score distributions, drawn as a server-side SVG histogram);
//! a drift chart per model (daily largest PSI, SVG); and, for publishers, promoting
//! the challenger (`Store::promote_model`, audited `model.promote`, as
//! `fds model promote` does). The comparison here uses what the store holds; the
//! re-scored hold-out comparison stays with `fds model compare`.

use super::{render, when, Chrome};
use crate::console::permission::Permission;
use crate::console::session::{redirect, Current};
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use fds_store::{ModelInfo, ModelRole, SCORE_BINS};

/// Width and height of the charts' drawing area, in SVG units.
const CHART_WIDTH: f64 = 1000.0;
const CHART_HEIGHT: f64 = 140.0;
/// PSI above which inputs have moved (warning) and moved a lot (alert): the
/// conventional 0.1 / 0.25 marks, drawn on the drift charts.
const PSI_WARN: f64 = 0.1;
const PSI_ALERT: f64 = 0.25;
/// Days of drift drawn.
const DRIFT_DAYS: usize = 60;

pub(crate) struct ModelRow {
    version: String,
    kind: &'static str,
    role: &'static str,
    trained: String,
    created: String,
    created_by: String,
    metrics: String,
    /// The newest drift day and its largest PSI, if measured.
    drift: Option<(String, String)>,
    needs_retraining: Option<String>,
}

/// What one side of a comparison scored in shadow.
pub(crate) struct Side {
    version: String,
    scored: u64,
    mean: String,
}

/// One histogram bin of both sides: x, and (y, height) of each bar.
pub(crate) struct HistBar {
    x: f64,
    width: f64,
    champion: (f64, f64),
    challenger: (f64, f64),
    title: String,
}

pub(crate) struct Comparison {
    kind: &'static str,
    champion: Side,
    challenger: Side,
    /// Hold-out metric name, champion's value, challenger's value.
    metrics: Vec<(String, String, String)>,
    shadow_since: String,
    shadow_psi: Option<String>,
    bars: Vec<HistBar>,
}

pub(crate) struct DriftChart {
    version: String,
    role: &'static str,
    /// The polyline's points, oldest day first.
    points: String,
    dots: Vec<(f64, f64, String)>,
    warn_y: f64,
    alert_y: f64,
    first_day: String,
    last_day: String,
}

#[derive(Template)]
#[template(path = "models.html")]
struct ModelsPage {
    chrome: Chrome,
    models: Vec<ModelRow>,
    comparisons: Vec<Comparison>,
    charts: Vec<DriftChart>,
    can_promote: bool,
}

/// The mean score of a histogram (bin midpoints) and its count.
fn mean_of(bins: &[u64; SCORE_BINS]) -> (u64, f64) {
    let n: u64 = bins.iter().sum();
    let width = 1.0 / SCORE_BINS as f64;
    let sum: f64 = bins.iter().enumerate().map(|(i, &c)| (i as f64 + 0.5) * width * c as f64).sum();
    (n, if n == 0 { 0.0 } else { sum / n as f64 })
}

/// Both score distributions as side-by-side bars, each as a share of its own total.
fn histogram(champion: &[u64; SCORE_BINS], challenger: &[u64; SCORE_BINS]) -> Vec<HistBar> {
    let share = |bins: &[u64; SCORE_BINS]| {
        let n = bins.iter().sum::<u64>().max(1) as f64;
        bins.map(|c| c as f64 / n)
    };
    let (a, b) = (share(champion), share(challenger));
    let top = a.iter().chain(b.iter()).copied().fold(0.0_f64, f64::max).max(1e-9);
    let slot = CHART_WIDTH / SCORE_BINS as f64;
    let base = CHART_HEIGHT + 10.0;
    (0..SCORE_BINS)
        .map(|i| {
            let h = |v: f64| v / top * CHART_HEIGHT;
            let (ha, hb) = (h(a[i]), h(b[i]));
            let from = i as f64 / SCORE_BINS as f64;
            HistBar {
                x: i as f64 * slot,
                width: slot * 0.4,
                champion: (base - ha, ha),
                challenger: (base - hb, hb),
                title: format!(
                    "{from:.2}–{:.2}: {} / {}",
                    from + 1.0 / SCORE_BINS as f64,
                    champion[i],
                    challenger[i]
                ),
            }
        })
        .collect()
}

/// The PSI of `current` against `baseline` over the same bins (empty bins smoothed).
fn psi(baseline: &[u64; SCORE_BINS], current: &[u64; SCORE_BINS]) -> Option<f64> {
    fds_ml::psi_of_counts(baseline, current).ok()
}

/// A drift chart from days newest first (as the store gives them): the largest PSI
/// of each day, oldest on the left, scaled so 0.5 (or the worst day) is the top.
fn drift_chart(
    version: &str,
    role: &'static str,
    days: &[(chrono::NaiveDate, std::collections::BTreeMap<String, f64>)],
) -> Option<DriftChart> {
    let mut days: Vec<(chrono::NaiveDate, f64)> = days
        .iter()
        .take(DRIFT_DAYS)
        .map(|(day, inputs)| (*day, inputs.values().copied().fold(0.0_f64, f64::max)))
        .collect();
    days.reverse();
    let (first, last) = (days.first()?.0, days.last()?.0);
    let top = days.iter().map(|(_, p)| *p).fold(0.5_f64, f64::max);
    let y = |p: f64| 10.0 + CHART_HEIGHT - p / top * CHART_HEIGHT;
    let step = if days.len() > 1 { CHART_WIDTH / (days.len() - 1) as f64 } else { 0.0 };
    let dots: Vec<(f64, f64, String)> = days
        .iter()
        .enumerate()
        .map(|(i, (day, p))| {
            let x = if days.len() > 1 { i as f64 * step } else { CHART_WIDTH / 2.0 };
            (x, y(*p), format!("{day}: PSI {p:.3}"))
        })
        .collect();
    let points = dots.iter().map(|(x, y, _)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    Some(DriftChart {
        version: version.to_string(),
        role,
        points,
        dots,
        warn_y: y(PSI_WARN),
        alert_y: y(PSI_ALERT),
        first_day: first.to_string(),
        last_day: last.to_string(),
    })
}

/// Champion and challenger of each kind that has both, compared.
async fn comparisons(
    state: &ConsoleState,
    models: &[ModelInfo],
) -> Result<Vec<Comparison>, fds_store::StoreError> {
    let now = state.now();
    let mut out = Vec::new();
    for challenger in models.iter().filter(|m| m.role == ModelRole::Challenger) {
        let Some(champion) =
            models.iter().find(|m| m.kind == challenger.kind && m.role == ModelRole::Champion)
        else {
            continue;
        };
        let since = challenger.role_changed_at;
        let a = state.store().model_scores(&champion.version, since, now).await?;
        let b = state.store().model_scores(&challenger.version, since, now).await?;
        let side = |m: &ModelInfo, bins: &[u64; SCORE_BINS]| {
            let (scored, mean) = mean_of(bins);
            Side { version: m.version.clone(), scored, mean: format!("{mean:.3}") }
        };
        let holdout = |m: &ModelInfo| m.metrics.get("holdout").cloned().unwrap_or_default();
        let (ha, hb) = (holdout(champion), holdout(challenger));
        let mut names: Vec<String> = ha
            .as_object()
            .into_iter()
            .chain(hb.as_object())
            .flat_map(|map| map.iter().filter(|(_, v)| v.is_number()).map(|(k, _)| k.clone()))
            .collect();
        names.sort();
        names.dedup();
        let figure =
            |v: &serde_json::Value, k: &str| v[k].as_f64().map_or("—".to_string(), |n| format!("{n:.3}"));
        out.push(Comparison {
            kind: challenger.kind.as_str(),
            metrics: names.iter().map(|k| (k.clone(), figure(&ha, k), figure(&hb, k))).collect(),
            shadow_since: when(since),
            shadow_psi: (a.iter().sum::<u64>() > 0 && b.iter().sum::<u64>() > 0)
                .then(|| psi(&a, &b))
                .flatten()
                .map(|p| format!("{p:.4}")),
            bars: histogram(&a, &b),
            champion: side(champion, &a),
            challenger: side(challenger, &b),
        });
    }
    Ok(out)
}

/// The hold-out metrics as `name value` pairs, numbers to three decimals.
fn metrics_text(metrics: &serde_json::Value) -> String {
    let source = metrics.get("holdout").unwrap_or(metrics);
    match source.as_object() {
        Some(map) => map
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|n| format!("{k} {n:.3}")))
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    }
}

/// `GET /console/models`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    let lang = current.lang();
    let store = state.store();
    let models = match store.models().await {
        Ok(models) => models,
        Err(e) => return super::internal(lang, e),
    };
    let compared = match comparisons(&state, &models).await {
        Ok(c) => c,
        Err(e) => return super::internal(lang, e),
    };
    let mut rows = Vec::with_capacity(models.len());
    let mut charts = Vec::new();
    for m in models {
        let days = match store.model_drift(&m.version).await {
            Ok(days) => days,
            Err(e) => return super::internal(lang, e),
        };
        if m.role != ModelRole::Retired {
            charts.extend(drift_chart(&m.version, m.role.as_str(), &days));
        }
        let drift = days.into_iter().next().map(|(day, inputs)| {
            let worst = inputs.values().copied().fold(0.0_f64, f64::max);
            (day.to_string(), format!("{worst:.3}"))
        });
        rows.push(ModelRow {
            kind: m.kind.as_str(),
            role: m.role.as_str(),
            trained: format!("{} — {}", when(m.trained_from), when(m.trained_to)),
            created: when(m.created_at),
            metrics: metrics_text(&m.metrics),
            drift,
            needs_retraining: m.needs_retraining_since.map(when),
            created_by: m.created_by,
            version: m.version,
        });
    }
    let page = ModelsPage {
        chrome: Chrome::new(&current, "/console/models"),
        models: rows,
        comparisons: compared,
        charts,
        can_promote: current.can(Permission::PromoteModels),
    };
    render(&page, lang)
}

/// `POST /console/models/{version}/promote`: the challenger becomes its kind's
/// champion (the champion retires), audited `model.promote` by the store; this
/// process loads the registry at once, the others at their next poll.
pub(crate) async fn promote(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(version): Path<String>,
) -> Response {
    let lang = current.lang();
    let store = state.store();
    let found = match store.models().await {
        Ok(models) => models.into_iter().find(|m| m.version == version),
        Err(e) => return super::internal(lang, e),
    };
    match found {
        None => return super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
        Some(m) if m.role != ModelRole::Challenger => {
            return super::bad_request(
                lang,
                "only a challenger, compared with its champion, is promoted here",
            )
        }
        Some(_) => {}
    }
    match store.promote_model(&version, &current.user.login, state.now()).await {
        Ok(Some(_)) => {
            if let Err(e) = fds_pipeline::models::reload(&state.pipeline).await {
                tracing::error!(error = %e, "loading the models after a promotion failed; the poll retries");
            }
            redirect("/console/models")
        }
        Ok(None) => super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
        Err(e) => super::internal(lang, e),
    }
}

/// The dashboard's drift tile: the largest latest PSI over the champions and how
/// many of them need retraining; `None` without champions or drift measured.
pub(crate) async fn drift_tile(
    state: &ConsoleState,
) -> Result<Option<(String, usize)>, fds_store::StoreError> {
    let models = state.store().models().await?;
    let mut worst: Option<f64> = None;
    let mut stale = 0;
    for m in models.iter().filter(|m| m.role == ModelRole::Champion) {
        if m.needs_retraining_since.is_some() {
            stale += 1;
        }
        if let Some((_, inputs)) = state.store().model_drift(&m.version).await?.into_iter().next() {
            let psi = inputs.values().copied().fold(0.0_f64, f64::max);
            worst = Some(worst.map_or(psi, |w: f64| w.max(psi)));
        }
    }
    Ok(worst.map(|w| (format!("{w:.3}"), stale)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drift_chart_runs_oldest_to_newest_with_the_alert_line_above_the_warning() {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).expect("valid");
        let psi = |v: f64| [("amount".to_string(), v), ("hour".to_string(), v / 2.0)].into_iter().collect();
        let newest_first = vec![(day(3), psi(0.3)), (day(2), psi(0.05)), (day(1), psi(0.0))];

        let chart = drift_chart("m-1", "champion", &newest_first).expect("a chart");

        assert_eq!((chart.first_day.as_str(), chart.last_day.as_str()), ("2026-11-01", "2026-11-03"));
        assert_eq!(chart.dots.len(), 3);
        assert_eq!(chart.dots[0].0, 0.0);
        assert_eq!(chart.dots[2].0, CHART_WIDTH);
        assert!(chart.dots[2].1 < chart.dots[1].1, "a higher PSI is drawn higher");
        assert!(chart.alert_y < chart.warn_y);
        assert!(chart.dots[2].2.contains("PSI 0.300"));
        assert!(drift_chart("m-1", "champion", &[]).is_none());
    }

    #[test]
    fn the_histogram_compares_shares_so_different_volumes_draw_alike() {
        let mut a = [0u64; SCORE_BINS];
        let mut b = [0u64; SCORE_BINS];
        a[1] = 10;
        b[1] = 1000;
        let bars = histogram(&a, &b);
        assert_eq!(bars[1].champion.1, CHART_HEIGHT);
        assert_eq!(bars[1].challenger.1, CHART_HEIGHT);
        assert_eq!(bars[0].champion.1, 0.0);
        let (n, mean) = mean_of(&a);
        assert_eq!(n, 10);
        assert!((mean - 0.075).abs() < 1e-12, "the midpoint of the second bin: {mean}");
    }

    #[test]
    fn hold_out_metrics_are_listed_to_three_decimals() {
        let metrics = serde_json::json!({ "holdout": { "pr_auc": 0.41234, "roc_auc": 0.9, "rows": "n/a" } });
        assert_eq!(metrics_text(&metrics), "pr_auc 0.412, roc_auc 0.900");
        assert_eq!(metrics_text(&serde_json::json!({ "auc": 0.5 })), "auc 0.500");
    }
}
