//! The behavioural suite of rule packs in the store, on both backends: the seed,
//! drafts published by a second person as the next version, refusals that write
//! nothing, shadow switches, suppressions and shadow tallies — each audited.

use crate::fixtures::{minutes, t0, vault};
use crate::packs::actions;
use crate::test_db::Subject;
use crate::{ChangeState, ChangedFile, EntityKind, NewSuppression, ShadowTally, StoreError};
use fds_rules::PackFiles;

on_both_backends!(
    seeding_publishes_version_one_once_and_is_audited,
    a_draft_published_by_another_person_becomes_the_next_version_and_the_old_one_stays_readable,
    a_stale_or_conflicting_publish_is_refused_and_writes_nothing,
    only_the_author_edits_or_withdraws_a_draft_and_a_withdrawn_draft_is_never_published,
    only_drafts_run_in_shadow_and_shadow_tallies_add_up_per_rule,
    suppressions_are_sealed_audited_and_silence_only_while_in_force,
);

const RULE: &str = "sim_swap_takeover/ss_demo.rhai";
const FIXTURE: &str = "sim_swap_takeover/ss_demo.test.toml";
const LIST: &str = "lists/deny_subscribers.txt";

fn seed_files() -> PackFiles {
    let mut files = PackFiles::new();
    files.insert(RULE, "// id: ss_demo\ne.channel == \"online\"\n").unwrap();
    files.insert(FIXTURE, "[[case]]\nname = \"hit\"\n").unwrap();
    files.insert(LIST, "01000000001\n").unwrap();
    files
}

fn write(path: &str, body: &str) -> ChangedFile {
    ChangedFile { path: path.into(), body: Some(body.into()) }
}

fn remove(path: &str) -> ChangedFile {
    ChangedFile { path: path.into(), body: None }
}

fn refused(result: Result<impl std::fmt::Debug, StoreError>, says: &str) {
    match result {
        Err(StoreError::Refused(why)) => {
            assert!(why.contains(says), "refused for {why:?}, expected {says:?}")
        }
        other => panic!("expected a refusal saying {says:?}, got {other:?}"),
    }
}

async fn actions_logged(s: &Subject) -> Vec<(String, String)> {
    let records = s.store.audit_records(0, 100).await.unwrap();
    records.into_iter().map(|r| (r.entry.actor, r.entry.action)).collect()
}

async fn seeding_publishes_version_one_once_and_is_audited(s: Subject) {
    let store = s.store.as_ref();
    assert!(store.rule_pack_versions(10).await.unwrap().is_empty());
    assert_eq!(store.rule_pack_files(1).await.unwrap(), PackFiles::new());
    let epoch = store.rules_epoch().await.unwrap();

    let v1 = store.seed_rule_pack(&seed_files(), "pack-aaa", "seed", t0()).await.unwrap().expect("seeded");
    let again = store.seed_rule_pack(&PackFiles::new(), "pack-bbb", "seed", t0()).await.unwrap();

    assert_eq!((v1.version, v1.content_hash.as_str(), v1.change_id), (1, "pack-aaa", None));
    assert_eq!(v1.label(), "v1-pack-aaa");
    assert_eq!(again, None, "a seeded store is not seeded again");
    assert_eq!(store.rule_pack_versions(10).await.unwrap(), [v1]);
    assert_eq!(store.rule_pack_files(1).await.unwrap(), seed_files());
    assert!(store.rules_epoch().await.unwrap() > epoch);
    assert_eq!(actions_logged(&s).await, [("seed".to_string(), actions::SEED.to_string())]);
}

async fn a_draft_published_by_another_person_becomes_the_next_version_and_the_old_one_stays_readable(
    s: Subject,
) {
    let store = s.store.as_ref();
    store.seed_rule_pack(&seed_files(), "pack-aaa", "seed", t0()).await.unwrap();
    let files = [
        write(RULE, "// id: ss_demo\ne.channel == \"store\"\n"),
        remove(LIST),
        write("lists/stolen_imeis.txt", "350000000000001\n"),
    ];
    let draft =
        store.create_rule_change("tighten ss_demo", "alice", 1, &files, t0() + minutes(1)).await.unwrap();
    assert_eq!((draft.state, draft.base_version, draft.author.as_str()), (ChangeState::Draft, 1, "alice"));
    assert_eq!(draft.files.len(), 3);

    refused(store.publish_rule_change(draft.change_id, "alice", 1, "pack-bbb", t0()).await, "four eyes");
    let epoch = store.rules_epoch().await.unwrap();
    let v2 =
        store.publish_rule_change(draft.change_id, "bob", 1, "pack-bbb", t0() + minutes(2)).await.unwrap();

    assert_eq!((v2.version, v2.change_id, v2.published_by.as_str()), (2, Some(draft.change_id), "bob"));
    assert_eq!(v2.note, "tighten ss_demo");
    let live = store.rule_pack_files(2).await.unwrap();
    let expected = draft.apply_to(&seed_files()).unwrap();
    assert_eq!(live, expected);
    assert_eq!(live.get(LIST), None, "the removed list is gone from v2");
    assert_eq!(store.rule_pack_files(1).await.unwrap(), seed_files(), "v1 reads as it was");
    assert!(store.rules_epoch().await.unwrap() > epoch, "replicas see the publish");

    let published = store.rule_change(draft.change_id).await.unwrap().unwrap();
    assert_eq!(published.state, ChangeState::Published);
    assert_eq!((published.published_version, published.closed_by.as_deref()), (Some(2), Some("bob")));
    refused(store.publish_rule_change(draft.change_id, "carol", 2, "pack-ccc", t0()).await, "published");

    let log = store.audit_records(0, 100).await.unwrap();
    let publish = log.iter().find(|r| r.entry.action == actions::PUBLISH).expect("the publish is audited");
    assert_eq!(publish.entry.actor, "bob");
    let diff = publish.entry.after.as_ref().unwrap()["published"]["diff"].to_string();
    assert!(
        diff.contains("-e.channel == \\\"online\\\"") && diff.contains("+e.channel == \\\"store\\\""),
        "{diff}"
    );
    assert!(diff.contains("+++ /dev/null"), "the removed list shows in the diff: {diff}");
    let create = log.iter().find(|r| r.entry.action == actions::DRAFT_CREATE).expect("the draft is audited");
    assert_eq!(create.entry.actor, "alice");
}

async fn a_stale_or_conflicting_publish_is_refused_and_writes_nothing(s: Subject) {
    let store = s.store.as_ref();
    store.seed_rule_pack(&seed_files(), "pack-aaa", "seed", t0()).await.unwrap();
    let first = store.create_rule_change("one", "alice", 1, &[write(LIST, "1\n")], t0()).await.unwrap();
    let clash = store.create_rule_change("two", "carol", 1, &[write(LIST, "2\n")], t0()).await.unwrap();
    let apart = store.create_rule_change("three", "dave", 1, &[write(RULE, "x\n")], t0()).await.unwrap();
    refused(store.create_rule_change("none", "erin", 7, &[write(LIST, "3\n")], t0()).await, "v7");
    refused(
        store.create_rule_change("bad", "erin", 1, &[write("../etc/passwd", "x")], t0()).await,
        "pack files",
    );

    store.publish_rule_change(first.change_id, "bob", 1, "pack-2", t0()).await.unwrap();
    let audited = store.audit_head().await.unwrap();

    refused(store.publish_rule_change(clash.change_id, "bob", 2, "pack-3", t0()).await, LIST);
    refused(store.publish_rule_change(apart.change_id, "bob", 1, "pack-3", t0()).await, "not v1");
    assert_eq!(store.audit_head().await.unwrap(), audited, "refusals append nothing");
    assert_eq!(store.rule_pack_versions(10).await.unwrap().len(), 2, "refusals publish nothing");
    assert_eq!(store.rule_change(clash.change_id).await.unwrap().unwrap().state, ChangeState::Draft);

    let v3 = store.publish_rule_change(apart.change_id, "bob", 2, "pack-3", t0()).await.unwrap();
    let live = store.rule_pack_files(v3.version).await.unwrap();
    assert_eq!((live.get(LIST), live.get(RULE)), (Some("1\n"), Some("x\n")), "both changes are live");
}

async fn only_the_author_edits_or_withdraws_a_draft_and_a_withdrawn_draft_is_never_published(s: Subject) {
    let store = s.store.as_ref();
    store.seed_rule_pack(&seed_files(), "pack-aaa", "seed", t0()).await.unwrap();
    let draft = store.create_rule_change("edit", "alice", 1, &[write(LIST, "1\n")], t0()).await.unwrap();

    refused(store.update_rule_change(draft.change_id, "bob", &[write(LIST, "2\n")], t0()).await, "author");
    let edited = store
        .update_rule_change(
            draft.change_id,
            "alice",
            &[write(LIST, "3\n"), remove(FIXTURE)],
            t0() + minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(edited.files, [write(LIST, "3\n"), remove(FIXTURE)]);
    assert_eq!(edited.updated_at, t0() + minutes(1));

    refused(store.withdraw_rule_change(draft.change_id, "bob", t0()).await, "author");
    let withdrawn = store.withdraw_rule_change(draft.change_id, "alice", t0() + minutes(2)).await.unwrap();
    assert_eq!((withdrawn.state, withdrawn.closed_by.as_deref()), (ChangeState::Withdrawn, Some("alice")));
    refused(store.publish_rule_change(draft.change_id, "bob", 1, "pack-x", t0()).await, "withdrawn");
    refused(
        store.update_rule_change(draft.change_id, "alice", &[write(LIST, "4\n")], t0()).await,
        "withdrawn",
    );

    assert_eq!(store.rule_changes(Some(ChangeState::Draft)).await.unwrap(), []);
    assert_eq!(store.rule_changes(None).await.unwrap(), [withdrawn]);
    let logged: Vec<String> = actions_logged(&s).await.into_iter().map(|(_, a)| a).collect();
    assert_eq!(
        logged,
        [actions::SEED, actions::DRAFT_CREATE, actions::DRAFT_UPDATE, actions::DRAFT_WITHDRAW]
    );
}

async fn only_drafts_run_in_shadow_and_shadow_tallies_add_up_per_rule(s: Subject) {
    let store = s.store.as_ref();
    store.seed_rule_pack(&seed_files(), "pack-aaa", "seed", t0()).await.unwrap();
    let draft = store.create_rule_change("try", "alice", 1, &[write(LIST, "1\n")], t0()).await.unwrap();
    let epoch = store.rules_epoch().await.unwrap();
    let on = store.set_rule_change_shadow(draft.change_id, "alice", true, t0()).await.unwrap();
    assert!(on.shadow);
    assert!(store.rules_epoch().await.unwrap() > epoch, "replicas start the shadow");

    let tally = |rule: &str, hour: i64, evaluated, hits, overlap, changed| ShadowTally {
        change_id: draft.change_id,
        rule_id: rule.into(),
        hour,
        evaluated,
        hits,
        overlap,
        changed,
    };
    let hour = t0().timestamp() / 3600;
    store
        .add_shadow_tallies(&[tally("", hour, 10, 0, 0, 2), tally("ss_demo", hour, 0, 3, 1, 0)])
        .await
        .unwrap();
    store
        .add_shadow_tallies(&[tally("", hour, 5, 0, 0, 1), tally("ss_demo", hour + 1, 0, 2, 2, 0)])
        .await
        .unwrap();
    let summed = store.shadow_tallies(draft.change_id).await.unwrap();
    assert_eq!(summed, [tally("", 0, 15, 0, 0, 3), tally("ss_demo", 0, 0, 5, 3, 0)]);

    store.publish_rule_change(draft.change_id, "bob", 1, "pack-2", t0()).await.unwrap();
    let published = store.rule_change(draft.change_id).await.unwrap().unwrap();
    assert!(!published.shadow, "a published change leaves the shadow");
    refused(store.set_rule_change_shadow(draft.change_id, "alice", true, t0()).await, "only a draft");
}

async fn suppressions_are_sealed_audited_and_silence_only_while_in_force(s: Subject) {
    let store = s.store.as_ref();
    const NUMBER: &str = "01077778888";
    let new = NewSuppression {
        rule_id: "ss_demo".into(),
        kind: EntityKind::Subscriber,
        value: NUMBER.into(),
        reason: "verified owner, travelling".into(),
        created_by: "ana".into(),
        created_at: t0(),
        expires_at: t0() + minutes(60),
    };
    let mut backwards = new.clone();
    backwards.expires_at = t0();
    refused(store.add_suppression(&backwards).await, "expire after");

    let epoch = store.rules_epoch().await.unwrap();
    let added = store.add_suppression(&new).await.unwrap();
    let merchant = store
        .add_suppression(&NewSuppression { kind: EntityKind::Merchant, value: "M-77".into(), ..new.clone() })
        .await
        .unwrap();
    assert!(store.rules_epoch().await.unwrap() > epoch);
    assert_eq!((added.value.as_str(), added.kind), (NUMBER, EntityKind::Subscriber));
    assert_eq!(merchant.value, "M-77");

    assert_eq!(
        store.suppressions(Some(t0() + minutes(30))).await.unwrap(),
        [added.clone(), merchant.clone()]
    );
    assert_eq!(store.suppressions(Some(t0() + minutes(60))).await.unwrap(), [], "expired");
    assert!(added.is_active(t0()) && !added.is_active(t0() + minutes(60)));

    let lifted =
        store.lift_suppression(added.suppression_id, "ana", "owner confirmed", t0() + minutes(1)).await;
    assert_eq!(lifted.unwrap().map(|l| l.suppression_id), Some(added.suppression_id));
    assert_eq!(store.lift_suppression(added.suppression_id, "ana", "again", t0()).await.unwrap(), None);
    assert_eq!(store.suppressions(Some(t0() + minutes(30))).await.unwrap(), [merchant]);
    assert_eq!(store.suppressions(None).await.unwrap().len(), 2);

    let raw = s.raw_storage().await;
    assert!(!raw.windows(NUMBER.len()).any(|w| w == NUMBER.as_bytes()), "the number is stored sealed");
    let log = store.audit_records(0, 100).await.unwrap();
    let logged: Vec<&str> = log.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(logged, [actions::SUPPRESS, actions::SUPPRESS, actions::UNSUPPRESS]);
    let mut after = log[0].entry.after.clone().unwrap();
    assert_ne!(after["subscriber"], NUMBER, "the audit log holds the number sealed");
    crate::pii::open_json(&vault(), "audit_log", &mut after).unwrap();
    assert_eq!(after["subscriber"], NUMBER);
}
