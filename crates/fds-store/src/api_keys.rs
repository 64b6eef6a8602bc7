//! API keys made in the console: the values both backends trade in and their audit
//! records (SQLite 0009, Postgres 0011). The store keeps only the SHA-256 of a key
//! (hex); the key is generated and shown once by the caller. What a scope lets a
//! client call is the API's business (`fds-web`); the store keeps the names.

use crate::audit::AuditEntry;
use crate::StoreError;
use fds_core::Timestamp;
use serde_json::json;
use std::collections::BTreeSet;

/// The audit actions of API keys.
pub mod actions {
    pub const CREATE: &str = "api_key.create";
    pub const REVOKE: &str = "api_key.revoke";
}

/// What an API key may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiScope {
    /// `POST /v1/score`
    Score,
    /// `GET /v1/blocks/{subscriber}`
    Blocks,
    /// `POST /v1/labels`
    Labels,
    /// `/v1/backtests`
    Backtests,
}

impl ApiScope {
    pub const ALL: [ApiScope; 4] = [ApiScope::Score, ApiScope::Blocks, ApiScope::Labels, ApiScope::Backtests];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Score => "score",
            ApiScope::Blocks => "blocks",
            ApiScope::Labels => "labels",
            ApiScope::Backtests => "backtests",
        }
    }

    pub fn parse(text: &str) -> Option<ApiScope> {
        ApiScope::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A stored API key (its digest, never the key).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeyRecord {
    pub key_id: i64,
    pub name: String,
    pub scopes: BTreeSet<ApiScope>,
    /// Hex SHA-256 of the key.
    pub digest: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    /// How logs and pages name the key: `key:` and the first 8 hex digits of its digest.
    pub fn label(&self) -> String {
        format!("key:{}", self.digest.get(..8).unwrap_or(&self.digest))
    }

    fn audit_json(&self) -> serde_json::Value {
        json!({
            "key_id": self.key_id,
            "key": self.label(),
            "name": self.name,
            "scopes": self.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "revoked": self.revoked_at.is_some(),
        })
    }
}

/// A new key, as the caller made it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: BTreeSet<ApiScope>,
    /// Hex SHA-256 of the key.
    pub digest: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

impl NewApiKey {
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        let mut problems = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push("an API key needs a name of 1 to 100 characters");
        }
        if self.scopes.is_empty() {
            problems.push("an API key needs at least one scope");
        }
        if self.digest.len() != 64 || !self.digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            problems.push("an API key is stored as its hex SHA-256");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Refused(problems.join("; ")))
        }
    }
}

pub(crate) fn scopes_column(scopes: &BTreeSet<ApiScope>) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

/// An `api_keys` row: id, name, scopes, digest, by, at, revoked by, revoked at.
pub(crate) type KeyRow<T> = (i64, String, String, String, String, T, Option<String>, Option<T>);

pub(crate) const KEY_COLUMNS: &str =
    "key_id, name, scopes, digest, created_by, created_at, revoked_by, revoked_at";

pub(crate) fn key_from_row<T>(
    row: KeyRow<T>,
    time: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<ApiKeyRecord, StoreError> {
    let (key_id, name, scopes, digest, created_by, created_at, revoked_by, revoked_at) = row;
    let scopes = scopes
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            ApiScope::parse(s).ok_or_else(|| StoreError::corrupt("api_keys", format!("unknown scope {s:?}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(ApiKeyRecord {
        key_id,
        name,
        scopes,
        digest,
        created_by,
        created_at: time(created_at)?,
        revoked_by,
        revoked_at: revoked_at.map(&time).transpose()?,
    })
}

pub(crate) fn audit_create(key: &ApiKeyRecord) -> AuditEntry {
    AuditEntry {
        actor: key.created_by.clone(),
        action: actions::CREATE.into(),
        target: format!("api_key:{}", key.key_id),
        before: None,
        after: Some(key.audit_json()),
        at: key.created_at,
    }
}

pub(crate) fn audit_revoke(before: &ApiKeyRecord, after: &ApiKeyRecord) -> AuditEntry {
    AuditEntry {
        actor: after.revoked_by.clone().unwrap_or_default(),
        action: actions::REVOKE.into(),
        target: format!("api_key:{}", after.key_id),
        before: Some(before.audit_json()),
        after: Some(after.audit_json()),
        at: after.revoked_at.unwrap_or(after.created_at),
    }
}
