//! The behavioural suite of the model registry, on both backends: registration,
//! roles (one champion and one challenger per kind, enforced by the database),
//! audited promotions, the registry version and the hourly score histograms.

use crate::audit::actions;
use crate::fixtures::{minutes, t0};
use crate::test_db::Subject;
use crate::{verify_chain, DriftReport, InputTally, ModelKind, ModelRole, NewModel, ScoreTally, SCORE_BINS};
use serde_json::json;

on_both_backends!(
    a_registered_model_lists_with_its_role_and_its_artifact_reads_back_verbatim,
    a_new_challenger_retires_the_previous_one_and_each_registration_is_audited,
    promoting_a_model_retires_the_old_champion_and_audits_the_change_once,
    promoting_an_unknown_version_changes_nothing,
    the_database_refuses_a_second_champion_of_a_kind,
    concurrent_promotions_leave_exactly_one_champion_and_a_valid_chain,
    score_histograms_add_up_per_model_over_the_hours_asked_for,
    input_counts_add_up_per_day_and_a_drift_report_replaces_the_days_and_marks_the_model_once,
);

fn model(version: &str, kind: ModelKind, minute: i64) -> NewModel {
    NewModel {
        version: version.into(),
        kind,
        // Key order and number formatting are kept as written.
        artifact: format!(r#"{{"version":"{version}","b":1.50,"a":[1e-7,2]}}"#),
        metrics: json!({ "holdout": { "roc_auc": 0.93, "pr_auc": 0.41 } }),
        trained_from: t0() - chrono::Duration::days(90),
        trained_to: t0(),
        feature_schema_hash: "f".repeat(64),
        data_hash: "d".repeat(64),
        created_at: t0() + minutes(minute),
        created_by: "trainer".into(),
    }
}

async fn a_registered_model_lists_with_its_role_and_its_artifact_reads_back_verbatim(s: Subject) {
    let store = s.store;
    let new = model("anomaly-1", ModelKind::Anomaly, 0);

    let info = store.register_model(&new, ModelRole::Champion).await.unwrap().expect("registered");
    let again = store.register_model(&new, ModelRole::Challenger).await.unwrap();

    assert_eq!(
        (info.version.as_str(), info.kind, info.role),
        ("anomaly-1", ModelKind::Anomaly, ModelRole::Champion)
    );
    assert_eq!((info.trained_from, info.trained_to), (new.trained_from, new.trained_to));
    assert_eq!(
        (info.metrics.clone(), info.created_by.as_str(), info.created_at),
        (new.metrics, "trainer", new.created_at)
    );
    assert_eq!(again, None, "a version registers once");
    assert_eq!(store.models().await.unwrap(), [info]);
    assert_eq!(store.model_artifact("anomaly-1").await.unwrap(), Some(new.artifact));
    assert_eq!(store.model_artifact("anomaly-2").await.unwrap(), None);
}

async fn a_new_challenger_retires_the_previous_one_and_each_registration_is_audited(s: Subject) {
    let store = s.store;
    let start = store.model_registry_version().await.unwrap();
    store.register_model(&model("anomaly-1", ModelKind::Anomaly, 0), ModelRole::Champion).await.unwrap();
    store.register_model(&model("anomaly-2", ModelKind::Anomaly, 1), ModelRole::Challenger).await.unwrap();
    store
        .register_model(&model("supervised-1", ModelKind::Supervised, 2), ModelRole::Challenger)
        .await
        .unwrap();
    store.register_model(&model("anomaly-3", ModelKind::Anomaly, 3), ModelRole::Challenger).await.unwrap();

    let roles: Vec<(String, ModelRole)> =
        store.models().await.unwrap().into_iter().map(|m| (m.version, m.role)).collect();
    assert_eq!(
        roles,
        [
            ("anomaly-3".to_string(), ModelRole::Challenger),
            ("supervised-1".to_string(), ModelRole::Challenger),
            ("anomaly-2".to_string(), ModelRole::Retired),
            ("anomaly-1".to_string(), ModelRole::Champion),
        ],
        "newest first; the other kind's challenger is untouched"
    );
    assert!(store.model_registry_version().await.unwrap() > start);
    let records = store.audit_records(0, 10).await.unwrap();
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.entry.action == actions::MODEL_REGISTER && r.entry.actor == "trainer"));
    let last = &records[3].entry;
    assert_eq!(last.target, "model:anomaly");
    assert_eq!(last.before, Some(json!({ "version": "anomaly-2", "kind": "anomaly", "role": "challenger" })));
    assert_eq!(last.after, Some(json!({ "version": "anomaly-3", "kind": "anomaly", "role": "challenger" })));
}

async fn promoting_a_model_retires_the_old_champion_and_audits_the_change_once(s: Subject) {
    let store = s.store;
    store.register_model(&model("anomaly-1", ModelKind::Anomaly, 0), ModelRole::Champion).await.unwrap();
    store.register_model(&model("anomaly-2", ModelKind::Anomaly, 1), ModelRole::Challenger).await.unwrap();
    let before = store.model_registry_version().await.unwrap();
    let at = t0() + minutes(10);

    let promoted = store.promote_model("anomaly-2", "analyst-lee", at).await.unwrap().expect("registered");
    let again = store.promote_model("anomaly-2", "analyst-lee", at).await.unwrap().expect("registered");

    assert_eq!((promoted.role, promoted.role_changed_at), (ModelRole::Champion, at));
    assert_eq!(again, promoted, "promoting the champion changes nothing");
    let roles: Vec<(String, ModelRole)> =
        store.models().await.unwrap().into_iter().map(|m| (m.version, m.role)).collect();
    assert_eq!(roles, [("anomaly-2".into(), ModelRole::Champion), ("anomaly-1".into(), ModelRole::Retired)]);
    assert!(store.model_registry_version().await.unwrap() > before);
    let records = store.audit_records(2, 10).await.unwrap();
    assert_eq!(records.len(), 1, "one promotion, audited once");
    let entry = &records[0].entry;
    assert_eq!(
        (entry.action.as_str(), entry.actor.as_str(), entry.at),
        (actions::MODEL_PROMOTE, "analyst-lee", at)
    );
    assert_eq!(entry.before, Some(json!({ "version": "anomaly-1", "kind": "anomaly", "role": "champion" })));
    assert_eq!(entry.after, Some(json!({ "version": "anomaly-2", "kind": "anomaly", "role": "champion" })));

    // A retired model can be promoted back: the rollback path.
    store.promote_model("anomaly-1", "analyst-lee", at + minutes(1)).await.unwrap().expect("registered");
    let champions: Vec<String> = store
        .models()
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.role == ModelRole::Champion)
        .map(|m| m.version)
        .collect();
    assert_eq!(champions, ["anomaly-1"]);
}

async fn promoting_an_unknown_version_changes_nothing(s: Subject) {
    let store = s.store;
    store.register_model(&model("anomaly-1", ModelKind::Anomaly, 0), ModelRole::Champion).await.unwrap();
    let version = store.model_registry_version().await.unwrap();

    assert_eq!(store.promote_model("anomaly-9", "analyst-lee", t0()).await.unwrap(), None);

    assert_eq!(store.model_registry_version().await.unwrap(), version);
    assert_eq!(store.audit_records(0, 10).await.unwrap().len(), 1, "only the registration");
}

async fn the_database_refuses_a_second_champion_of_a_kind(s: Subject) {
    s.store.register_model(&model("anomaly-1", ModelKind::Anomaly, 0), ModelRole::Champion).await.unwrap();
    s.store.register_model(&model("anomaly-2", ModelKind::Anomaly, 1), ModelRole::Retired).await.unwrap();
    s.store
        .register_model(&model("supervised-1", ModelKind::Supervised, 2), ModelRole::Champion)
        .await
        .unwrap();

    let refused = s.raw.execute("UPDATE models SET role = 'champion' WHERE version = 'anomaly-2'").await;

    assert!(refused.is_err(), "a second anomaly champion is refused");
    assert_eq!(
        s.raw.execute("UPDATE models SET role = 'challenger' WHERE version = 'anomaly-2'").await.unwrap(),
        1
    );
    assert!(s.raw.execute("UPDATE models SET role = 'judge' WHERE version = 'anomaly-2'").await.is_err());
}

async fn concurrent_promotions_leave_exactly_one_champion_and_a_valid_chain(s: Subject) {
    let store = s.store;
    for i in 0..6 {
        store
            .register_model(&model(&format!("anomaly-{i}"), ModelKind::Anomaly, i), ModelRole::Retired)
            .await
            .unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..6 {
        let store = store.clone();
        tasks.spawn(
            async move { store.promote_model(&format!("anomaly-{i}"), "ops", t0() + minutes(i)).await },
        );
    }
    while let Some(done) = tasks.join_next().await {
        assert!(done.unwrap().unwrap().is_some());
    }

    let champions =
        store.models().await.unwrap().into_iter().filter(|m| m.role == ModelRole::Champion).count();
    assert_eq!(champions, 1);
    let records = store.audit_records(0, 100).await.unwrap();
    assert_eq!(records.iter().filter(|r| r.entry.action == actions::MODEL_PROMOTE).count(), 6);
    verify_chain(&records).unwrap();
}

async fn score_histograms_add_up_per_model_over_the_hours_asked_for(s: Subject) {
    let store = s.store;
    let hour = crate::hour_of(t0());
    let tally = |version: &str, hour, bins: &[(usize, u64)]| {
        let mut all = [0u64; SCORE_BINS];
        for &(bin, n) in bins {
            all[bin] = n;
        }
        ScoreTally { model_version: version.into(), hour, bins: all }
    };
    let next = hour + chrono::Duration::hours(1);
    store
        .add_model_scores(&[
            tally("anomaly-1", hour, &[(0, 10), (19, 1)]),
            tally("anomaly-1", hour, &[(0, 5)]),
            tally("anomaly-1", next, &[(3, 2)]),
            tally("anomaly-2", hour, &[(7, 4)]),
        ])
        .await
        .unwrap();
    store.add_model_scores(&[tally("anomaly-1", hour, &[(19, 1)])]).await.unwrap();
    store.add_model_scores(&[]).await.unwrap();

    let both = store.model_scores("anomaly-1", t0(), next + chrono::Duration::hours(1)).await.unwrap();
    let first = store.model_scores("anomaly-1", t0(), next).await.unwrap();
    let other = store.model_scores("anomaly-2", t0(), next).await.unwrap();

    assert_eq!((both[0], both[3], both[19], both.iter().sum::<u64>()), (15, 2, 2, 19));
    assert_eq!((first[3], first.iter().sum::<u64>()), (0, 17), "the later hour is outside");
    assert_eq!((other[7], other.iter().sum::<u64>()), (4, 4));
}

async fn input_counts_add_up_per_day_and_a_drift_report_replaces_the_days_and_marks_the_model_once(
    s: Subject,
) {
    let store = s.store;
    store.register_model(&model("anomaly-1", ModelKind::Anomaly, 0), ModelRole::Champion).await.unwrap();
    let day = t0().date_naive();
    let next = day.succ_opt().unwrap();
    let tally = |day, input: &str, counts: Vec<u64>| InputTally {
        model_version: "anomaly-1".into(),
        day,
        input: input.into(),
        counts,
    };
    store
        .add_model_inputs(&[
            tally(day, "amount", vec![1, 0, 2]),
            tally(day, "amount", vec![1, 1]),
            tally(day, "local_hour", vec![0, 0, 0, 5]),
            tally(next, "amount", vec![9]),
        ])
        .await
        .unwrap();

    let counted = store.model_inputs("anomaly-1", day).await.unwrap();
    assert_eq!(counted["amount"], [2, 1, 2]);
    assert_eq!(counted["local_hour"], [0, 0, 0, 5]);
    assert_eq!(store.model_inputs("anomaly-1", next).await.unwrap()["amount"], [9]);
    assert!(store.model_inputs("anomaly-2", day).await.unwrap().is_empty());

    let report = |psi: &[(&str, f64)], needs_retraining, minute| DriftReport {
        model_version: "anomaly-1".into(),
        day,
        psi: psi.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        needs_retraining,
        at: t0() + minutes(minute),
    };
    store.save_model_drift(&report(&[("amount", 0.05), ("score", 0.01)], false, 1)).await.unwrap();
    assert_eq!(store.models().await.unwrap()[0].needs_retraining_since, None);
    store.save_model_drift(&report(&[("amount", 0.4)], true, 2)).await.unwrap();
    store.save_model_drift(&report(&[("amount", 0.5)], true, 3)).await.unwrap();

    let drift = store.model_drift("anomaly-1").await.unwrap();
    assert_eq!(drift, [(day, [("amount".to_string(), 0.5)].into())], "the day's report is replaced");
    assert_eq!(
        store.models().await.unwrap()[0].needs_retraining_since,
        Some(t0() + minutes(2)),
        "marked once"
    );
}
