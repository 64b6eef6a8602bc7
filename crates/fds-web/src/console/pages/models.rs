//! The models page (read only): every registered model with its kind, role, training
//! window, hold-out metrics, who trained it, and its latest daily drift (the largest
//! PSI over its inputs) with the needs-retraining mark. Promotion stays with
//! `fds model promote` until the console's model pages exist.

use super::{render, when, Chrome};
use crate::console::session::Current;
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;

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

#[derive(Template)]
#[template(path = "models.html")]
struct ModelsPage {
    chrome: Chrome,
    models: Vec<ModelRow>,
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
    let mut rows = Vec::with_capacity(models.len());
    for m in models {
        let drift = match store.model_drift(&m.version).await {
            Ok(days) => days.into_iter().next().map(|(day, inputs)| {
                let worst = inputs.values().copied().fold(0.0_f64, f64::max);
                (day.to_string(), format!("{worst:.3}"))
            }),
            Err(e) => return super::internal(lang, e),
        };
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
    render(&ModelsPage { chrome: Chrome::new(&current, "/console/models"), models: rows }, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_out_metrics_are_listed_to_three_decimals() {
        let metrics = serde_json::json!({ "holdout": { "pr_auc": 0.41234, "roc_auc": 0.9, "rows": "n/a" } });
        assert_eq!(metrics_text(&metrics), "pr_auc 0.412, roc_auc 0.900");
        assert_eq!(metrics_text(&serde_json::json!({ "auc": 0.5 })), "auc 0.500");
    }
}
