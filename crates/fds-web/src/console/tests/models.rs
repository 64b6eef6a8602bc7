//! Model comparison, promotion and drift through the console.

use super::*;
use fds_store::{DriftReport, ModelKind, ModelRole, NewModel, ScoreTally, SCORE_BINS};

fn model(version: &str, roc_auc: f64) -> NewModel {
    NewModel {
        version: version.into(),
        kind: ModelKind::Supervised,
        artifact: "{}".into(),
        metrics: serde_json::json!({ "holdout": { "roc_auc": roc_auc } }),
        trained_from: t0() - chrono::Duration::days(30),
        trained_to: t0(),
        feature_schema_hash: "f".repeat(64),
        data_hash: "d".repeat(64),
        created_at: t0(),
        created_by: "trainer".into(),
    }
}

#[tokio::test]
async fn a_publisher_compares_the_challenger_with_the_champion_and_promotes_it() {
    let console = Console::start().await;
    console.add_user("pub", &[Role::Publisher]).await;
    console.add_user("lee", &[Role::Viewer]).await;
    let store = console.pipeline.store();
    store.register_model(&model("sup-1", 0.81), ModelRole::Champion).await.unwrap();
    store.register_model(&model("sup-2", 0.88), ModelRole::Challenger).await.unwrap();
    // In shadow the challenger scores higher than the champion.
    let mut low = [0u64; SCORE_BINS];
    low[2] = 90;
    let mut high = [0u64; SCORE_BINS];
    high[12] = 90;
    let hour = fds_store::hour_of(t0() + chrono::Duration::minutes(30));
    store
        .add_model_scores(&[
            ScoreTally { model_version: "sup-1".into(), hour, bins: low },
            ScoreTally { model_version: "sup-2".into(), hour, bins: high },
        ])
        .await
        .unwrap();
    for (day, psi) in [(1, 0.02), (2, 0.3)] {
        let report = DriftReport {
            model_version: "sup-1".into(),
            day: t0().date_naive() + chrono::Duration::days(day),
            psi: [("amount".to_string(), psi)].into_iter().collect(),
            needs_retraining: psi > 0.25,
            at: t0(),
        };
        store.save_model_drift(&report).await.unwrap();
    }
    console.clock.advance(chrono::Duration::hours(2));
    let viewer = console.login("lee").await;

    let page = console.get("/console/models", Some(&viewer)).await;
    assert!(page.body.contains("id=\"compare-supervised\""), "{}", page.body);
    let table =
        page.body.split("id=\"compare-supervised\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(table.contains("0.810") && table.contains("0.880") && table.contains(">90<"), "{table}");
    assert!(!page.body.contains("id=\"shadow-psi-supervised\">—"), "both scored: a PSI is shown");
    assert!(page.body.contains("id=\"drift-sup-1\"") && page.body.contains("<polyline"));
    assert!(!page.body.contains("id=\"promote-supervised\""), "a viewer is not offered the promotion");
    let dashboard = console.get("/console/dashboard", Some(&viewer)).await;
    assert!(dashboard.body.contains("id=\"model-drift\">0.300<"), "{}", dashboard.body);
    assert!(dashboard.body.contains("id=\"model-stale\""));
    let refused = console.submit("/console/models", "/console/models/sup-2/promote", &viewer, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let publisher = console.login_with_totp("pub").await;
    let champion = console.submit("/console/models", "/console/models/sup-1/promote", &publisher, &[]).await;
    assert_eq!(champion.status, StatusCode::BAD_REQUEST, "only the challenger is promoted");
    let promoted = console.submit("/console/models", "/console/models/sup-2/promote", &publisher, &[]).await;

    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.body);
    let roles: Vec<(String, ModelRole)> =
        store.models().await.unwrap().into_iter().map(|m| (m.version, m.role)).collect();
    assert!(roles.contains(&("sup-2".to_string(), ModelRole::Champion)), "{roles:?}");
    assert!(roles.contains(&("sup-1".to_string(), ModelRole::Retired)), "{roles:?}");
    let records = store.audit_records(0, 100).await.unwrap();
    let promotion = records.iter().find(|r| r.entry.action == "model.promote").expect("audited");
    assert_eq!(promotion.entry.actor, "pub");
}
