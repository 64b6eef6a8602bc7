//! Logging in and out: the password (argon2id), the lockout after repeated
//! failures, the TOTP second factor (required for admins and publishers, enrolled
//! at their first login), logout and "log out everywhere", and the language switch.
//!
//! The login form has no session yet, so its CSRF token is a double-submit cookie.
//! An unknown login costs the same hashing as a wrong password and gets the same
//! answer. A session that passed the password but not the second factor may only
//! reach the TOTP pages; passing it replaces the session with a new id.

use super::i18n::{tr, Tr};
use super::pages::{self, render};
use super::permission::needs_totp;
use super::session::{self, redirect, set_cookie, Current, LOGIN_COOKIE, SESSION_COOKIE};
use super::{totp, ConsoleState};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use fds_store::{Language, NewSession, Secret, SessionStage, User};
use serde::Deserialize;

/// The issuer authenticator apps show for the console's TOTP entries.
const ISSUER: &str = "FDS";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    tr: &'static Tr,
    csrf: &'a str,
    message: Option<&'a str>,
    login: &'a str,
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    expired: Option<String>,
    lang: Option<String>,
}

/// The language of a page shown before login: `?lang=en`, else Korean.
fn pre_login_lang(lang: Option<&str>) -> Language {
    lang.and_then(Language::parse).unwrap_or_default()
}

fn login_page(state: &ConsoleState, lang: Language, message: Option<&str>, login: &str) -> Response {
    let csrf = session::random_token();
    let mut response = render(&LoginPage { tr: tr(lang), csrf: &csrf, message, login }, lang);
    let cookie = set_cookie(LOGIN_COOKIE, &csrf, 3600, state.config.secure_cookies);
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

/// `GET /console/login`
pub(crate) async fn login_form(State(state): State<ConsoleState>, Query(q): Query<LoginQuery>) -> Response {
    let lang = pre_login_lang(q.lang.as_deref());
    let message = q.expired.is_some().then_some(tr(lang).session_expired);
    login_page(&state, lang, message, "")
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    login: String,
    password: String,
    csrf: String,
    lang: Option<String>,
}

/// `POST /console/login`
pub(crate) async fn login(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = pre_login_lang(form.lang.as_deref());
    let t = tr(lang);
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !totp::constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return pages::bad_request(lang, "the login form expired: reload the page and try again");
    }
    let store = state.store();
    let now = state.now();
    let user = match store.user_by_login(form.login.trim()).await {
        Ok(user) => user,
        Err(e) => return pages::internal(lang, e),
    };
    let Some(user) = user.filter(|u| !u.disabled) else {
        // As costly as a real check, and the same answer.
        super::password::verify_password(&form.password, super::password::dummy_hash());
        return login_page(&state, lang, Some(t.login_failed), &form.login);
    };
    if user.locked_at(now) {
        return login_page(&state, lang, Some(t.login_locked), &form.login);
    }
    if !super::password::verify_password(&form.password, user.password_hash.expose()) {
        return match count_failure(&state, &user).await {
            Ok(true) => login_page(&state, lang, Some(t.login_locked), &form.login),
            Ok(false) => login_page(&state, lang, Some(t.login_failed), &form.login),
            Err(response) => response,
        };
    }
    let stage = if user.totp_enabled {
        SessionStage::Totp
    } else if needs_totp(&user.roles) {
        SessionStage::Enrol
    } else {
        SessionStage::Full
    };
    if stage == SessionStage::Enrol {
        let mut secret = [0u8; totp::SECRET_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        let secret = Secret::new(totp::base32_encode(&secret));
        if let Err(e) = store.set_totp(user.user_id, Some(&secret), false, &user.login, now).await {
            return pages::internal(lang, e);
        }
    }
    let (id, new) = new_session(&state, &user, stage);
    if let Err(e) = store.open_session(&new).await {
        return pages::internal(lang, e);
    }
    // Sessions past their absolute end are removed here, at the rate people log in.
    if let Err(e) = store.purge_sessions(now).await {
        tracing::warn!(error = %e, "removing ended console sessions failed");
    }
    let to = if stage == SessionStage::Full { "/console/" } else { session::second_factor_path(stage) };
    with_session_cookie(&state, redirect(to), &id)
}

/// Counts a failed password or code; whether the account is now locked.
async fn count_failure(state: &ConsoleState, user: &User) -> Result<bool, Response> {
    let lock_for = chrono::Duration::from_std(state.config.lock_for).unwrap_or(chrono::Duration::minutes(15));
    match state
        .store()
        .record_login_failure(user.user_id, state.now(), state.config.lock_after, lock_for)
        .await
    {
        Ok(failure) => Ok(failure.locked_until.is_some()),
        Err(e) => Err(pages::internal(user.language, e)),
    }
}

/// A new session id and what the store keeps of it.
fn new_session(state: &ConsoleState, user: &User, stage: SessionStage) -> (String, NewSession) {
    let id = session::random_token();
    let now = state.now();
    let absolute =
        chrono::Duration::from_std(state.config.absolute_timeout).unwrap_or(chrono::Duration::hours(12));
    let new = NewSession {
        id_hash: session::id_hash(&id),
        user_id: user.user_id,
        stage,
        csrf_token: Secret::new(session::random_token()),
        created_at: now,
        expires_at: now + absolute,
    };
    (id, new)
}

fn with_session_cookie(state: &ConsoleState, mut response: Response, id: &str) -> Response {
    let max_age = state.config.absolute_timeout.as_secs() as i64;
    let cookie = set_cookie(SESSION_COOKIE, id, max_age, state.config.secure_cookies);
    response.headers_mut().append(SET_COOKIE, cookie);
    let spent = set_cookie(LOGIN_COOKIE, "", 0, state.config.secure_cookies);
    response.headers_mut().append(SET_COOKIE, spent);
    response
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    tr: &'static Tr,
    csrf: &'a str,
    message: Option<&'a str>,
    /// Set when enrolling: the URI and secret to add to the app.
    enrol: Option<(String, String)>,
}

fn totp_page(current: &Current, message: Option<&str>) -> Response {
    let t = tr(current.lang());
    let enrol = match (current.session.stage, &current.user.totp_secret) {
        (SessionStage::Enrol, Some(secret)) => Some((
            totp::otpauth_uri(ISSUER, &current.user.login, secret.expose()),
            secret.expose().to_string(),
        )),
        _ => None,
    };
    render(&TotpPage { tr: t, csrf: current.session.csrf_token.expose(), message, enrol }, current.lang())
}

/// `GET /console/totp`
pub(crate) async fn totp_form(Extension(current): Extension<Current>) -> Response {
    if current.session.stage == SessionStage::Enrol {
        return redirect("/console/enrol");
    }
    totp_page(&current, None)
}

/// `GET /console/enrol`
pub(crate) async fn enrol_form(Extension(current): Extension<Current>) -> Response {
    if current.session.stage != SessionStage::Enrol {
        return redirect("/console/totp");
    }
    totp_page(&current, None)
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    code: String,
}

/// `POST /console/totp` and `POST /console/enrol`: checks the code, then
/// replaces the pending session by a full one.
pub(crate) async fn totp(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Form(form): Form<CodeForm>,
) -> Response {
    second_factor(&state, &current, &form.code).await
}

pub(crate) async fn enrol(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Form(form): Form<CodeForm>,
) -> Response {
    second_factor(&state, &current, &form.code).await
}

async fn second_factor(state: &ConsoleState, current: &Current, code: &str) -> Response {
    let user = &current.user;
    let lang = user.language;
    let now = state.now();
    if user.locked_at(now) {
        return totp_page(current, Some(tr(lang).login_locked));
    }
    let secret = user.totp_secret.as_ref().and_then(|s| totp::base32_decode(s.expose()));
    let Some(secret) = secret else {
        return pages::internal(lang, "a second-factor session without a TOTP secret");
    };
    let step = totp::verify(&secret, code, now.timestamp());
    let fresh = match step {
        Some(step) => match state.store().use_totp_step(user.user_id, step).await {
            Ok(fresh) => fresh,
            Err(e) => return pages::internal(lang, e),
        },
        None => false,
    };
    if !fresh {
        return match count_failure(state, user).await {
            Ok(true) => totp_page(current, Some(tr(lang).login_locked)),
            Ok(false) => totp_page(current, Some(tr(lang).totp_failed)),
            Err(response) => response,
        };
    }
    let store = state.store();
    if current.session.stage == SessionStage::Enrol {
        if let Err(e) = store.set_totp(user.user_id, user.totp_secret.as_ref(), true, &user.login, now).await
        {
            return pages::internal(lang, e);
        }
        // Enabling cleared the used step: mark this code used again.
        if let Some(step) = step {
            if let Err(e) = store.use_totp_step(user.user_id, step).await {
                return pages::internal(lang, e);
            }
        }
    }
    let (id, new) = new_session(state, user, SessionStage::Full);
    if let Err(e) = store.replace_session(&current.session.id_hash, &new).await {
        return pages::internal(lang, e);
    }
    with_session_cookie(state, redirect("/console/"), &id)
}

/// `POST /console/logout`
pub(crate) async fn logout(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    if let Err(e) = state.store().end_session(&current.session.id_hash, true, state.now()).await {
        return pages::internal(current.lang(), e);
    }
    logged_out(&state)
}

/// `POST /console/logout-everywhere`: ends every session of the user.
pub(crate) async fn logout_everywhere(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    let user = &current.user;
    if let Err(e) = state.store().end_user_sessions(user.user_id, &user.login, state.now()).await {
        return pages::internal(user.language, e);
    }
    logged_out(&state)
}

fn logged_out(state: &ConsoleState) -> Response {
    let mut response = redirect("/console/login");
    let remove = set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies);
    response.headers_mut().append(SET_COOKIE, remove);
    response.into_response()
}

#[derive(Deserialize)]
pub(crate) struct LanguageForm {
    lang: String,
    back: Option<String>,
}

/// `POST /console/language`: the user's language, kept with the account.
pub(crate) async fn language(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Form(form): Form<LanguageForm>,
) -> Response {
    let Some(lang) = Language::parse(&form.lang) else {
        return pages::bad_request(current.lang(), "lang must be ko or en");
    };
    if let Err(e) = state.store().set_user_language(current.user.user_id, lang).await {
        return pages::internal(current.lang(), e);
    }
    // Only back into the console: never an open redirect.
    let back = form
        .back
        .filter(|b| b.starts_with("/console/") && !b.starts_with("//") && !b.contains("://"))
        .unwrap_or_else(|| "/console/".into());
    redirect(&back)
}
