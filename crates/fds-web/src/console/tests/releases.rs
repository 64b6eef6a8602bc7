//! Two-person releases of high-severity blocks and the allow entries a release
//! grants, through the blocks page.

use super::*;

/// Scores four payments in a minute of each other: the second blocks payments, the
/// fourth the whole line. Returns (payments block id, whole-line block id).
async fn two_blocks(console: &Console) -> (String, String) {
    for minute in 0..4 {
        console.score(Console::payment(&format!("pay-{minute}"), minute, 10_000)).await;
    }
    console.clock.advance(chrono::Duration::minutes(5));
    let store = console.pipeline.store();
    let block_of = |event: &'static str| async move {
        let decision = store.decision_for_event(event).await.unwrap().expect("stored");
        decision.block.expect("a block").block_id
    };
    (block_of("pay-1").await, block_of("pay-3").await)
}

#[tokio::test]
async fn a_high_severity_release_waits_for_a_second_analyst_who_approves_it() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.add_user("lee", &[Role::Analyst]).await;
    let (_, line) = two_blocks(&console).await;
    assert_eq!(console.pipeline.active_block(SUBSCRIBER).map(|b| b.block_id), Some(line.clone()));
    let kim = console.login("kim").await;

    let page = console.get("/console/blocks?status=active", Some(&kim)).await;
    assert!(page.body.contains(KO.high_severity) && page.body.contains(KO.request_release));
    let asked = console
        .submit(
            "/console/blocks",
            &format!("/console/blocks/{line}/release"),
            &kim,
            &[("code", "customer_verified")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert!(asked.location().contains("requested="), "{}", asked.location());
    assert_eq!(
        console.pipeline.active_block(SUBSCRIBER).map(|b| b.block_id),
        Some(line.clone()),
        "one analyst does not release a high-severity block"
    );
    let waiting = console.get(asked.location(), Some(&kim)).await;
    assert!(waiting.body.contains("id=\"release-requested\"") && waiting.body.contains(KO.waiting_second));
    let request_id = console.pipeline.store().release_requests(true, 10).await.unwrap()[0].request_id;
    let approve = format!("/console/blocks/requests/{request_id}/approve");
    let by_self = console.submit("/console/blocks", &approve, &kim, &[("note", "me")]).await;
    assert_eq!(by_self.status, StatusCode::BAD_REQUEST, "the asker cannot approve: {}", by_self.body);

    let lee = console.login("lee").await;
    let offered = console.get("/console/blocks", Some(&lee)).await;
    assert!(offered.body.contains(&approve), "the second analyst is offered the approval");
    let approved =
        console.submit("/console/blocks", &approve, &lee, &[("note", "called the customer")]).await;

    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let stored = console.pipeline.store().block(&line).await.unwrap().unwrap();
    assert_eq!(stored.released_by.as_deref(), Some("kim"));
    assert!(stored.release_reason.unwrap().contains("approved by lee"));
    assert_eq!(
        console.pipeline.active_block(SUBSCRIBER).map(|b| b.scope),
        Some(fds_core::BlockScope::Payments),
        "the whole-line block is gone at once; the payments block stays"
    );
    let actions = console.audit_actions().await;
    for action in ["block.release_request", "block.release_approve", "block.release"] {
        assert!(actions.contains(&action.to_string()), "{action}");
    }
}

#[tokio::test]
async fn a_rejected_release_keeps_the_block() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.add_user("lee", &[Role::Analyst]).await;
    console.add_user("viewer", &[Role::Viewer]).await;
    let (_, line) = two_blocks(&console).await;
    let kim = console.login("kim").await;
    console
        .submit("/console/blocks", &format!("/console/blocks/{line}/release"), &kim, &[("code", "duplicate")])
        .await;
    let request_id = console.pipeline.store().release_requests(true, 10).await.unwrap()[0].request_id;
    let viewer = console.login("viewer").await;
    let reject = format!("/console/blocks/requests/{request_id}/reject");
    assert_eq!(console.submit("/console/blocks", &reject, &viewer, &[]).await.status, StatusCode::FORBIDDEN);

    let lee = console.login("lee").await;
    let rejected = console.submit("/console/blocks", &reject, &lee, &[("note", "not verified")]).await;

    assert_eq!(rejected.status, StatusCode::SEE_OTHER);
    assert_eq!(console.pipeline.active_block(SUBSCRIBER).map(|b| b.block_id), Some(line));
    assert!(console.audit_actions().await.contains(&"block.release_reject".to_string()));
}

#[tokio::test]
async fn a_release_that_allows_the_subscriber_lowers_their_next_block_to_review_until_it_ends() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    let block = console.pipeline.active_block(SUBSCRIBER).expect("blocked");
    let kim = console.login("kim").await;
    let path = format!("/console/blocks/{}/release", block.block_id);
    let too_long = console
        .submit("/console/blocks", &path, &kim, &[("code", "false_positive"), ("allow_days", "365")])
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);

    let released = console
        .submit("/console/blocks", &path, &kim, &[("code", "false_positive"), ("allow_days", "3")])
        .await;

    assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.body);
    // Two payments two hours on would block again; the allow entry lowers it to review.
    console.clock.advance(chrono::Duration::minutes(120));
    console.score(Console::payment("pay-3", 120, 10_000)).await;
    console.score(Console::payment("pay-4", 121, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    let allowed = console.pipeline.decision_for_event("pay-4").await.unwrap().unwrap();
    assert_eq!(allowed.action, fds_core::Action::Review);
    assert!(allowed.block.is_none());
    assert!(allowed.reasons.iter().any(|r| matches!(r, fds_core::Reason::Allowed { .. })));
    assert!(console.pipeline.active_block(SUBSCRIBER).is_none());
    assert!(console.audit_actions().await.contains(&"block.allow".to_string()));

    // Four days on, the entry has ended: the rule blocks again.
    console.clock.advance(chrono::Duration::days(4));
    let later = 4 * 24 * 60 + 10;
    console.score(Console::payment("pay-5", later, 10_000)).await;
    console.score(Console::payment("pay-6", later + 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(20));
    let blocked = console.pipeline.decision_for_event("pay-6").await.unwrap().unwrap();
    assert_eq!(blocked.action, fds_core::Action::Block);
}

#[tokio::test]
async fn an_allow_entry_granted_on_one_replica_reaches_another_at_its_next_poll() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    // A second process on the same store, started before the release.
    let scorer = console.pipeline.scorer();
    let replica = Pipeline::start(
        scorer.with_rules(scorer.rules().clone()),
        Arc::new(InMemoryFeatures::new(scorer.features().clone())),
        console.pipeline.store().clone(),
        console.clock.clone(),
        PipelineConfig::default(),
    )
    .await
    .expect("the replica starts");
    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    let block = console.pipeline.active_block(SUBSCRIBER).expect("blocked");
    let kim = console.login("kim").await;
    let path = format!("/console/blocks/{}/release", block.block_id);
    console.submit("/console/blocks", &path, &kim, &[("code", "false_positive"), ("allow_days", "3")]).await;

    assert_eq!(replica.reload_allows().await.unwrap(), 1, "the replica reads the entry");
    // The replica's own velocity state: two payments of the subscriber within an hour.
    console.clock.advance(chrono::Duration::minutes(120));
    for (id, minute) in [("pay-r1", 120), ("pay-r2", 121)] {
        let event = Console::payment(id, minute, 10_000).to_string();
        replica.submit_json(event.as_bytes()).await.expect("scored");
    }
    let decided = replica.decision_for_event("pay-r2").await.unwrap().expect("decided");
    assert_eq!(decided.action, fds_core::Action::Review, "allowed on the replica too");
}

#[tokio::test]
async fn a_block_released_on_one_replica_is_forgotten_by_another_at_its_next_poll() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    // A second process on the same store, which loads the block at its start.
    let scorer = console.pipeline.scorer();
    let replica = Pipeline::start(
        scorer.with_rules(scorer.rules().clone()),
        Arc::new(InMemoryFeatures::new(scorer.features().clone())),
        console.pipeline.store().clone(),
        console.clock.clone(),
        PipelineConfig::default(),
    )
    .await
    .expect("the replica starts");
    let block = replica.active_block(SUBSCRIBER).expect("the replica refuses the subscriber");
    assert_eq!(replica.reload_releases().await.unwrap(), 0);
    let kim = console.login("kim").await;
    let path = format!("/console/blocks/{}/release", block.block_id);

    console.submit("/console/blocks", &path, &kim, &[("code", "customer_verified")]).await;

    assert!(replica.active_block(SUBSCRIBER).is_some(), "until its poll");
    assert_eq!(replica.reload_releases().await.unwrap(), 1);
    assert!(replica.active_block(SUBSCRIBER).is_none(), "forgotten at its poll");
}
