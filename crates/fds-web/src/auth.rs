//! Machine clients authenticate with `Authorization: Bearer <key>`. Keys are held only
//! as SHA-256 digests; a client is named by a short prefix of its digest in logs and
//! labels, never by the key.

use crate::problem::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The accepted API keys, hashed.
#[derive(Clone, Default)]
pub struct ApiKeys {
    by_digest: Arc<HashMap<[u8; 32], String>>,
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
        Self { by_digest: Arc::new(by_digest) }
    }

    /// The client name for a presented key, if it is one of ours.
    pub fn client(&self, presented: &str) -> Option<&str> {
        self.by_digest.get(&digest(presented)).map(String::as_str)
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

pub(crate) async fn require_key(
    State(keys): State<ApiKeys>,
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
    let client = keys.client(presented).ok_or(ApiError::Unauthorized)?.to_string();
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
    }
}
