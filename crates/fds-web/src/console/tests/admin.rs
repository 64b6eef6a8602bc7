//! The admin's API keys and settings pages, with the API mounted beside the console
//! so a key made in the console is tried against the API itself.

use super::*;

const CONFIGURED_KEY: &str = "configured-key-0123456789";

/// The harness with the API's router merged in, sharing one set of keys, and
/// settings lines for the settings page.
async fn with_api() -> Console {
    let console = Console::start().await;
    let keys = crate::ApiKeys::new(&[CONFIGURED_KEY]);
    let config = ConsoleConfig {
        settings: vec![
            ("store.url".into(), "postgres://fds:***@db/fds".into()),
            ("api.keys".into(), "1 configured (hidden)".into()),
        ],
        ..ConsoleConfig::default()
    };
    let api = crate::ApiConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        keys: keys.clone(),
        deadline: std::time::Duration::from_secs(1),
        on_deadline: crate::Degraded::Error,
    };
    let backtests = Arc::new(crate::backtests::Backtests::default());
    let router = console_router_with(console.pipeline.clone(), config, backtests.clone(), keys)
        .merge(crate::router_with(api, console.pipeline.clone(), backtests));
    Console { router, ..console }
}

async fn api_get(console: &Console, path: &str, key: &str) -> StatusCode {
    let request = Request::get(path).header("authorization", format!("Bearer {key}")).body(Body::empty());
    console.send(request.expect("request")).await.status
}

async fn api_score(console: &Console, key: &str) -> StatusCode {
    let body = Console::payment("api-1", 0, 10_000).to_string();
    let request = Request::post("/v1/score")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body));
    console.send(request.expect("request")).await.status
}

#[tokio::test]
async fn a_key_made_in_the_console_is_shown_once_works_in_its_scope_only_and_stops_when_revoked() {
    let console = with_api().await;
    console.add_user("park", &[Role::Admin]).await;
    console.add_user("kim", &[Role::Analyst]).await;
    let admin = console.login_with_totp("park").await;
    let blocks = format!("/v1/blocks/{SUBSCRIBER}");

    let made = console
        .submit(
            "/console/admin/api-keys",
            "/console/admin/api-keys",
            &admin,
            &[("name", "block checker"), ("scope", "blocks")],
        )
        .await;

    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let marker = "<span class=\"mono\">";
    let start = made.body.find("id=\"new-api-key\"").expect("the key is shown");
    let from = made.body[start..].find(marker).expect("key span") + start + marker.len();
    let key = made.body[from..].split('<').next().expect("key").to_string();
    assert!(key.starts_with("fds_"), "{key}");
    let stored = console.pipeline.store().api_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!format!("{stored:?}").contains(&key), "only the digest is stored");
    let listed = console.get("/console/admin/api-keys", Some(&admin)).await;
    assert!(!listed.body.contains(&key), "shown once");
    assert!(listed.body.contains(&stored[0].label()));

    assert_ne!(api_get(&console, &blocks, &key).await, StatusCode::UNAUTHORIZED, "its scope works");
    assert_eq!(api_score(&console, &key).await, StatusCode::UNAUTHORIZED, "another scope does not");
    assert_eq!(api_get(&console, &blocks, "fds_not-a-key").await, StatusCode::UNAUTHORIZED);
    assert_ne!(
        api_score(&console, CONFIGURED_KEY).await,
        StatusCode::UNAUTHORIZED,
        "configured keys hold all"
    );

    let revoke = format!("/console/admin/api-keys/{}/revoke", stored[0].key_id);
    let analyst = console.login("kim").await;
    assert_eq!(
        console.submit("/console/dashboard", &revoke, &analyst, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let revoked = console.submit("/console/admin/api-keys", &revoke, &admin, &[]).await;

    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(api_get(&console, &blocks, &key).await, StatusCode::UNAUTHORIZED, "refused at once");
    let actions = console.audit_actions().await;
    assert!(
        actions.contains(&"api_key.create".to_string()) && actions.contains(&"api_key.revoke".to_string())
    );
}

#[tokio::test]
async fn the_settings_page_shows_the_effective_configuration_to_admins_only() {
    let console = with_api().await;
    console.add_user("park", &[Role::Admin]).await;
    console.add_user("kim", &[Role::Analyst]).await;
    let admin = console.login_with_totp("park").await;

    let page = console.get("/console/admin/settings", Some(&admin)).await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("store.url") && page.body.contains("postgres://fds:***@db/fds"));
    let analyst = console.login("kim").await;
    assert_eq!(console.get("/console/admin/settings", Some(&analyst)).await.status, StatusCode::FORBIDDEN);
}
