//! Server-side sessions: the cookie holds a random 256-bit id, the store only its
//! SHA-256. Each request through a guarded route loads the session, ends it when it
//! is past its idle or absolute timeout or its user is disabled, checks the route's
//! [`Access`] and, for every POST, the session's CSRF token in the form field
//! `csrf` before the handler sees the request.

use super::pages::{self, Page};
use super::permission::{allows, Access};
use super::ConsoleState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fds_store::{Language, Session, SessionStage, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "fds_session";
/// The login form's double-submit CSRF cookie (there is no session yet).
pub(crate) const LOGIN_COOKIE: &str = "fds_login";
/// Largest form body a guarded POST may send.
const FORM_LIMIT: usize = 64 * 1024;
/// A session's `last_seen_at` is written at most this often (seconds).
const TOUCH_EVERY_SECONDS: i64 = 60;

/// The logged-in user of a request, put in its extensions by the guard.
#[derive(Clone, Debug)]
pub(crate) struct Current {
    pub(crate) user: User,
    pub(crate) session: Session,
}

impl Current {
    pub(crate) fn lang(&self) -> Language {
        self.user.language
    }

    pub(crate) fn can(&self, permission: super::permission::Permission) -> bool {
        allows(&self.user.roles, permission)
    }
}

/// A new random token: 256 bits, hex.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps of a session id.
pub(crate) fn id_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The value of cookie `name` in the request, if sent.
pub(crate) fn cookie(request_headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    request_headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/console`, Secure when
/// the console is served over (or behind) TLS; `max_age` 0 removes the cookie.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A redirect (303, so a POST is followed by a GET).
pub(crate) fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// A redirect to the login form that also removes the session cookie.
fn to_login(state: &ConsoleState, why: &str) -> Response {
    let mut response = redirect(&format!("/console/login{why}"));
    let remove = set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies);
    response.headers_mut().append(SET_COOKIE, remove);
    response
}

/// Loads the session of the request, ending it when it has timed out or its user
/// is gone or disabled. `Err` is the response to send instead.
async fn load(state: &ConsoleState, headers: &axum::http::HeaderMap) -> Result<Current, Response> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Err(to_login(state, ""));
    };
    let hash = id_hash(&id);
    let store = state.store();
    let now = state.now();
    let session = match store.session(&hash).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(to_login(state, "")),
        Err(e) => return Err(pages::internal(Language::Ko, e)),
    };
    let idle = chrono::Duration::from_std(state.config.idle_timeout).unwrap_or(chrono::Duration::MAX);
    let timed_out = now >= session.expires_at || now - session.last_seen_at >= idle;
    let user = match store.user_by_id(session.user_id).await {
        Ok(user) => user.filter(|u| !u.disabled),
        Err(e) => return Err(pages::internal(Language::Ko, e)),
    };
    let Some(user) = user.filter(|_| !timed_out) else {
        if let Err(e) = store.end_session(&hash, false, now).await {
            return Err(pages::internal(Language::Ko, e));
        }
        return Err(to_login(state, "?expired=1"));
    };
    if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
        if let Err(e) = store.touch_session(&hash, now).await {
            return Err(pages::internal(user.language, e));
        }
    }
    Ok(Current { user, session })
}

/// Checks `access` for `request`, and the CSRF token of a POST, then runs the handler.
pub(crate) async fn guard(state: &ConsoleState, access: Access, request: Request, next: Next) -> Response {
    let current = match access {
        Access::Public => return next.run(request).await,
        Access::SecondFactor => match load(state, request.headers()).await {
            Ok(current) if current.session.stage != SessionStage::Full => current,
            Ok(_) => return redirect("/console/"),
            Err(response) => return response,
        },
        Access::Needs(permission) => match load(state, request.headers()).await {
            Ok(current) if current.session.stage != SessionStage::Full => {
                return redirect(second_factor_path(current.session.stage));
            }
            Ok(current) if !current.can(permission) => {
                return pages::error_page(current.lang(), Page::Denied, StatusCode::FORBIDDEN);
            }
            Ok(current) => current,
            Err(response) => return response,
        },
    };
    let request = if request.method() == Method::POST {
        match check_csrf(request, &current).await {
            Ok(request) => request,
            Err(response) => return response,
        }
    } else {
        request
    };
    let mut request = request;
    request.extensions_mut().insert(current);
    next.run(request).await
}

/// Where a session part way through the login goes next.
pub(crate) fn second_factor_path(stage: SessionStage) -> &'static str {
    match stage {
        SessionStage::Enrol => "/console/enrol",
        SessionStage::Totp | SessionStage::Full => "/console/totp",
    }
}

/// Reads the form body, compares its `csrf` field with the session's token and
/// gives the request back with the body restored.
async fn check_csrf(request: Request, current: &Current) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| pages::error_page(current.lang(), Page::BadRequest, StatusCode::PAYLOAD_TOO_LARGE))?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let sent = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    let expected = current.session.csrf_token.expose();
    if !super::totp::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        tracing::warn!(login = %current.user.login, "a console form was refused: CSRF token missing or wrong");
        return Err(pages::error_page(current.lang(), Page::Denied, StatusCode::FORBIDDEN));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; fds_session=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "fds"), None);
    }

    #[test]
    fn the_session_cookie_is_http_only_strict_and_secure_when_asked() {
        let plain = set_cookie(SESSION_COOKIE, "x", 60, false);
        let secure = set_cookie(SESSION_COOKIE, "x", 60, true);
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict") && !plain.contains("Secure"));
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn tokens_are_256_random_bits_and_stored_only_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(id_hash(&a).len(), 64);
        assert_ne!(id_hash(&a), a);
    }
}
