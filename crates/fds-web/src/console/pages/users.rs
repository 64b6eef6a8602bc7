//! The admin's users page: every account with its roles and state, adding an account
//! (its password generated and shown once), changing roles, disabling and enabling,
//! unlocking, resetting the second factor or the password. Every change is audited
//! by the store (`user.create`, `user.update`, `user.totp`); disabling, a second
//! factor reset and a password reset also end the account's sessions. An admin
//! cannot disable themself or take away their own admin role (so the console always
//! keeps one admin able to act).

use super::{render, Chrome};
use crate::console::i18n::tr;
use crate::console::password::{generate_password, hash_password};
use crate::console::session::Current;
use crate::console::ConsoleState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use fds_store::{Language, NewUser, Role, Secret, StoreError, UserChange};
use std::collections::BTreeSet;

pub(crate) struct UserRow {
    login: String,
    name: String,
    roles: Vec<(&'static str, bool)>,
    state: &'static str,
    disabled: bool,
    locked: bool,
    totp: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    all_roles: Vec<&'static str>,
    message: Option<String>,
    /// A generated password to show once, with the login it is for.
    password: Option<(String, String)>,
}

async fn users_page(
    state: &ConsoleState,
    current: &Current,
    message: Option<String>,
    password: Option<(String, String)>,
) -> Response {
    let lang = current.lang();
    let t = tr(lang);
    let now = state.now();
    let users = match state.store().users().await {
        Ok(users) => users,
        Err(e) => return super::internal(lang, e),
    };
    let users = users
        .into_iter()
        .map(|u| UserRow {
            roles: Role::ALL.iter().map(|r| (r.as_str(), u.has_role(*r))).collect(),
            state: if u.disabled {
                t.state_disabled
            } else if u.locked_at(now) {
                t.state_locked
            } else {
                t.state_active
            },
            disabled: u.disabled,
            locked: u.locked_at(now) || u.failed_attempts > 0,
            totp: u.totp_enabled,
            login: u.login,
            name: u.display_name,
        })
        .collect();
    let page = UsersPage {
        chrome: Chrome::new(current, "/console/admin/users"),
        users,
        all_roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        message,
        password,
    };
    render(&page, lang)
}

/// `GET /console/admin/users`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    users_page(&state, &current, None, None).await
}

/// The form's fields; `role` may repeat.
fn fields(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

fn roles_of(fields: &[(String, String)]) -> Result<BTreeSet<Role>, String> {
    fields
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v.parse::<Role>().map_err(|e| e.to_string()))
        .collect()
}

/// The answer to a store refusal (bad input) or failure.
fn store_error(current: &Current, error: StoreError) -> Response {
    match error {
        StoreError::Refused(why) => super::bad_request(current.lang(), &why),
        other => super::internal(current.lang(), other),
    }
}

/// `POST /console/admin/users`: a new account with a generated password.
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    body: Bytes,
) -> Response {
    let lang = current.lang();
    let form = fields(&body);
    let roles = match roles_of(&form) {
        Ok(roles) => roles,
        Err(why) => return super::bad_request(lang, &why),
    };
    let login = field(&form, "login").unwrap_or_default().to_string();
    let language = match Language::parse(field(&form, "language").unwrap_or("ko")) {
        Some(language) => language,
        None => return super::bad_request(lang, "language must be ko or en"),
    };
    let password = generate_password();
    let hash = match hash_password(&password) {
        Ok(hash) => hash,
        Err(e) => return super::internal(lang, e),
    };
    let user = NewUser {
        display_name: field(&form, "name").filter(|n| !n.is_empty()).unwrap_or(&login).to_string(),
        login,
        roles,
        password_hash: Secret::new(hash),
        language,
    };
    match state.store().create_user(&user, &current.user.login, state.now()).await {
        Ok(created) => users_page(&state, &current, None, Some((created.login, password))).await,
        Err(e) => store_error(&current, e),
    }
}

/// `POST /console/admin/users/{login}/{change}`: `roles`, `disable`, `enable`,
/// `unlock`, `reset-totp`, `reset-password`.
pub(crate) async fn change(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path((login, change)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let lang = current.lang();
    let store = state.store();
    let now = state.now();
    let actor = current.user.login.as_str();
    let myself = login == current.user.login;
    let target = match store.user_by_login(&login).await {
        Ok(Some(user)) => user,
        Ok(None) => return super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
        Err(e) => return super::internal(lang, e),
    };
    let mut password = None;
    let mut end_sessions = false;
    let update = match change.as_str() {
        "roles" => {
            let roles = match roles_of(&fields(&body)) {
                Ok(roles) => roles,
                Err(why) => return super::bad_request(lang, &why),
            };
            if myself && !roles.contains(&Role::Admin) {
                return super::bad_request(lang, "you cannot take away your own admin role");
            }
            Some(UserChange { roles: Some(roles), ..UserChange::default() })
        }
        "disable" if myself => return super::bad_request(lang, "you cannot disable your own account"),
        "disable" => {
            end_sessions = true;
            Some(UserChange { disabled: Some(true), ..UserChange::default() })
        }
        "enable" => Some(UserChange { disabled: Some(false), ..UserChange::default() }),
        "unlock" => Some(UserChange { unlock: true, ..UserChange::default() }),
        "reset-password" => {
            let new = generate_password();
            let hash = match hash_password(&new) {
                Ok(hash) => hash,
                Err(e) => return super::internal(lang, e),
            };
            password = Some((login.clone(), new));
            end_sessions = true;
            Some(UserChange { password_hash: Some(Secret::new(hash)), ..UserChange::default() })
        }
        "reset-totp" => {
            if let Err(e) = store.set_totp(target.user_id, None, false, actor, now).await {
                return store_error(&current, e);
            }
            end_sessions = true;
            None
        }
        _ => return super::error_page(lang, super::Page::NotFound, axum::http::StatusCode::NOT_FOUND),
    };
    if let Some(update) = update {
        if let Err(e) = store.update_user(&login, &update, actor, now).await {
            return store_error(&current, e);
        }
    }
    if end_sessions {
        if let Err(e) = store.end_user_sessions(target.user_id, actor, now).await {
            return super::internal(lang, e);
        }
    }
    users_page(&state, &current, Some(tr(lang).user_saved.to_string()), password).await
}
