//! API keys made in the console, on both backends.

use crate::api_keys::actions;
use crate::fixtures::t0;
use crate::test_db::Subject;
use crate::{ApiScope, NewApiKey, StoreError};

on_both_backends!(an_api_key_is_stored_by_its_digest_listed_and_revoked_once_with_audit_records);

fn new_key(name: &str, digest: &str) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        scopes: [ApiScope::Score, ApiScope::Blocks].into_iter().collect(),
        digest: digest.into(),
        created_by: "park".into(),
        created_at: t0(),
    }
}

async fn an_api_key_is_stored_by_its_digest_listed_and_revoked_once_with_audit_records(s: Subject) {
    let store = s.store;
    let digest = "ab".repeat(32);

    let key = store.create_api_key(&new_key("payments gateway", &digest)).await.unwrap();
    let again = store.create_api_key(&new_key("copy", &digest)).await;
    let no_scope = store
        .create_api_key(&NewApiKey { scopes: Default::default(), ..new_key("x", &"cd".repeat(32)) })
        .await;
    let not_a_digest = store.create_api_key(&new_key("x", "the key itself")).await;

    assert_eq!((key.name.as_str(), key.label()), ("payments gateway", "key:abababab".to_string()));
    assert_eq!(key.scopes.len(), 2);
    for refused in [again, no_scope, not_a_digest] {
        assert!(matches!(refused, Err(StoreError::Refused(_))), "{refused:?}");
    }
    assert_eq!(store.api_keys().await.unwrap(), std::slice::from_ref(&key));

    let revoked = store.revoke_api_key(key.key_id, "kim", t0()).await.unwrap().expect("revoked");
    assert_eq!((revoked.revoked_by.as_deref(), revoked.revoked_at), (Some("kim"), Some(t0())));
    assert_eq!(store.revoke_api_key(key.key_id, "kim", t0()).await.unwrap(), None, "once");
    assert_eq!(store.api_keys().await.unwrap(), [revoked]);
    let audit = store.audit_records(0, 10).await.unwrap();
    let names: Vec<&str> = audit.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(names, [actions::CREATE, actions::REVOKE]);
    assert!(
        !serde_json::to_string(&audit[0].entry.after).unwrap().contains(&digest),
        "only a prefix is logged"
    );
}
