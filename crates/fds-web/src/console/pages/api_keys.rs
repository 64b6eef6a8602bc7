//! The admin's API keys page: the keys made in the console (name, scopes, the
//! digest prefix that names them in logs, who made them, revoked or not), making a
//! key — generated here, shown once, stored as its SHA-256 only — and revoking one.
//! Audited by the store (`api_key.create`, `api_key.revoke`); the API of this
//! process accepts or refuses the key at once (`ApiKeys::load_stored`), other
//! replicas within `STORED_KEYS_EVERY`. The configured keys (`api.keys`) are not
//! listed: they live in the configuration, not the store.

use super::{render, when, Chrome};
use crate::console::session::Current;
use crate::console::ConsoleState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use fds_store::{ApiScope, NewApiKey, StoreError};
use std::collections::BTreeSet;

pub(crate) struct KeyRow {
    key_id: i64,
    label: String,
    name: String,
    scopes: String,
    created: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    all_scopes: Vec<&'static str>,
    /// A key just made, shown this once: (name, key).
    new_key: Option<(String, String)>,
}

async fn keys_page(state: &ConsoleState, current: &Current, new_key: Option<(String, String)>) -> Response {
    let lang = current.lang();
    let keys = match state.store().api_keys().await {
        Ok(keys) => keys,
        Err(e) => return super::internal(lang, e),
    };
    let keys = keys
        .into_iter()
        .rev()
        .map(|k| KeyRow {
            key_id: k.key_id,
            label: k.label(),
            scopes: k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            created: format!("{}, {}", k.created_by, when(k.created_at)),
            revoked: match (&k.revoked_by, k.revoked_at) {
                (Some(by), Some(at)) => Some(format!("{by}, {}", when(at))),
                _ => None,
            },
            name: k.name,
        })
        .collect();
    let page = ApiKeysPage {
        chrome: Chrome::new(current, "/console/admin/api-keys"),
        keys,
        all_scopes: ApiScope::ALL.iter().map(|s| s.as_str()).collect(),
        new_key,
    };
    render(&page, lang)
}

/// `GET /console/admin/api-keys`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    keys_page(&state, &current, None).await
}

/// Reloads the keys the API accepts; a failure is logged (the poll retries).
async fn reload(state: &ConsoleState) {
    if let Err(e) = state.api_keys.load_stored(state.store().as_ref()).await {
        tracing::error!(error = %e, "reloading the API keys after a change failed");
    }
}

/// `POST /console/admin/api-keys`: `name` and one or more `scope`.
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    body: Bytes,
) -> Response {
    let lang = current.lang();
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let name =
        fields.iter().find(|(k, _)| k == "name").map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let scopes: Option<BTreeSet<ApiScope>> =
        fields.iter().filter(|(k, _)| k == "scope").map(|(_, v)| ApiScope::parse(v)).collect();
    let Some(scopes) = scopes else {
        return super::bad_request(lang, "a scope is not one of score, blocks, labels, backtests");
    };
    let (key, digest) = crate::auth::generate_key();
    let new = NewApiKey {
        name: name.clone(),
        scopes,
        digest,
        created_by: current.user.login.clone(),
        created_at: state.now(),
    };
    match state.store().create_api_key(&new).await {
        Ok(_) => {
            reload(&state).await;
            keys_page(&state, &current, Some((name, key))).await
        }
        Err(StoreError::Refused(why)) => super::bad_request(lang, &why),
        Err(e) => super::internal(lang, e),
    }
}

/// `POST /console/admin/api-keys/{key_id}/revoke`
pub(crate) async fn revoke(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(key_id): Path<String>,
) -> Response {
    let lang = current.lang();
    let Ok(key_id) = key_id.parse::<i64>() else {
        return super::bad_request(lang, "the key number must be a number");
    };
    match state.store().revoke_api_key(key_id, &current.user.login, state.now()).await {
        Ok(Some(_)) => {
            reload(&state).await;
            super::super::session::redirect("/console/admin/api-keys")
        }
        Ok(None) => super::bad_request(lang, "there is no unrevoked key with this number"),
        Err(e) => super::internal(lang, e),
    }
}
