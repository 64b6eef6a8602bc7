//! Two-person releases and allow entries, on both backends.

use crate::audit::actions as audit_actions;
use crate::fixtures::{minutes, record, t0};
use crate::releases::actions;
use crate::test_db::Subject;
use crate::{RequestState, StoreError};
use fds_core::Action;

on_both_backends!(
    a_release_request_is_decided_once_and_never_by_the_person_who_asked,
    an_approved_request_releases_the_block_and_grants_its_allow_entry_in_one_step,
    a_rejected_request_leaves_the_block_in_force,
    a_direct_release_can_allow_the_subscriber_for_a_limited_time,
    released_blocks_are_read_back_from_a_point_in_time,
);

/// Saves one block decision and returns its block id.
async fn stored_block(s: &Subject, event_id: &str, subscriber: &str) -> String {
    let r = record(event_id, subscriber, 0, Action::Block);
    s.store.save(std::slice::from_ref(&r)).await.unwrap();
    r.decision.block.expect("a block decision has a block").block_id
}

async fn a_release_request_is_decided_once_and_never_by_the_person_who_asked(s: Subject) {
    let block_id = stored_block(&s, "e-1", "01011110000").await;
    let store = s.store;
    let now = t0() + minutes(10);

    let request =
        store.request_block_release(&block_id, "kim", "customer verified", None, now).await.unwrap();
    let twice = store.request_block_release(&block_id, "lee", "again", None, now).await;
    let unknown = store.request_block_release("blk-none", "kim", "x", None, now).await;
    let no_reason = store.request_block_release(&block_id, "kim", " ", None, now).await;
    let too_long = store.request_block_release(&block_id, "kim", "x", Some(365), now).await;

    assert_eq!((request.state, request.requested_by.as_str()), (RequestState::Pending, "kim"));
    for refused in [twice, unknown, no_reason, too_long] {
        assert!(matches!(refused, Err(StoreError::Refused(_))), "{refused:?}");
    }
    let by_self = store.decide_block_release(request.request_id, "kim", true, "", now).await;
    assert!(
        matches!(by_self, Err(StoreError::Refused(ref why)) if why.contains("second person")),
        "{by_self:?}"
    );
    assert!(store.block(&block_id).await.unwrap().unwrap().released_at.is_none(), "nothing released");
    assert_eq!(store.release_requests(true, 10).await.unwrap(), std::slice::from_ref(&request));
    assert!(store.decide_block_release(999, "lee", true, "", now).await.unwrap().is_none());

    let decided =
        store.decide_block_release(request.request_id, "lee", false, "not verified", now).await.unwrap();
    let again = store.decide_block_release(request.request_id, "park", true, "", now).await;

    assert_eq!(decided.unwrap().request.state, RequestState::Rejected);
    assert!(matches!(again, Err(StoreError::Refused(_))));
    assert!(store.release_requests(true, 10).await.unwrap().is_empty());
    let audit: Vec<String> =
        store.audit_records(0, 10).await.unwrap().into_iter().map(|r| r.entry.action).collect();
    assert_eq!(audit, [actions::RELEASE_REQUEST, actions::RELEASE_REJECT]);
}

async fn an_approved_request_releases_the_block_and_grants_its_allow_entry_in_one_step(s: Subject) {
    let block_id = stored_block(&s, "e-1", "01011110000").await;
    let store = s.store;
    let now = t0() + minutes(10);
    let request =
        store.request_block_release(&block_id, "kim", "customer verified", Some(7), now).await.unwrap();

    let decided = store
        .decide_block_release(request.request_id, "lee", true, "checked the call", now)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(decided.request.state, RequestState::Approved);
    assert_eq!(decided.request.decided_by.as_deref(), Some("lee"));
    let release = decided.release.expect("approved: released");
    assert_eq!(release.block.released_by.as_deref(), Some("kim"));
    assert!(release.block.release_reason.as_deref().unwrap().contains("approved by lee"));
    let allow = release.allow.expect("the allow entry asked for");
    assert_eq!((allow.since, allow.until), (now, now + chrono::Duration::days(7)));
    assert_eq!(allow.subscriber.expose(), "01011110000");
    assert_eq!(store.allow_entries(now).await.unwrap(), std::slice::from_ref(&allow));
    assert!(store.allow_entries(now + chrono::Duration::days(7)).await.unwrap().is_empty(), "it ends");
    assert!(store.active_blocks(now).await.unwrap().is_empty());
    let audit = store.audit_records(0, 10).await.unwrap();
    let names: Vec<&str> = audit.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(
        names,
        [actions::RELEASE_REQUEST, actions::RELEASE_APPROVE, audit_actions::BLOCK_RELEASE, actions::ALLOW]
    );
    let raw = serde_json::to_string(&audit[3].entry.after).unwrap();
    assert!(!raw.contains("01011110000"), "the allowed subscriber is sealed in the log");
}

async fn a_rejected_request_leaves_the_block_in_force(s: Subject) {
    let block_id = stored_block(&s, "e-1", "01011110000").await;
    let store = s.store;
    let now = t0() + minutes(10);
    let request = store.request_block_release(&block_id, "kim", "asked", Some(3), now).await.unwrap();

    store.decide_block_release(request.request_id, "lee", false, "no", now).await.unwrap();

    assert_eq!(store.active_blocks(now).await.unwrap().len(), 1);
    assert!(store.allow_entries(now).await.unwrap().is_empty());
    let retry = store.request_block_release(&block_id, "kim", "asked again", None, now).await.unwrap();
    assert_eq!(store.release_requests(false, 10).await.unwrap().first(), Some(&retry), "newest first");
}

async fn a_direct_release_can_allow_the_subscriber_for_a_limited_time(s: Subject) {
    let block_id = stored_block(&s, "e-1", "01011110000").await;
    let store = s.store;
    let now = t0() + minutes(10);

    let release =
        store.release_block(&block_id, "kim", "false_positive", Some(2), now).await.unwrap().unwrap();

    let allow = release.allow.expect("an allow entry");
    assert_eq!(allow.until, now + chrono::Duration::days(2));
    assert_eq!(store.allow_entries(now + chrono::Duration::days(1)).await.unwrap(), [allow]);
    let refused = store.release_block(&block_id, "kim", "x", Some(0), now).await;
    assert!(matches!(refused, Err(StoreError::Refused(_))), "zero days is refused before anything");
}

async fn released_blocks_are_read_back_from_a_point_in_time(s: Subject) {
    let first = stored_block(&s, "e-1", "01011110000").await;
    let second = stored_block(&s, "e-2", "01022220000").await;
    let store = s.store;
    store.release_block(&first, "kim", "duplicate", None, t0() + minutes(10)).await.unwrap();
    store.release_block(&second, "kim", "duplicate", None, t0() + minutes(20)).await.unwrap();
    let ids =
        |records: Vec<crate::BlockRecord>| records.into_iter().map(|r| r.block.block_id).collect::<Vec<_>>();

    assert_eq!(ids(store.blocks_released_since(t0(), 10).await.unwrap()), [first.clone(), second.clone()]);
    assert_eq!(ids(store.blocks_released_since(t0() + minutes(15), 10).await.unwrap()), [second]);
    assert_eq!(ids(store.blocks_released_since(t0(), 1).await.unwrap()), [first]);
    assert!(store.blocks_released_since(t0() + minutes(30), 10).await.unwrap().is_empty());
}
