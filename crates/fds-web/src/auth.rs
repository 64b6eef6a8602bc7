//! Machine clients authenticate with `Authorization: Bearer <key>`. Keys are held only
//! as SHA-256 digests; a client is named by a short prefix of its digest in logs and
//! labels, never by the key. Two kinds: the configured keys (`api.keys`), which may
//! call every route, and the keys an admin makes in the console (stored in the store,
//! scoped: each route needs its [`ApiScope`]), loaded by [`ApiKeys::load_stored`] at
//! start, after every console change and every [`STORED_KEYS_EVERY`] (so a key
//! revoked on another replica stops working there within that time).

use crate::problem::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use fds_store::{ApiScope, Store, StoreError};
use parking_lot::RwLock;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How often the stored keys are read again.
pub const STORED_KEYS_EVERY: Duration = Duration::from_secs(10);

/// A stored key: its client name and scopes.
type StoredKey = (String, BTreeSet<ApiScope>);

/// The accepted API keys, hashed.
#[derive(Clone, Default)]
pub struct ApiKeys {
    by_digest: Arc<HashMap<[u8; 32], String>>,
    /// The unrevoked keys made in the console, by digest.
    stored: Arc<RwLock<HashMap<[u8; 32], StoredKey>>>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeys({} keys)", self.by_digest.len())
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl ApiKeys {
    /// Builds the key table from plain keys (config or env); the plain keys are not kept.
    pub fn new<S: AsRef<str>>(keys: &[S]) -> Self {
        let by_digest = keys
            .iter()
            .map(|k| {
                let d = digest(k.as_ref());
                (d, format!("key:{}", hex::encode(&d[..4])))
            })
            .collect();
        Self { by_digest: Arc::new(by_digest), stored: Arc::default() }
    }

    /// The client name for a presented configured key, if it is one of ours.
    pub fn client(&self, presented: &str) -> Option<&str> {
        self.by_digest.get(&digest(presented)).map(String::as_str)
    }

    /// The client name for a presented key allowed `scope`: a configured key (every
    /// scope), or an unrevoked stored key holding the scope.
    pub fn client_for(&self, presented: &str, scope: ApiScope) -> Option<String> {
        let d = digest(presented);
        if let Some(name) = self.by_digest.get(&d) {
            return Some(name.clone());
        }
        let stored = self.stored.read();
        let (name, scopes) = stored.get(&d)?;
        scopes.contains(&scope).then(|| name.clone())
    }

    /// Reads the unrevoked keys made in the console from `store`, replacing those held.
    pub async fn load_stored(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let mut loaded = HashMap::new();
        for key in store.api_keys().await? {
            if key.revoked_at.is_some() {
                continue;
            }
            let mut d = [0u8; 32];
            if hex::decode_to_slice(&key.digest, &mut d).is_err() {
                tracing::error!(key_id = key.key_id, "a stored API key digest is not hex; left out");
                continue;
            }
            loaded.insert(d, (key.label(), key.scopes));
        }
        let count = loaded.len();
        *self.stored.write() = loaded;
        Ok(count)
    }

    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

/// The authenticated client, available to handlers as an extension.
#[derive(Clone, Debug)]
pub(crate) struct Client(pub(crate) String);

/// The keys and the scope a group of routes needs.
#[derive(Clone)]
pub(crate) struct Scoped {
    pub(crate) keys: ApiKeys,
    pub(crate) scope: ApiScope,
}

/// A new API key: `fds_` and 64 hex digits (256 random bits), and its hex SHA-256.
pub(crate) fn generate_key() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let key = format!("fds_{}", hex::encode(bytes));
    let d = hex::encode(digest(&key));
    (key, d)
}

pub(crate) async fn require_key(
    State(Scoped { keys, scope }): State<Scoped>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let client = keys.client_for(presented, scope).ok_or(ApiError::Unauthorized)?;
    request.extensions_mut().insert(Client(client));
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_keys_are_accepted_and_named_without_the_key() {
        let keys = ApiKeys::new(&["s3cret-one", "s3cret-two"]);
        let name = keys.client("s3cret-one").expect("known key");
        assert!(name.starts_with("key:"));
        assert!(!name.contains("s3cret"));
        assert!(keys.client("s3cret-three").is_none());
        assert_eq!(keys.len(), 2);
        assert!(!format!("{keys:?}").contains("s3cret"));
        assert!(
            keys.client_for("s3cret-one", ApiScope::Backtests).is_some(),
            "configured keys hold every scope"
        );
    }

    #[test]
    fn a_generated_key_is_random_and_its_digest_is_the_sha256_of_it() {
        let (key, d) = generate_key();
        let (other, _) = generate_key();
        assert!(key.starts_with("fds_") && key.len() == 68);
        assert_ne!(key, other);
        assert_eq!(d, hex::encode(Sha256::digest(key.as_bytes())));
    }
}
