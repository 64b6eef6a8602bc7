//! The behavioural suite of the console's data, on both backends: accounts, login
//! failures and lockouts, TOTP secrets, sessions, the review queue, escalations,
//! block searches and releases — and the audit record each change leaves.

use crate::audit::actions as audit_actions;
use crate::console::actions;
use crate::fixtures::{minutes, record, t0};
use crate::test_db::Subject;
use crate::{
    verify_chain, BlockStatus, Language, NewSession, NewUser, QueueFilter, Role, Secret, SessionStage, Store,
    StoreError, UserChange,
};
use fds_core::{Action, Label, Outcome};
use std::collections::BTreeSet;

on_both_backends!(
    a_created_user_reads_back_by_login_and_id_and_its_creation_is_audited_without_the_password,
    a_taken_login_a_bad_login_and_an_account_without_roles_are_refused,
    the_fifth_failed_login_locks_the_account_and_a_login_clears_the_count,
    changing_roles_and_disabling_is_audited_with_before_and_after_and_a_no_op_is_not,
    the_totp_secret_is_sealed_at_rest_and_each_time_step_is_accepted_once,
    sessions_open_touch_and_end_and_logging_out_everywhere_ends_only_that_users,
    replacing_a_session_after_the_second_factor_retires_the_old_id,
    the_review_queue_lists_unlabelled_flagged_decisions_newest_first_until_labelled,
    the_review_queue_filters_by_score_rule_and_family_and_refuses_a_malformed_filter,
    an_escalation_is_stored_and_audited,
    blocks_are_searched_by_start_and_status_and_released_once_with_their_audit_record,
    events_read_back_by_id_and_by_subscriber_newest_first,
);

pub(super) fn new_user(login: &str, roles: &[Role]) -> NewUser {
    NewUser {
        login: login.into(),
        display_name: format!("{login} (test)"),
        roles: roles.iter().copied().collect(),
        password_hash: Secret::new(format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{login}")),
        language: Language::Ko,
    }
}

fn session_for(id: &str, user_id: i64, stage: SessionStage) -> NewSession {
    NewSession {
        id_hash: format!("hash-{id}"),
        user_id,
        stage,
        csrf_token: Secret::new(format!("csrf-{id}")),
        created_at: t0(),
        expires_at: t0() + chrono::Duration::hours(12),
    }
}

async fn actions_logged(store: &dyn Store) -> Vec<String> {
    let records = store.audit_records(0, 1000).await.unwrap();
    assert!(verify_chain(&records).is_ok());
    records.into_iter().map(|r| r.entry.action).collect()
}

async fn a_created_user_reads_back_by_login_and_id_and_its_creation_is_audited_without_the_password(
    s: Subject,
) {
    let store = s.store;
    let new = new_user("kim.analyst", &[Role::Analyst, Role::Viewer]);

    let user = store.create_user(&new, "setup", t0()).await.unwrap();

    assert_eq!(user.login, "kim.analyst");
    assert_eq!(user.roles, BTreeSet::from([Role::Viewer, Role::Analyst]));
    assert_eq!(user.password_hash, new.password_hash);
    assert_eq!((user.language, user.disabled, user.totp_enabled), (Language::Ko, false, false));
    assert_eq!((user.failed_attempts, user.locked_until, user.created_at), (0, None, t0()));
    assert_eq!(store.user_by_login("kim.analyst").await.unwrap(), Some(user.clone()));
    assert_eq!(store.user_by_id(user.user_id).await.unwrap(), Some(user.clone()));
    assert_eq!(store.user_by_login("lee").await.unwrap(), None);
    assert_eq!(store.users().await.unwrap(), [user]);
    let audit = store.audit_records(0, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].entry.action, audit_actions::USER_CREATE);
    assert_eq!(audit[0].entry.target, "user:kim.analyst");
    assert_eq!(audit[0].entry.actor, "setup");
    let after = audit[0].entry.after.as_ref().unwrap().to_string();
    assert!(after.contains("analyst") && !after.contains("argon2"), "{after}");
}

async fn a_taken_login_a_bad_login_and_an_account_without_roles_are_refused(s: Subject) {
    let store = s.store;
    store.create_user(&new_user("kim", &[Role::Admin]), "setup", t0()).await.unwrap();

    let taken = store.create_user(&new_user("kim", &[Role::Viewer]), "setup", t0()).await;
    let bad = store.create_user(&new_user("kim <script>", &[Role::Viewer]), "setup", t0()).await;
    let roleless = store.create_user(&new_user("lee", &[]), "setup", t0()).await;

    assert!(matches!(taken, Err(StoreError::Refused(ref m)) if m.contains("taken")), "{taken:?}");
    assert!(matches!(bad, Err(StoreError::Refused(_))), "{bad:?}");
    assert!(matches!(roleless, Err(StoreError::Refused(ref m)) if m.contains("role")), "{roleless:?}");
    assert_eq!(store.users().await.unwrap().len(), 1);
    assert_eq!(actions_logged(store.as_ref()).await, [audit_actions::USER_CREATE]);
}

async fn the_fifth_failed_login_locks_the_account_and_a_login_clears_the_count(s: Subject) {
    let store = s.store;
    let user = store.create_user(&new_user("kim", &[Role::Analyst]), "setup", t0()).await.unwrap();
    let lock_for = chrono::Duration::minutes(15);

    for n in 1..=4 {
        let failure = store.record_login_failure(user.user_id, t0() + minutes(n), 5, lock_for).await.unwrap();
        assert_eq!((failure.failed_attempts, failure.locked_until), (n as u32, None));
    }
    let fifth = store.record_login_failure(user.user_id, t0() + minutes(5), 5, lock_for).await.unwrap();

    let until = t0() + minutes(5) + lock_for;
    assert_eq!(fifth.locked_until, Some(until));
    let locked = store.user_by_id(user.user_id).await.unwrap().unwrap();
    assert_eq!((locked.failed_attempts, locked.locked_until), (0, Some(until)));
    assert!(locked.locked_at(until - minutes(1)) && !locked.locked_at(until));
    let logged = actions_logged(store.as_ref()).await;
    assert_eq!(logged.iter().filter(|a| *a == actions::USER_LOGIN_FAILED).count(), 5);
    assert_eq!(logged.last().map(String::as_str), Some(actions::USER_LOCKOUT));

    // A failure after the lockout counts from one again; a login clears it.
    let again = store.record_login_failure(user.user_id, until, 5, lock_for).await.unwrap();
    assert_eq!(again.failed_attempts, 1);
    store.open_session(&session_for("s1", user.user_id, SessionStage::Full)).await.unwrap();
    let cleared = store.user_by_id(user.user_id).await.unwrap().unwrap();
    assert_eq!((cleared.failed_attempts, cleared.locked_until), (0, None));
    assert_eq!(actions_logged(store.as_ref()).await.last().map(String::as_str), Some(actions::USER_LOGIN));
}

async fn changing_roles_and_disabling_is_audited_with_before_and_after_and_a_no_op_is_not(s: Subject) {
    let store = s.store;
    store.create_user(&new_user("kim", &[Role::Viewer]), "setup", t0()).await.unwrap();
    let change = UserChange {
        roles: Some(BTreeSet::from([Role::Analyst, Role::Auditor])),
        disabled: Some(true),
        password_hash: Some(Secret::new("$argon2id$new")),
        ..UserChange::default()
    };

    let changed = store.update_user("kim", &change, "admin-park", t0() + minutes(1)).await.unwrap().unwrap();
    let same = store.update_user("kim", &UserChange::default(), "admin-park", t0()).await.unwrap();
    let nobody = store.update_user("nobody", &change, "admin-park", t0()).await.unwrap();
    let roleless = UserChange { roles: Some(BTreeSet::new()), ..UserChange::default() };
    let refused = store.update_user("kim", &roleless, "admin-park", t0()).await;

    assert_eq!(changed.roles, BTreeSet::from([Role::Analyst, Role::Auditor]));
    assert!(changed.disabled);
    assert_eq!(changed.password_hash.expose(), "$argon2id$new");
    assert_eq!(same, Some(changed.clone()));
    assert_eq!(nobody, None);
    assert!(matches!(refused, Err(StoreError::Refused(_))));
    let audit = store.audit_records(0, 10).await.unwrap();
    assert_eq!(audit.len(), 2, "a change that changes nothing is not audited");
    let update = &audit[1].entry;
    assert_eq!((update.action.as_str(), update.actor.as_str()), (audit_actions::USER_UPDATE, "admin-park"));
    assert_eq!(update.before.as_ref().unwrap()["roles"], serde_json::json!(["viewer"]));
    assert_eq!(update.after.as_ref().unwrap()["roles"], serde_json::json!(["analyst", "auditor"]));
    assert_eq!(update.after.as_ref().unwrap()["disabled"], true);
    assert_eq!(update.after.as_ref().unwrap()["password"], "changed");
    assert!(!update.after.as_ref().unwrap().to_string().contains("argon2"));
}

async fn the_totp_secret_is_sealed_at_rest_and_each_time_step_is_accepted_once(s: Subject) {
    let store = s.store;
    let user = store.create_user(&new_user("kim", &[Role::Admin]), "setup", t0()).await.unwrap();
    let secret = Secret::new("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");

    store.set_totp(user.user_id, Some(&secret), false, "kim", t0()).await.unwrap();
    let enrolling = store.user_by_id(user.user_id).await.unwrap().unwrap();
    store.set_totp(user.user_id, Some(&secret), true, "kim", t0()).await.unwrap();
    let enabled = store.user_by_id(user.user_id).await.unwrap().unwrap();

    assert_eq!((enrolling.totp_secret.as_ref(), enrolling.totp_enabled), (Some(&secret), false));
    assert_eq!((enabled.totp_secret.as_ref(), enabled.totp_enabled), (Some(&secret), true));
    let stored = s.raw.texts("SELECT totp_secret FROM console_users").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with("v1.") && !stored[0].contains(secret.expose()), "sealed at rest");
    let audit = store.audit_records(0, 10).await.unwrap();
    assert!(audit.iter().all(|r| !serde_json::to_string(&r.entry).unwrap().contains(secret.expose())));
    assert_eq!(audit.last().unwrap().entry.action, actions::USER_TOTP);

    assert!(store.use_totp_step(user.user_id, 100).await.unwrap());
    assert!(!store.use_totp_step(user.user_id, 100).await.unwrap(), "a code is good once");
    assert!(!store.use_totp_step(user.user_id, 99).await.unwrap(), "an older step is refused");
    assert!(store.use_totp_step(user.user_id, 101).await.unwrap());

    store.set_totp(user.user_id, None, false, "admin-park", t0()).await.unwrap();
    let reset = store.user_by_id(user.user_id).await.unwrap().unwrap();
    assert_eq!((reset.totp_secret, reset.totp_enabled), (None, false));
}

async fn sessions_open_touch_and_end_and_logging_out_everywhere_ends_only_that_users(s: Subject) {
    let store = s.store;
    let kim = store.create_user(&new_user("kim", &[Role::Analyst]), "setup", t0()).await.unwrap();
    let lee = store.create_user(&new_user("lee", &[Role::Viewer]), "setup", t0()).await.unwrap();
    for (id, user) in [("k1", &kim), ("k2", &kim), ("l1", &lee)] {
        store.open_session(&session_for(id, user.user_id, SessionStage::Full)).await.unwrap();
    }

    store.touch_session("hash-k1", t0() + minutes(7)).await.unwrap();
    let k1 = store.session("hash-k1").await.unwrap().unwrap();
    assert_eq!((k1.user_id, k1.stage, k1.last_seen_at), (kim.user_id, SessionStage::Full, t0() + minutes(7)));
    assert_eq!(k1.csrf_token.expose(), "csrf-k1");
    assert_eq!(k1.expires_at, t0() + chrono::Duration::hours(12));

    assert!(store.end_session("hash-k1", true, t0()).await.unwrap());
    assert!(!store.end_session("hash-k1", true, t0()).await.unwrap());
    assert_eq!(store.session("hash-k1").await.unwrap(), None);

    store.open_session(&session_for("k3", kim.user_id, SessionStage::Full)).await.unwrap();
    assert_eq!(store.end_user_sessions(kim.user_id, "kim", t0()).await.unwrap(), 2);
    assert_eq!(store.session("hash-k2").await.unwrap(), None);
    assert_eq!(store.session("hash-k3").await.unwrap(), None);
    assert!(store.session("hash-l1").await.unwrap().is_some(), "another user's session stays");

    // Purging removes sessions past their absolute end only.
    assert_eq!(store.purge_sessions(t0() + chrono::Duration::hours(11)).await.unwrap(), 0);
    assert_eq!(store.purge_sessions(t0() + chrono::Duration::hours(12)).await.unwrap(), 1);
    let logged = actions_logged(store.as_ref()).await;
    assert_eq!(logged.iter().filter(|a| *a == actions::USER_LOGOUT).count(), 1);
    assert_eq!(logged.iter().filter(|a| *a == actions::USER_LOGOUT_ALL).count(), 1);
}

async fn replacing_a_session_after_the_second_factor_retires_the_old_id(s: Subject) {
    let store = s.store;
    let kim = store.create_user(&new_user("kim", &[Role::Admin]), "setup", t0()).await.unwrap();
    store.open_session(&session_for("pending", kim.user_id, SessionStage::Totp)).await.unwrap();
    // A wrong code before the right one.
    store.record_login_failure(kim.user_id, t0(), 5, chrono::Duration::minutes(15)).await.unwrap();

    store
        .replace_session("hash-pending", &session_for("full", kim.user_id, SessionStage::Full))
        .await
        .unwrap();
    let again =
        store.replace_session("hash-pending", &session_for("other", kim.user_id, SessionStage::Full)).await;

    assert_eq!(store.session("hash-pending").await.unwrap(), None);
    assert_eq!(store.session("hash-full").await.unwrap().unwrap().stage, SessionStage::Full);
    assert!(matches!(again, Err(StoreError::Refused(_))));
    assert_eq!(store.session("hash-other").await.unwrap(), None);
    assert_eq!(store.user_by_id(kim.user_id).await.unwrap().unwrap().failed_attempts, 0, "the login passed");
    assert_eq!(actions_logged(store.as_ref()).await.last().map(String::as_str), Some(actions::USER_LOGIN));
}

async fn the_review_queue_lists_unlabelled_flagged_decisions_newest_first_until_labelled(s: Subject) {
    let store = s.store;
    let batch = [
        record("e-allow", "01011110000", 1, Action::Allow),
        record("e-review", "01011110000", 2, Action::Review),
        record("e-block", "01022220000", 3, Action::Block),
        record("e-old", "01022220000", -600, Action::Review),
    ];
    store.save(&batch).await.unwrap();

    let queue = store.review_queue(&QueueFilter::since(t0() - minutes(60)), 10).await.unwrap();
    let ids: Vec<&str> = queue.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids, ["e-block", "e-review"]);
    assert_eq!(store.review_queue_size(t0() - minutes(60)).await.unwrap(), 2);
    assert_eq!(store.review_queue_size(t0() - minutes(700)).await.unwrap(), 3);
    assert_eq!(store.review_queue(&QueueFilter::since(t0() - minutes(60)), 1).await.unwrap().len(), 1);

    let label = Label {
        label_id: "l-1".into(),
        event_id: Some("e-block".into()),
        subscriber: None,
        outcome: Outcome::Fraud,
        note: None,
        labelled_by: "kim".into(),
        labelled_at: t0(),
    };
    store.save_label(&label).await.unwrap();
    assert_eq!(store.labels_for_event("e-block").await.unwrap(), std::slice::from_ref(&label));
    assert_eq!(store.labels_for_event("e-review").await.unwrap(), []);
    let queue = store.review_queue(&QueueFilter::since(t0() - minutes(60)), 10).await.unwrap();
    assert_eq!(queue.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(), ["e-review"]);
    assert_eq!(store.review_queue_size(t0() - minutes(60)).await.unwrap(), 1);
}

async fn the_review_queue_filters_by_score_rule_and_family_and_refuses_a_malformed_filter(s: Subject) {
    let store = s.store;
    // The fixtures' decisions carry the rule CB-001 of family carrier_billing and
    // score 40 (see `fixtures::record`).
    let mut block = record("e-block", "01022220000", 3, Action::Block);
    block.decision.score = 90.0;
    let mut other = record("e-other", "01033330000", 4, Action::Review);
    if let fds_core::Reason::Rule { rule_id, family, .. } = &mut other.decision.reasons[0] {
        *rule_id = "CBX001".into();
        *family = "irsf".into();
    }
    store.save(&[record("e-review", "01011110000", 2, Action::Review), block, other]).await.unwrap();
    let since = QueueFilter::since(t0() - minutes(60));
    let ids =
        |decisions: Vec<fds_core::Decision>| decisions.into_iter().map(|d| d.event_id).collect::<Vec<_>>();

    let high = QueueFilter { min_score: Some(50.0), ..since.clone() };
    let rule = QueueFilter { rule_id: Some("CB-001".into()), ..since.clone() };
    // `_` is a LIKE wildcard: escaped, it matches only itself.
    let wildcard = QueueFilter { rule_id: Some("CB_001".into()), ..since.clone() };
    let family = QueueFilter { family: Some("irsf".into()), ..since.clone() };
    let bad = QueueFilter { rule_id: Some("x' OR 1=1".into()), ..since.clone() };

    assert_eq!(ids(store.review_queue(&since, 10).await.unwrap()), ["e-other", "e-block", "e-review"]);
    assert_eq!(ids(store.review_queue(&high, 10).await.unwrap()), ["e-block"]);
    assert_eq!(ids(store.review_queue(&rule, 10).await.unwrap()), ["e-block", "e-review"]);
    assert!(store.review_queue(&wildcard, 10).await.unwrap().is_empty());
    assert_eq!(ids(store.review_queue(&family, 10).await.unwrap()), ["e-other"]);
    assert!(matches!(store.review_queue(&bad, 10).await, Err(StoreError::Refused(_))));
}

async fn an_escalation_is_stored_and_audited(s: Subject) {
    let store = s.store;
    let escalation = store.escalate_case("e-1", "needs the fraud lead", "kim", t0()).await.unwrap();
    store.escalate_case("e-2", "other", "lee", t0()).await.unwrap();

    assert_eq!(store.escalations(&["e-1", "e-9"]).await.unwrap(), std::slice::from_ref(&escalation));
    assert_eq!(escalation.reason, "needs the fraud lead");
    let audit = store.audit_records(0, 10).await.unwrap();
    assert_eq!(audit[0].entry.action, actions::CASE_ESCALATE);
    assert_eq!((audit[0].entry.target.as_str(), audit[0].entry.actor.as_str()), ("event:e-1", "kim"));
}

async fn blocks_are_searched_by_start_and_status_and_released_once_with_their_audit_record(s: Subject) {
    let store = s.store;
    let early = record("e-1", "01011110000", 0, Action::Block);
    let late = record("e-2", "01022220000", 90, Action::Block);
    store.save(&[early.clone(), late.clone()]).await.unwrap();
    let early_id = early.decision.block.as_ref().unwrap().block_id.clone();
    let late_id = late.decision.block.as_ref().unwrap().block_id.clone();
    let (from, to) = (t0() - minutes(10), t0() + minutes(200));
    let now = t0() + minutes(100);
    let ids =
        |records: Vec<crate::BlockRecord>| records.into_iter().map(|r| r.block.block_id).collect::<Vec<_>>();

    assert_eq!(
        ids(store.blocks_between(from, to, BlockStatus::All, now, 10).await.unwrap()),
        [late_id.as_str(), early_id.as_str()]
    );
    assert_eq!(
        ids(store.blocks_between(from, t0() + minutes(60), BlockStatus::All, now, 10).await.unwrap()),
        [early_id.as_str()]
    );

    let release =
        store.release_block(&early_id, "kim", "customer verified", None, now).await.unwrap().unwrap();
    let again = store.release_block(&early_id, "lee", "again", None, now).await.unwrap();
    let unknown = store.release_block("blk-none", "lee", "x", None, now).await.unwrap();
    assert_eq!(release.allow, None);
    let released = release.block;

    assert_eq!(released.released_by.as_deref(), Some("kim"));
    assert_eq!(released.release_reason.as_deref(), Some("customer verified"));
    assert_eq!(released.status_at(now), BlockStatus::Released);
    assert_eq!((again, unknown), (None, None));
    assert_eq!(store.block(&early_id).await.unwrap(), Some(released.clone()));
    assert_eq!(
        ids(store.blocks_between(from, to, BlockStatus::Released, now, 10).await.unwrap()),
        [early_id.as_str()]
    );
    assert_eq!(
        ids(store.blocks_between(from, to, BlockStatus::Active, now, 10).await.unwrap()),
        [late_id.as_str()]
    );
    let a_week_on = t0() + chrono::Duration::days(7);
    assert_eq!(
        ids(store.blocks_between(from, to, BlockStatus::Expired, a_week_on, 10).await.unwrap()),
        [late_id.as_str()]
    );
    assert!(store.active_blocks(now).await.unwrap().iter().all(|b| b.block_id != early_id));

    let audit = store.audit_records(0, 10).await.unwrap();
    assert_eq!(audit.len(), 1, "one release, one record");
    let entry = &audit[0].entry;
    assert_eq!(
        (entry.action.as_str(), entry.target.clone()),
        (audit_actions::BLOCK_RELEASE, format!("block:{early_id}"))
    );
    assert_eq!(entry.before.as_ref().unwrap()["released_at"], serde_json::Value::Null);
    assert_eq!(entry.after.as_ref().unwrap()["release_reason"], "customer verified");
    let raw = serde_json::to_string(&entry.after).unwrap();
    assert!(!raw.contains("01011110000"), "the subscriber in the audit record is sealed");
}

async fn events_read_back_by_id_and_by_subscriber_newest_first(s: Subject) {
    let store = s.store;
    let batch = [
        record("e-1", "01011110000", 1, Action::Allow),
        record("e-2", "01011110000", 2, Action::Review),
        record("e-3", "01022220000", 3, Action::Allow),
        // The same moment as e-2: the later id comes first.
        record("e-4", "01011110000", 2, Action::Block),
    ];
    store.save(&batch).await.unwrap();

    assert_eq!(store.event("e-2").await.unwrap(), Some(batch[1].event.clone()));
    assert_eq!(store.event("e-9").await.unwrap(), None);
    let timeline = store.events_for_subscriber("010-1111-0000", 10).await.unwrap();
    assert_eq!(timeline, [batch[3].event.clone(), batch[1].event.clone(), batch[0].event.clone()]);
    let latest = store.events_for_subscriber("01011110000", 2).await.unwrap();
    assert_eq!(latest, [batch[3].event.clone(), batch[1].event.clone()]);
    assert!(store.events_for_subscriber("01033330000", 10).await.unwrap().is_empty());
}
