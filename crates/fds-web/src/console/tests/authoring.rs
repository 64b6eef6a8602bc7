//! Rule authoring and suppressions through the console, on the harness of
//! `tests.rs` with the pack seeded in the store (rules and their fixtures).

use super::*;
use fds_rules::PackFiles;

const BIG_GIFT_CARD: &str = "carrier_billing_abuse/cba_big_gift_card.rhai";

/// The harness's two rules with fixtures, as the store's version 1.
pub(super) async fn seed(console: &Console) {
    let dir = console._dir.path().join("rules");
    let mut files = PackFiles::read_dir(&dir).expect("the library reads");
    files
        .insert(
            "carrier_billing_abuse/cba_second_payment.test.toml",
            "[[case]]\nname = \"second\"\nexpect = \"hit\"\nhistory = [{ type = \"payment\", amount = 10000, \
             method = \"carrier_billing\", merchant_id = \"m\", merchant_category = \"retail\" }]\n\
             [case.event]\ntype = \"payment\"\namount = 10000\nmethod = \"carrier_billing\"\nmerchant_id = \"m\"\n\
             merchant_category = \"retail\"\n\n[[case]]\nname = \"first\"\nexpect = \"no_hit\"\n[case.event]\n\
             type = \"payment\"\namount = 10000\nmethod = \"carrier_billing\"\nmerchant_id = \"m\"\n\
             merchant_category = \"retail\"\n",
        )
        .expect("fixture path");
    files
        .insert(
            "carrier_billing_abuse/cba_big_gift_card.test.toml",
            "[[case]]\nname = \"large\"\nexpect = \"hit\"\n[case.event]\ntype = \"payment\"\namount = 500000\n\
             method = \"carrier_billing\"\nmerchant_id = \"g\"\nmerchant_category = \"gift_card\"\n\n[[case]]\n\
             name = \"small\"\nexpect = \"no_hit\"\n[case.event]\ntype = \"payment\"\namount = 5000\n\
             method = \"carrier_billing\"\nmerchant_id = \"g\"\nmerchant_category = \"gift_card\"\n",
        )
        .expect("fixture path");
    files
        .insert(
            "carrier_billing_abuse/cba_fourth_payment.test.toml",
            "[[case]]\nname = \"fourth\"\nexpect = \"hit\"\nfeatures = { payments_count_1h = 4 }\n[case.event]\n\
             type = \"payment\"\namount = 10000\nmethod = \"carrier_billing\"\nmerchant_id = \"m\"\n\
             merchant_category = \"retail\"\n\n[[case]]\nname = \"third\"\nexpect = \"no_hit\"\n\
             features = { payments_count_1h = 3 }\n[case.event]\ntype = \"payment\"\namount = 10000\n\
             method = \"carrier_billing\"\nmerchant_id = \"m\"\nmerchant_category = \"retail\"\n",
        )
        .expect("fixture path");
    let features = console.pipeline.scorer().features().clone();
    let store = console.pipeline.store();
    fds_pipeline::rulebook::seed(store.as_ref(), &files, &features, "seed", t0())
        .await
        .expect("the pack checks")
        .expect("seeded");
    console.pipeline.reload_rules().await.expect("the seeded pack loads");
}

/// The gift card rule with its threshold lowered to 100,000 KRW.
fn lowered_rule() -> String {
    "// id: cba_big_gift_card\n// name: Large gift card purchase\n// family: carrier_billing_abuse\n\
     // action: review\n// score: 45\n// events: payment\n// description: A gift card above 100,000 KRW.\n\
     e.merchant_category == \"gift_card\" && e.amount > 100000\n"
        .to_string()
}

/// Waits (polling the page) until backtest `path` is no longer running.
async fn finished(console: &Console, path: &str, browser: &Browser) -> Answer {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = console.get(path, Some(browser)).await;
        if !page.body.contains("data-state=\"running\"") {
            return page;
        }
        assert!(std::time::Instant::now() < deadline, "the backtest did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_builders_draft_is_checked_backtested_run_in_shadow_and_published_by_a_publisher() {
    let console = Console::start().await;
    seed(&console).await;
    console.add_user("builder", &[Role::RuleBuilder]).await;
    console.add_user("pub", &[Role::Publisher]).await;
    // A gift card of 200,000 KRW: allowed by the live pack, reviewed by the draft.
    console.score(Console::payment("pay-1", 0, 200_000)).await;
    console.clock.advance(chrono::Duration::minutes(5));
    let builder = console.login("builder").await;

    let form = console.get(&format!("/console/rules/drafts/new?path={BIG_GIFT_CARD}"), Some(&builder)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("e.amount &#62; 300000") || form.body.contains("e.amount &gt; 300000"));
    let csrf = form.csrf();
    let broken = console
        .post(
            "/console/rules/drafts",
            Some(&builder),
            &[
                ("csrf", &csrf),
                ("path", BIG_GIFT_CARD),
                ("body", "// id: cba_big_gift_card\ne.amount >"),
                ("do", "check"),
            ],
        )
        .await;
    assert_eq!(broken.status, StatusCode::OK);
    assert!(broken.body.contains(KO.check_failed) && broken.body.contains(BIG_GIFT_CARD), "{}", broken.body);
    let rule = lowered_rule();
    let checked = console
        .post(
            "/console/rules/drafts",
            Some(&builder),
            &[("csrf", &csrf), ("path", BIG_GIFT_CARD), ("body", &rule), ("do", "check")],
        )
        .await;
    assert!(checked.body.contains(KO.check_ok), "{}", checked.body);
    assert!(console.pipeline.store().rule_changes(None).await.unwrap().is_empty(), "a check saves nothing");
    let saved = console
        .post(
            "/console/rules/drafts",
            Some(&builder),
            &[
                ("csrf", &csrf),
                ("title", "lower the gift card threshold"),
                ("path", BIG_GIFT_CARD),
                ("body", &rule),
                ("do", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let draft = saved.location().to_string();
    let change_id: i64 = draft.rsplit('/').next().unwrap().parse().unwrap();

    let page = console.get(&draft, Some(&builder)).await;
    assert!(page.body.contains("+e.merchant_category") && page.body.contains("100000"), "{}", page.body);
    assert!(page.body.contains(KO.check_ok));
    assert!(!page.body.contains("id=\"publish-form\""), "a builder is not offered the publish");
    let shadow =
        console.post(&format!("{draft}/shadow"), Some(&builder), &[("csrf", &csrf), ("shadow", "on")]).await;
    assert_eq!(shadow.status, StatusCode::SEE_OTHER);
    assert!(console.pipeline.store().rule_change(change_id).await.unwrap().unwrap().shadow);

    let day = t0().date_naive().to_string();
    let started = console
        .post(&format!("{draft}/backtest"), Some(&builder), &[("csrf", &csrf), ("from", &day), ("to", &day)])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let report = finished(&console, started.location(), &builder).await;
    assert!(report.body.contains("data-state=\"done\""), "{}", report.body);
    assert!(report.body.contains("id=\"bt-changed\">1<"), "one decision changes: {}", report.body);
    let refused = console.post(&format!("{draft}/publish"), Some(&builder), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a builder cannot publish");

    let publisher = console.login_with_totp("pub").await;
    let page = console.get(&draft, Some(&publisher)).await;
    assert!(page.body.contains("id=\"publish-form\"") && !page.body.contains("id=\"publish-blocked\""));
    let published =
        console.post(&format!("{draft}/publish"), Some(&publisher), &[("csrf", &page.csrf())]).await;

    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert!(published.body.contains(KO.published_as));
    assert!(console.pipeline.scorer().rules().version().starts_with("v2-"), "live here at once");
    let v2 = console.get("/console/rules/versions/2", Some(&publisher)).await;
    assert!(v2.body.contains(BIG_GIFT_CARD) && v2.body.contains("+e.merchant_category"), "{}", v2.body);
    let actions = console.audit_actions().await;
    for action in ["rules.draft.create", "rules.shadow.start", "rules.publish"] {
        assert!(actions.contains(&action.to_string()), "{action}: {actions:?}");
    }
    // Another subscriber's first payment, so only the gift card rule can hit.
    let mut other = Console::payment("pay-2", 10, 200_000);
    other["subscriber"] = serde_json::json!("01099990000");
    console.score(other).await;
    let decision = console.pipeline.decision_for_event("pay-2").await.unwrap().unwrap();
    assert_eq!(decision.action, fds_core::Action::Review, "the published rule decides");
}

#[tokio::test]
async fn a_publisher_cannot_publish_their_own_draft_and_the_page_says_why() {
    let console = Console::start().await;
    seed(&console).await;
    console.add_user("both", &[Role::RuleBuilder, Role::Publisher]).await;
    let both = console.login_with_totp("both").await;
    let form = console.get("/console/rules/drafts/new", Some(&both)).await;
    let rule = lowered_rule();
    let saved = console
        .post(
            "/console/rules/drafts",
            Some(&both),
            &[
                ("csrf", &form.csrf()),
                ("title", "mine"),
                ("path", BIG_GIFT_CARD),
                ("body", &rule),
                ("do", "save"),
            ],
        )
        .await;
    let draft = saved.location().to_string();

    let page = console.get(&draft, Some(&both)).await;
    assert!(page.body.contains("id=\"publish-blocked\"") && page.body.contains(KO.publish_not_own));
    assert!(page.body.contains("id=\"publish\" disabled"));
    let forced = console.post(&format!("{draft}/publish"), Some(&both), &[("csrf", &page.csrf())]).await;

    assert_eq!(forced.status, StatusCode::CONFLICT);
    assert!(forced.body.contains("four eyes"), "the store's refusal is shown: {}", forced.body);
    assert_eq!(console.pipeline.store().rule_pack_versions(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_draft_is_edited_only_by_its_author_and_a_viewer_reads_it_without_forms() {
    let console = Console::start().await;
    seed(&console).await;
    console.add_user("builder", &[Role::RuleBuilder]).await;
    console.add_user("other", &[Role::RuleBuilder]).await;
    console.add_user("lee", &[Role::Viewer]).await;
    let builder = console.login("builder").await;
    let form = console.get("/console/rules/drafts/new", Some(&builder)).await;
    let saved = console
        .post(
            "/console/rules/drafts",
            Some(&builder),
            &[
                ("csrf", &form.csrf()),
                ("title", "a list"),
                ("path", "lists/hot_merchants.txt"),
                ("body", "giftmall-07\r\n"),
                ("do", "save"),
            ],
        )
        .await;
    let draft = saved.location().to_string();
    let change_id: i64 = draft.rsplit('/').next().unwrap().parse().unwrap();
    let stored = console.pipeline.store().rule_change(change_id).await.unwrap().unwrap();
    assert_eq!(stored.files[0].body.as_deref(), Some("giftmall-07\n"), "line ends kept as LF");

    let other = console.login("other").await;
    let csrf = console.get(&draft, Some(&other)).await.csrf();
    let edited = console
        .post(
            &format!("{draft}/files"),
            Some(&other),
            &[("csrf", &csrf), ("path", "lists/hot_merchants.txt"), ("body", "x\n"), ("do", "save")],
        )
        .await;
    assert_eq!(edited.status, StatusCode::BAD_REQUEST, "only the author edits: {}", edited.body);
    let bad_path = console
        .post(
            &format!("{draft}/files"),
            Some(&builder),
            &[
                ("csrf", &csrf_of(&console, &draft, &builder).await),
                ("path", "../etc/passwd"),
                ("body", "x"),
                ("do", "save"),
            ],
        )
        .await;
    assert_eq!(bad_path.status, StatusCode::BAD_REQUEST);
    let viewer = console.login("lee").await;
    let read = console.get(&draft, Some(&viewer)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.body.contains("lists/hot_merchants.txt") && !read.body.contains("id=\"backtest-form\""));
    assert_eq!(console.get("/console/rules/drafts/new", Some(&viewer)).await.status, StatusCode::FORBIDDEN);
}

async fn csrf_of(console: &Console, page: &str, browser: &Browser) -> String {
    console.get(page, Some(browser)).await.csrf()
}

#[tokio::test]
async fn a_suppression_silences_a_rule_for_one_subscriber_until_lifted() {
    let console = Console::start().await;
    seed(&console).await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.add_user("lee", &[Role::Viewer]).await;
    let analyst = console.login("kim").await;
    let added = console
        .submit(
            "/console/rules/suppressions",
            "/console/rules/suppressions",
            &analyst,
            &[
                ("rule", "cba_second_payment"),
                ("kind", "subscriber"),
                ("value", SUBSCRIBER),
                ("days", "7"),
                ("reason", "verified customer"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);

    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    let second = console.pipeline.decision_for_event("pay-2").await.unwrap().unwrap();
    assert_eq!(second.action, fds_core::Action::Allow, "the rule is silenced for this subscriber");
    assert!(console.pipeline.active_block(SUBSCRIBER).is_none());
    let page = console.get("/console/rules/suppressions", Some(&analyst)).await;
    assert!(page.body.contains("010-****-5678") && !page.body.contains(SUBSCRIBER));
    let viewer = console.login("lee").await;
    let refused = console
        .submit(
            "/console/rules/suppressions",
            "/console/rules/suppressions/1/lift",
            &viewer,
            &[("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let lifted = console
        .submit(
            "/console/rules/suppressions",
            "/console/rules/suppressions/1/lift",
            &analyst,
            &[("reason", "done")],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER);
    // Two more payments two hours on, when the window counts only them.
    console.clock.advance(chrono::Duration::minutes(120));
    console.score(Console::payment("pay-3", 120, 10_000)).await;
    console.score(Console::payment("pay-4", 121, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    assert!(console.pipeline.active_block(SUBSCRIBER).is_some(), "the rule blocks again");
    let actions = console.audit_actions().await;
    assert!(
        actions.contains(&"rules.suppress".to_string()) && actions.contains(&"rules.unsuppress".to_string())
    );
}
