//! The console through its router: a real SQLite store in a temporary directory, the
//! real pipeline scoring events with a small rule library, a manual clock. Requests
//! go through the whole router (guards, CSRF, headers) without a socket.

use super::*;
use crate::console::i18n::{EN, KO};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::TimeZone;
use fds_features::{FeatureSet, InMemoryFeatures};
use fds_pipeline::{Clock, ManualClock, PipelineConfig};
use fds_rules::RulePack;
use fds_scoring::{Scorer, ScoringConfig};
use fds_store::{Language, NewUser, Role, Secret};
use std::collections::BTreeSet;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";
const SUBSCRIBER: &str = "01012345678";

fn t0() -> fds_core::Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).single().expect("valid time")
}

/// A rule library: the second payment within an hour blocks payments, the fourth
/// blocks the whole line (a high-severity block), a gift card over 300,000 KRW goes
/// to review.
fn write_library(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("carrier_billing_abuse")).expect("mkdir");
    std::fs::create_dir_all(dir.join("lists")).expect("mkdir");
    std::fs::write(
        dir.join("features.toml"),
        "utc_offset = \"+09:00\"\n[[feature]]\nname = \"payments_count_1h\"\nentity = \"subscriber\"\n\
         agg = \"count\"\nwindow = \"1h\"\ntypes = [\"payment\"]\n",
    )
    .expect("write features");
    std::fs::write(
        dir.join("carrier_billing_abuse/cba_second_payment.rhai"),
        "// id: cba_second_payment\n// name: The second payment within an hour\n// family: carrier_billing_abuse\n\
         // action: block\n// score: 90\n// events: payment\n// scope: payments\n// block_hours: 24\n\
         // description: Blocks at the second payment.\nf.payments_count_1h == 2\n",
    )
    .expect("write rule");
    std::fs::write(
        dir.join("carrier_billing_abuse/cba_big_gift_card.rhai"),
        "// id: cba_big_gift_card\n// name: Large gift card purchase\n// family: carrier_billing_abuse\n\
         // action: review\n// score: 45\n// events: payment\n// description: A gift card above 300,000 KRW.\n\
         e.merchant_category == \"gift_card\" && e.amount > 300000\n",
    )
    .expect("write rule");
    std::fs::write(
        dir.join("carrier_billing_abuse/cba_fourth_payment.rhai"),
        "// id: cba_fourth_payment\n// name: The fourth payment within an hour\n// family: carrier_billing_abuse\n\
         // action: block\n// score: 95\n// events: payment\n// scope: all\n// block_hours: 48\n\
         // description: Cuts the whole line at the fourth payment.\nf.payments_count_1h == 4\n",
    )
    .expect("write rule");
}

struct Console {
    router: axum::Router,
    pipeline: Arc<Pipeline>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

/// A signed-in browser: its session cookie.
#[derive(Clone, Debug)]
struct Browser {
    session: String,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the cookie `name` this answer sets, if any.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.to_string())
    }

    fn cookie_value(&self, name: &str) -> Option<String> {
        let header = self.set_cookie(name)?;
        let value = header.split(';').next()?.split_once('=')?.1.to_string();
        (!value.is_empty()).then_some(value)
    }

    /// The value of the first hidden `csrf` field of the page.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a csrf field") + marker.len();
        self.body[start..].split('"').next().expect("closing quote").to_string()
    }
}

impl Console {
    async fn start() -> Console {
        Console::start_with(ConsoleConfig::default()).await
    }

    async fn start_with(config: ConsoleConfig) -> Console {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = dir.path().join("rules");
        write_library(&rules);
        let features = Arc::new(
            FeatureSet::from_toml_str(&std::fs::read_to_string(rules.join("features.toml")).expect("read"))
                .expect("features parse"),
        );
        let pack = Arc::new(
            RulePack::load_dir(&rules, features.names(), features.utc_offset()).expect("rules load"),
        );
        let scorer = Scorer::new(pack, features.clone(), ScoringConfig::default());
        let vault = Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()));
        let store = fds_store::open(&format!("sqlite://{}", dir.path().join("fds.db").display()), vault)
            .await
            .expect("store opens");
        let clock = Arc::new(ManualClock::new(t0()));
        let pipeline = Arc::new(
            Pipeline::start(
                scorer,
                Arc::new(InMemoryFeatures::new(features)),
                store,
                clock.clone(),
                PipelineConfig::default(),
            )
            .await
            .expect("pipeline starts"),
        );
        let router = console_router(pipeline.clone(), config);
        Console { router, pipeline, clock, _dir: dir }
    }

    async fn add_user(&self, login: &str, roles: &[Role]) {
        let user = NewUser {
            login: login.into(),
            display_name: format!("{login} name"),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            password_hash: Secret::new(hash_password(PASSWORD).expect("hash")),
            language: Language::Ko,
        };
        self.pipeline.store().create_user(&user, "test", t0()).await.expect("user created");
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 4 << 20).await.expect("body");
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, path: &str, browser: Option<&Browser>) -> Answer {
        let mut request = Request::get(path);
        if let Some(b) = browser {
            request = request.header("cookie", format!("fds_session={}", b.session));
        }
        self.send(request.body(Body::empty()).expect("request")).await
    }

    async fn post(&self, path: &str, browser: Option<&Browser>, form: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(form).expect("form");
        let mut request = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        if let Some(b) = browser {
            request = request.header("cookie", format!("fds_session={}", b.session));
        }
        self.send(request.body(Body::from(body)).expect("request")).await
    }

    /// Posts a form with the session's CSRF token, read from `page`.
    async fn submit(&self, page: &str, path: &str, browser: &Browser, form: &[(&str, &str)]) -> Answer {
        let csrf = self.get(page, Some(browser)).await.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(path, Some(browser), &fields).await
    }

    /// Fills in the login form; the answer to the POST.
    async fn try_login(&self, login: &str, password: &str) -> Answer {
        let form = self.get("/console/login", None).await;
        let token = form.cookie_value("fds_login").expect("the login form sets its cookie");
        assert_eq!(form.csrf(), token, "double-submit token");
        let body = serde_urlencoded::to_string([("login", login), ("password", password), ("csrf", &token)])
            .expect("form");
        let request = Request::post("/console/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("fds_login={token}"))
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }

    async fn login(&self, login: &str) -> Browser {
        let answer = self.try_login(login, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location(), "/console/");
        Browser { session: answer.cookie_value("fds_session").expect("a session cookie") }
    }

    /// Logs in an account that needs the second factor, enrolling it on the way.
    async fn login_with_totp(&self, login: &str) -> Browser {
        let first = self.try_login(login, PASSWORD).await;
        assert_eq!(first.location(), "/console/enrol");
        let pending = Browser { session: first.cookie_value("fds_session").expect("pending") };
        let form = self.get("/console/enrol", Some(&pending)).await;
        let user = self.pipeline.store().user_by_login(login).await.unwrap().expect("user");
        let secret = totp::base32_decode(user.totp_secret.expect("secret").expose()).expect("base32");
        let code = totp::code_at(&secret, totp::step_of(self.clock.now().timestamp()));
        let done =
            self.post("/console/enrol", Some(&pending), &[("csrf", &form.csrf()), ("code", &code)]).await;
        assert_eq!(done.location(), "/console/");
        Browser { session: done.cookie_value("fds_session").expect("session") }
    }

    async fn score(&self, event: serde_json::Value) {
        self.pipeline.submit_json(event.to_string().as_bytes()).await.expect("scored");
        self.pipeline.flush().await.expect("stored");
    }

    fn payment(id: &str, minute: i64, amount: i64) -> serde_json::Value {
        serde_json::json!({
            "event_id": id, "occurred_at": (t0() + chrono::Duration::minutes(minute)).to_rfc3339(),
            "subscriber": SUBSCRIBER, "type": "payment", "amount": amount,
            "method": "carrier_billing", "merchant_id": "giftmall-07", "merchant_category": "gift_card"
        })
    }

    async fn audit_actions(&self) -> Vec<String> {
        let records = self.pipeline.store().audit_records(0, 1000).await.expect("audit");
        records.into_iter().map(|r| r.entry.action).collect()
    }
}

// ---- the route table ----

#[tokio::test]
async fn every_route_declares_its_access_and_only_the_login_and_assets_are_public() {
    let console = Console::start().await;
    let routes = routes(ConsoleState {
        pipeline: console.pipeline.clone(),
        config: Arc::default(),
        backtests: Arc::default(),
        api_keys: crate::ApiKeys::default(),
    });
    let public = ["/console/static/{file}", "/console/login", "/console/{*rest}"];
    let table = routes.table().to_vec();
    assert!(table.len() >= 20, "the whole console is in the table");
    let mut seen = std::collections::HashSet::new();
    for route in &table {
        assert!(seen.insert((route.method.clone(), route.path)), "declared twice: {route:?}");
        // Every `{parameter}` becomes a plain segment.
        let path: String = route
            .path
            .split('/')
            .map(|segment| if segment.starts_with('{') { "x" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        match route.access {
            Access::Public => assert!(public.contains(&route.path), "public by mistake: {route:?}"),
            Access::SecondFactor | Access::Needs(_) => {
                let answer = if route.method == axum::http::Method::GET {
                    console.get(&path, None).await
                } else {
                    console.post(&path, None, &[]).await
                };
                assert_eq!(answer.status, StatusCode::SEE_OTHER, "anonymous {route:?} is let in");
                assert!(answer.location().starts_with("/console/login"), "{route:?}");
            }
        }
    }
}

#[tokio::test]
async fn a_route_added_around_the_table_never_serves_its_content() {
    let console = Console::start().await;
    let mut routes = Routes::new(ConsoleState {
        pipeline: console.pipeline.clone(),
        config: Arc::default(),
        backtests: Arc::default(),
        api_keys: crate::ApiKeys::default(),
    });
    let sneaky = std::mem::take(routes.router_mut())
        .route("/console/sneaky", axum::routing::get(|| async { "secret data" }));
    *routes.router_mut() = sneaky;
    let router = routes.into_router();

    let response = router
        .oneshot(Request::get("/console/sneaky").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
    assert!(!String::from_utf8_lossy(&body).contains("secret data"));
}

#[tokio::test]
async fn every_console_response_carries_the_security_headers() {
    let console = Console::start().await;
    for path in ["/console/login", "/console/static/console.css", "/console/nowhere", "/console/dashboard"] {
        let answer = console.get(path, None).await;
        let h = |name: &str| answer.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let csp = h("content-security-policy");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
    }
    let page = console.get("/console/login", None).await;
    assert!(!page.body.contains("<script>") && !page.body.contains(" style="), "no inline script or style");
}

#[tokio::test]
async fn behind_tls_cookies_are_secure_and_browsers_are_told_to_keep_to_https() {
    let plain = Console::start().await;
    let tls = Console::start_with(ConsoleConfig { secure_cookies: true, ..ConsoleConfig::default() }).await;
    for console in [&plain, &tls] {
        console.add_user("kim", &[Role::Viewer]).await;
    }

    let plain_login = plain.try_login("kim", PASSWORD).await;
    let tls_login = tls.try_login("kim", PASSWORD).await;

    assert!(!plain_login.set_cookie("fds_session").unwrap().contains("Secure"));
    assert!(tls_login.set_cookie("fds_session").unwrap().ends_with("; Secure"));
    assert!(plain_login.headers.get("strict-transport-security").is_none());
    assert_eq!(tls_login.headers["strict-transport-security"], "max-age=31536000");
}

// ---- logging in ----

#[tokio::test]
async fn a_login_opens_a_strict_http_only_session_and_pages_are_korean_until_switched() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;

    let answer = console.try_login("kim", PASSWORD).await;
    let cookie = answer.set_cookie("fds_session").expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let browser = Browser { session: answer.cookie_value("fds_session").expect("value") };
    let stored = console.pipeline.store().session(&session::id_hash(&browser.session)).await.unwrap();
    assert!(stored.is_some(), "the store keeps the id only hashed");

    let dashboard = console.get("/console/dashboard", Some(&browser)).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains(KO.nav_dashboard) && dashboard.body.contains("lang=\"ko\""));

    let switched = console
        .submit(
            "/console/dashboard",
            "/console/language",
            &browser,
            &[("lang", "en"), ("back", "/console/queue")],
        )
        .await;
    assert_eq!((switched.status, switched.location()), (StatusCode::SEE_OTHER, "/console/queue"));
    let english = console.get("/console/dashboard", Some(&browser)).await;
    assert!(english.body.contains(EN.nav_dashboard) && english.body.contains("lang=\"en\""));
    assert!(console.audit_actions().await.contains(&"user.login".to_string()));
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes_even_for_the_right_one() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Viewer]).await;

    for _ in 0..4 {
        let wrong = console.try_login("kim", "not the password at all").await;
        assert_eq!(wrong.status, StatusCode::OK);
        assert!(wrong.body.contains(KO.login_failed));
    }
    let fifth = console.try_login("kim", "not the password at all").await;
    assert!(fifth.body.contains(KO.login_locked));
    let right_but_locked = console.try_login("kim", PASSWORD).await;
    assert!(right_but_locked.body.contains(KO.login_locked));
    assert!(right_but_locked.set_cookie("fds_session").is_none());

    console.clock.advance(chrono::Duration::minutes(15));
    console.login("kim").await;
    let unknown = console.try_login("nobody", PASSWORD).await;
    assert!(unknown.body.contains(KO.login_failed), "an unknown login gets the same answer");
    let actions = console.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "user.login_failed").count(), 5);
    assert!(actions.contains(&"user.lockout".to_string()));
}

#[tokio::test]
async fn an_admin_enrols_totp_at_the_first_login_and_needs_a_fresh_code_every_login() {
    let console = Console::start().await;
    console.add_user("park", &[Role::Admin]).await;

    let first = console.try_login("park", PASSWORD).await;
    assert_eq!(first.location(), "/console/enrol");
    let pending = Browser { session: first.cookie_value("fds_session").expect("a pending session") };
    let blocked = console.get("/console/audit", Some(&pending)).await;
    assert_eq!(blocked.location(), "/console/enrol", "no page before the second factor");
    let enrol = console.get("/console/enrol", Some(&pending)).await;
    assert!(enrol.body.contains("otpauth://totp/FDS:park?secret="), "{}", enrol.body);

    let user = console.pipeline.store().user_by_login("park").await.unwrap().unwrap();
    let secret = totp::base32_decode(user.totp_secret.expect("a secret").expose()).expect("base32");
    let code = totp::code_at(&secret, totp::step_of(t0().timestamp()));
    let wrong =
        console.post("/console/enrol", Some(&pending), &[("csrf", &enrol.csrf()), ("code", "000000")]).await;
    assert!(wrong.body.contains(KO.totp_failed) || code == "000000");
    let done =
        console.post("/console/enrol", Some(&pending), &[("csrf", &enrol.csrf()), ("code", &code)]).await;
    assert_eq!(done.location(), "/console/");
    let full = Browser { session: done.cookie_value("fds_session").expect("a new session id") };
    assert_ne!(full.session, pending.session);
    assert_eq!(console.get("/console/audit", Some(&pending)).await.location(), "/console/login");
    assert_eq!(console.get("/console/audit", Some(&full)).await.status, StatusCode::OK);

    // The next login asks for a code; the one already used is refused.
    let second = console.try_login("park", PASSWORD).await;
    assert_eq!(second.location(), "/console/totp");
    let pending = Browser { session: second.cookie_value("fds_session").expect("pending") };
    let form = console.get("/console/totp", Some(&pending)).await;
    let replay =
        console.post("/console/totp", Some(&pending), &[("csrf", &form.csrf()), ("code", &code)]).await;
    assert!(replay.body.contains(KO.totp_failed), "a code is good once");
    console.clock.advance(chrono::Duration::seconds(30));
    let next = totp::code_at(&secret, totp::step_of(console.clock.now().timestamp()));
    let ok = console.post("/console/totp", Some(&pending), &[("csrf", &form.csrf()), ("code", &next)]).await;
    assert_eq!(ok.location(), "/console/");
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    let browser = console.login("kim").await;

    let missing = console.post("/console/language", Some(&browser), &[("lang", "en")]).await;
    let wrong =
        console.post("/console/language", Some(&browser), &[("csrf", "forged"), ("lang", "en")]).await;

    assert_eq!((missing.status, wrong.status), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
    let user = console.pipeline.store().user_by_login("kim").await.unwrap().unwrap();
    assert_eq!(user.language, Language::Ko, "nothing changed");
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_logging_out_everywhere_ends_them_all() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Viewer]).await;
    let one = console.login("kim").await;
    let two = console.login("kim").await;

    console.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(console.get("/console/dashboard", Some(&one)).await.status, StatusCode::OK);
    console.clock.advance(chrono::Duration::minutes(29));
    let idle = console.get("/console/dashboard", Some(&two)).await;
    assert_eq!(idle.location(), "/console/login?expired=1", "two was idle for 58 minutes");
    assert_eq!(console.get("/console/dashboard", Some(&one)).await.status, StatusCode::OK);

    let out = console.submit("/console/dashboard", "/console/logout-everywhere", &one, &[]).await;
    assert_eq!(out.location(), "/console/login");
    assert_eq!(console.get("/console/dashboard", Some(&one)).await.location(), "/console/login");
    assert!(console.audit_actions().await.contains(&"user.logout_all".to_string()));
}

#[tokio::test]
async fn an_active_session_still_ends_twelve_hours_after_its_login() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Viewer]).await;
    let browser = console.login("kim").await;

    for _ in 0..35 {
        console.clock.advance(chrono::Duration::minutes(20));
        assert_eq!(console.get("/console/dashboard", Some(&browser)).await.status, StatusCode::OK);
    }
    console.clock.advance(chrono::Duration::minutes(20));
    let ended = console.get("/console/dashboard", Some(&browser)).await;

    assert_eq!(ended.location(), "/console/login?expired=1");
    assert!(ended.set_cookie("fds_session").is_some_and(|c| c.contains("Max-Age=0")));
    // A session nobody comes back to is removed at a later login.
    let forgotten = console.login("kim").await;
    console.clock.advance(chrono::Duration::hours(13));
    console.login("kim").await;
    let hash = session::id_hash(&forgotten.session);
    assert_eq!(console.pipeline.store().session(&hash).await.unwrap(), None);
}

// ---- cases ----

#[tokio::test]
async fn a_viewer_sees_the_queue_but_is_denied_an_analysts_action() {
    let console = Console::start().await;
    console.add_user("lee", &[Role::Viewer]).await;
    console.score(Console::payment("pay-1", 0, 500_000)).await;
    let viewer = console.login("lee").await;

    let queue = console.get("/console/queue", Some(&viewer)).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("/console/cases/pay-1"));
    let by_rule =
        console.get("/console/queue?rule=cba_big_gift_card&min_score=40&days=1", Some(&viewer)).await;
    assert!(by_rule.body.contains("/console/cases/pay-1"));
    let other_rule = console.get("/console/queue?rule=cba_second_payment", Some(&viewer)).await;
    assert!(!other_rule.body.contains("/console/cases/pay-1"));
    let too_high = console.get("/console/queue?min_score=99", Some(&viewer)).await;
    assert!(!too_high.body.contains("/console/cases/pay-1"));
    for bad in ["days=2", "min_score=lots", "rule=a%20b"] {
        let answer = console.get(&format!("/console/queue?{bad}"), Some(&viewer)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let case = console.get("/console/cases/pay-1", Some(&viewer)).await;
    assert!(!case.body.contains("id=\"confirm-fraud\""), "no action buttons for a viewer");
    let csrf = case.csrf();
    let denied = console
        .post("/console/cases/pay-1/outcome", Some(&viewer), &[("csrf", &csrf), ("outcome", "fraud")])
        .await;

    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.body.contains(KO.denied_text));
    assert!(console.pipeline.store().labels(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_analyst_confirming_fraud_records_a_label_and_the_case_leaves_the_queue() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.score(Console::payment("pay-1", 0, 500_000)).await;
    let analyst = console.login("kim").await;

    let no_reason = console
        .submit("/console/cases/pay-1", "/console/cases/pay-1/outcome", &analyst, &[("outcome", "legit")])
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST, "a false positive needs a reason");
    let confirmed = console
        .submit(
            "/console/cases/pay-1",
            "/console/cases/pay-1/outcome",
            &analyst,
            &[("outcome", "fraud"), ("reason", "customer denies the purchase")],
        )
        .await;

    assert_eq!(confirmed.location(), "/console/queue");
    let labels = console.pipeline.store().labels(10).await.unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!((labels[0].event_id.as_deref(), labels[0].outcome), (Some("pay-1"), fds_core::Outcome::Fraud));
    assert_eq!(labels[0].labelled_by, "kim");
    assert_eq!(labels[0].subscriber.as_ref().map(|s| s.expose()), Some(SUBSCRIBER));
    assert!(!console.get("/console/queue", Some(&analyst)).await.body.contains("/console/cases/pay-1"));
    assert!(console.audit_actions().await.contains(&"label.create".to_string()));

    let escalated = console
        .submit("/console/cases/pay-1", "/console/cases/pay-1/escalate", &analyst, &[("reason", "lead")])
        .await;
    assert_eq!(escalated.status, StatusCode::OK);
    assert!(console.audit_actions().await.contains(&"case.escalate".to_string()));
}

#[tokio::test]
async fn a_bulk_false_positive_labels_every_ticked_case_or_none() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.score(Console::payment("pay-1", 0, 500_000)).await;
    console.score(Console::payment("pay-2", 2, 500_000)).await;
    console.score(Console::payment("pay-3", 4, 500_000)).await;
    let analyst = console.login("kim").await;
    let queue = "/console/queue";
    let page = console.get(queue, Some(&analyst)).await;
    assert!(page.body.contains("name=\"event_id\" value=\"pay-1\""), "{}", page.body);

    let unknown = console
        .submit(
            queue,
            "/console/queue/bulk",
            &analyst,
            &[("event_id", "pay-1"), ("event_id", "nope"), ("outcome", "fraud")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let no_reason = console
        .submit(queue, "/console/queue/bulk", &analyst, &[("event_id", "pay-1"), ("outcome", "legit")])
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    assert!(console.pipeline.store().labels(10).await.unwrap().is_empty(), "nothing labelled");

    let done = console
        .submit(
            queue,
            "/console/queue/bulk",
            &analyst,
            &[
                ("event_id", "pay-1"),
                ("event_id", "pay-2"),
                ("outcome", "legit"),
                ("reason", "family plan top-ups"),
            ],
        )
        .await;

    assert_eq!(done.location(), "/console/queue");
    let labels = console.pipeline.store().labels(10).await.unwrap();
    assert_eq!(labels.len(), 2);
    assert!(labels.iter().all(|l| l.outcome == fds_core::Outcome::Legit && l.labelled_by == "kim"));
    let left = console.get(queue, Some(&analyst)).await;
    assert!(left.body.contains("/console/cases/pay-3") && !left.body.contains("/console/cases/pay-1"));
}

#[tokio::test]
async fn an_event_field_holding_a_script_tag_renders_inert() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    let mut event = Console::payment("pay-x", 0, 500_000);
    event["note"] = serde_json::json!("<script>alert('x')</script>");
    console.score(event).await;
    let analyst = console.login("kim").await;

    let case = console.get("/console/cases/pay-x", Some(&analyst)).await;

    assert_eq!(case.status, StatusCode::OK);
    assert!(case.body.contains("&#60;script&#62;") || case.body.contains("&lt;script&gt;"), "{}", case.body);
    assert!(!case.body.contains("<script>alert"));
}

#[tokio::test]
async fn subscriber_numbers_are_masked_until_an_analyst_reveals_them_which_is_audited() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.add_user("lee", &[Role::Viewer]).await;
    console.score(Console::payment("pay-1", 0, 500_000)).await;
    let analyst = console.login("kim").await;
    let viewer = console.login("lee").await;

    let masked = console.get("/console/cases/pay-1", Some(&analyst)).await;
    assert!(masked.body.contains("010-****-5678") && !masked.body.contains(SUBSCRIBER));
    let queue = console.get("/console/queue", Some(&analyst)).await;
    assert!(!queue.body.contains(SUBSCRIBER));

    let refused = console.submit("/console/cases/pay-1", "/console/cases/pay-1/reveal", &viewer, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let revealed = console.submit("/console/cases/pay-1", "/console/cases/pay-1/reveal", &analyst, &[]).await;
    assert!(revealed.body.contains(SUBSCRIBER));

    let records = console.pipeline.store().audit_records(0, 100).await.unwrap();
    let reveals: Vec<_> = records.iter().filter(|r| r.entry.action == "pii.reveal").collect();
    assert_eq!(reveals.len(), 1);
    assert_eq!((reveals[0].entry.actor.as_str(), reveals[0].entry.target.as_str()), ("kim", "event:pay-1"));
    assert!(!serde_json::to_string(&reveals[0].entry).unwrap().contains(SUBSCRIBER), "sealed in the log");
}

// ---- users ----

#[tokio::test]
async fn an_admin_adds_a_user_whose_shown_password_works_then_disables_them() {
    let console = Console::start().await;
    console.add_user("park", &[Role::Admin]).await;
    let admin = console.login_with_totp("park").await;

    let page = console.get("/console/admin/users", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let created = console
        .post(
            "/console/admin/users",
            Some(&admin),
            &[("csrf", &csrf), ("login", "new.analyst"), ("role", "analyst"), ("role", "viewer")],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let marker = "<span class=\"mono\">";
    let start = created.body.find("id=\"new-password\"").expect("the password is shown");
    let from = created.body[start..].find(marker).expect("password span") + start + marker.len();
    let password = created.body[from..].split('<').next().expect("password").to_string();
    assert_eq!(password.len(), 24);

    let answer = console.try_login("new.analyst", &password).await;
    assert_eq!(answer.location(), "/console/", "the generated password logs in");
    let analyst = Browser { session: answer.cookie_value("fds_session").expect("session") };
    assert_eq!(console.get("/console/admin/users", Some(&analyst)).await.status, StatusCode::FORBIDDEN);

    let disabled =
        console.post("/console/admin/users/new.analyst/disable", Some(&admin), &[("csrf", &csrf)]).await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(console.get("/console/queue", Some(&analyst)).await.location(), "/console/login");
    assert!(console.try_login("new.analyst", &password).await.body.contains(KO.login_failed));
    let myself = console.post("/console/admin/users/park/disable", Some(&admin), &[("csrf", &csrf)]).await;
    assert_eq!(myself.status, StatusCode::BAD_REQUEST, "an admin cannot disable themself");
    let demote = console
        .post("/console/admin/users/park/roles", Some(&admin), &[("csrf", &csrf), ("role", "viewer")])
        .await;
    assert_eq!(demote.status, StatusCode::BAD_REQUEST);
    let actions = console.audit_actions().await;
    assert!(actions.contains(&"user.create".to_string()) && actions.contains(&"user.update".to_string()));
}

#[tokio::test]
async fn a_subscriber_is_found_by_number_in_any_format_and_shown_masked() {
    let console = Console::start().await;
    console.add_user("lee", &[Role::Viewer]).await;
    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    let viewer = console.login("lee").await;

    let search = console
        .submit("/console/subscribers", "/console/subscribers", &viewer, &[("number", "010-1234-5678")])
        .await;
    assert_eq!(search.status, StatusCode::SEE_OTHER);
    let page = search.location().to_string();
    assert!(page.starts_with("/console/subscribers/") && !page.contains(SUBSCRIBER), "{page}");
    let found = console.get(&page, Some(&viewer)).await;

    assert_eq!(found.status, StatusCode::OK);
    assert!(found.body.contains("010-****-5678") && !found.body.contains(SUBSCRIBER));
    assert!(found.body.contains("/console/cases/pay-1") && found.body.contains("/console/cases/pay-2"));
    assert!(found.body.contains("id=\"subscriber-blocks\""), "the block is in force");
    assert!(!found.body.contains("id=\"add-note\""), "a viewer cannot add a note");
    let again =
        console.submit("/console/subscribers", "/console/subscribers", &viewer, &[("number", "+8210")]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    let nobody = console
        .submit("/console/subscribers", "/console/subscribers", &viewer, &[("number", "01099999999")])
        .await;
    let nobody = console.get(nobody.location(), Some(&viewer)).await;
    assert_eq!(nobody.status, StatusCode::OK);
    assert!(!nobody.body.contains("/console/cases/"));
    let junk =
        console.submit("/console/subscribers", "/console/subscribers", &viewer, &[("number", "12")]).await;
    assert_eq!(junk.status, StatusCode::BAD_REQUEST);
    for forged in ["/console/subscribers/01012345678", "/console/subscribers/v1.local.AAAA.BBBB"] {
        assert_eq!(console.get(forged, Some(&viewer)).await.status, StatusCode::NOT_FOUND, "{forged}");
    }
}

#[tokio::test]
async fn the_subscriber_timeline_holds_decisions_blocks_releases_labels_and_notes() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.add_user("lee", &[Role::Viewer]).await;
    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    let block = console.pipeline.active_block(SUBSCRIBER).expect("the second payment blocked");
    let analyst = console.login("kim").await;
    let viewer = console.login("lee").await;

    // From the case, the analyst labels it, opens the subscriber page and writes a
    // note; then releases the block.
    let case = console.get("/console/cases/pay-2", Some(&analyst)).await;
    let page = case.body.split("id=\"subscriber-page\"").next().unwrap().rsplit("href=\"").next().unwrap();
    let page = page.split('"').next().unwrap().to_string();
    assert!(page.starts_with("/console/subscribers/") && !page.contains(SUBSCRIBER), "{page}");
    let labelled = console
        .submit(
            "/console/cases/pay-2",
            "/console/cases/pay-2/outcome",
            &analyst,
            &[("outcome", "fraud"), ("reason", "victim called")],
        )
        .await;
    assert_eq!(labelled.status, StatusCode::SEE_OTHER);
    console.clock.advance(chrono::Duration::minutes(1));
    let notes = format!("{page}/notes");
    let text = "asked to unblock from 010-5555-6666 <script>alert(1)</script>";
    let noted = console.submit(&page, &notes, &analyst, &[("text", text)]).await;
    assert_eq!((noted.status, noted.location()), (StatusCode::SEE_OTHER, page.as_str()));
    let empty = console.submit(&page, &notes, &analyst, &[("text", "  ")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let csrf = console.get(&page, Some(&viewer)).await.csrf();
    let denied = console.post(&notes, Some(&viewer), &[("csrf", &csrf), ("text", "not mine to write")]).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    console.clock.advance(chrono::Duration::minutes(1));
    let release = format!("/console/blocks/{}/release", block.block_id);
    let released =
        console.submit("/console/blocks", &release, &analyst, &[("code", "customer_verified")]).await;
    assert_eq!(released.status, StatusCode::SEE_OTHER);

    let shown = console.get(&page, Some(&viewer)).await;
    assert_eq!(shown.status, StatusCode::OK);
    let body = &shown.body;
    let kinds: Vec<&str> =
        body.split("<tr class=\"timeline-").skip(1).map(|row| row.split('"').next().unwrap()).collect();
    assert_eq!(kinds, ["release", "note", "label", "block", "decision", "decision"], "newest first");
    assert!(body.contains("customer_verified") && body.contains("kim"));
    assert!(body.contains("victim called"));
    assert!(body.contains("asked to unblock from 010-5555-6666 &#60;script&#62;"), "{body}");
    assert!(!body.contains("<script>alert(1)</script>"), "the note renders inert");
    assert!(!body.contains("id=\"subscriber-blocks\""), "no block in force after the release");
    assert!(!body.contains(SUBSCRIBER));
    let audit = console.pipeline.store().audit_records(0, 100).await.unwrap();
    let noted: Vec<_> = audit.iter().filter(|r| r.entry.action == "subscriber.note").collect();
    assert_eq!(noted.len(), 1, "one note kept, audited; the refused ones are not");
    assert_eq!(noted[0].entry.actor, "kim");
}

// ---- blocks, dashboard, audit ----

#[tokio::test]
async fn releasing_a_block_stops_the_api_refusing_payments_and_is_audited() {
    let console = Console::start().await;
    console.add_user("kim", &[Role::Analyst]).await;
    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(2));
    let block = console.pipeline.active_block(SUBSCRIBER).expect("the second payment blocked");
    let analyst = console.login("kim").await;

    let listed = console.get("/console/blocks?status=active", Some(&analyst)).await;
    assert!(listed.body.contains(&block.block_id) && listed.body.contains("010-****-5678"));
    let csv = console.get("/console/blocks.csv?status=active", Some(&analyst)).await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(lines[0].starts_with("block_id,subscriber,scope"));
    assert!(lines[1].starts_with(&format!("{},010-****-5678,payments,", block.block_id)));
    assert!(!csv.body.contains(SUBSCRIBER));
    let path = format!("/console/blocks/{}/release", block.block_id);
    let no_note = console.submit("/console/blocks", &path, &analyst, &[("code", "other")]).await;
    assert_eq!(no_note.status, StatusCode::BAD_REQUEST);
    let released = console.submit("/console/blocks", &path, &analyst, &[("code", "customer_verified")]).await;

    assert_eq!(released.status, StatusCode::SEE_OTHER);
    assert!(console.pipeline.active_block(SUBSCRIBER).is_none(), "payments flow again at once");
    let stored = console.pipeline.store().block(&block.block_id).await.unwrap().unwrap();
    assert_eq!(
        (stored.released_by.as_deref(), stored.release_reason.as_deref()),
        (Some("kim"), Some("customer_verified"))
    );
    assert!(console.audit_actions().await.contains(&"block.release".to_string()));
    let again = console.submit("/console/blocks", &path, &analyst, &[("code", "duplicate")]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_dashboard_counts_decisions_and_refuses_an_unknown_window() {
    let console = Console::start().await;
    console.add_user("lee", &[Role::Viewer]).await;
    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.score(Console::payment("pay-3", 2, 500_000)).await;
    console.clock.advance(chrono::Duration::minutes(10));
    let viewer = console.login("lee").await;

    let page = console.get("/console/dashboard?window=7d", Some(&viewer)).await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"decisions-total\">3<"), "{}", page.body);
    assert!(page.body.contains("id=\"decisions-block\">1<"));
    assert!(page.body.contains("cba_second_payment"));
    assert!(page.body.contains("data-refresh=\"60\""));
    let bad = console.get("/console/dashboard?window=1y", Some(&viewer)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad_date = console.get("/console/blocks?from=yesterday", Some(&viewer)).await;
    assert_eq!(bad_date.status, StatusCode::BAD_REQUEST);
    assert_eq!(console.get("/console/audit", Some(&viewer)).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_rules_page_lists_the_live_rules_with_their_hits() {
    let console = Console::start().await;
    console.add_user("lee", &[Role::RuleBuilder]).await;
    console.score(Console::payment("pay-1", 0, 10_000)).await;
    console.score(Console::payment("pay-2", 1, 10_000)).await;
    console.clock.advance(chrono::Duration::minutes(10));
    let builder = console.login("lee").await;

    let page = console.get("/console/rules", Some(&builder)).await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(console.pipeline.scorer().rules().version()));
    let row = page.body.split("id=\"rule-cba_second_payment\"").nth(1).expect("the rule's row");
    let row = row.split("</tr>").next().expect("row end");
    assert!(row.contains("<td class=\"num\">1</td><td class=\"num\">1</td>"), "one hit: {row}");
    assert!(page.body.contains("id=\"rule-cba_big_gift_card\""));
    assert_eq!(console.get("/console/queue", Some(&builder)).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_models_page_shows_each_model_with_its_metrics_and_latest_drift() {
    let console = Console::start().await;
    console.add_user("lee", &[Role::Viewer]).await;
    let store = console.pipeline.store();
    let model = fds_store::NewModel {
        version: "anomaly-7".into(),
        kind: fds_store::ModelKind::Anomaly,
        artifact: "{}".into(),
        metrics: serde_json::json!({ "holdout": { "roc_auc": 0.93 } }),
        trained_from: t0() - chrono::Duration::days(30),
        trained_to: t0(),
        feature_schema_hash: "f".repeat(64),
        data_hash: "d".repeat(64),
        created_at: t0(),
        created_by: "trainer".into(),
    };
    store.register_model(&model, fds_store::ModelRole::Champion).await.unwrap();
    let report = fds_store::DriftReport {
        model_version: "anomaly-7".into(),
        day: t0().date_naive(),
        psi: [("amount".to_string(), 0.31), ("score".to_string(), 0.05)].into_iter().collect(),
        needs_retraining: true,
        at: t0(),
    };
    store.save_model_drift(&report).await.unwrap();
    let viewer = console.login("lee").await;

    let page = console.get("/console/models", Some(&viewer)).await;

    assert_eq!(page.status, StatusCode::OK);
    let row = page.body.split("id=\"model-anomaly-7\"").nth(1).expect("the model's row");
    let row = row.split("</tr>").next().expect("row end");
    assert!(row.contains("champion") && row.contains("roc_auc 0.930"), "{row}");
    assert!(row.contains("PSI 0.310") && row.contains(KO.needs_retraining), "{row}");
}

#[tokio::test]
async fn an_auditor_filters_the_audit_log_and_verifies_its_chain() {
    let console = Console::start().await;
    console.add_user("choi", &[Role::Auditor]).await;
    console.add_user("kim", &[Role::Viewer]).await;
    console.login("kim").await;
    let auditor = console.login("choi").await;

    let all = console.get("/console/audit", Some(&auditor)).await;
    assert!(all.body.contains("user.create") && all.body.contains("user.login"));
    let filtered = console.get("/console/audit?action=user.create", Some(&auditor)).await;
    assert!(filtered.body.contains("user.create") && !filtered.body.contains(">user.login<"));
    let verified = console.get("/console/audit/verify", Some(&auditor)).await;
    assert!(verified.body.contains(KO.audit_ok), "{}", verified.body);
    assert!(!verified.body.contains(KO.audit_broken));
}

mod admin;
mod authoring;
mod models;
mod releases;
