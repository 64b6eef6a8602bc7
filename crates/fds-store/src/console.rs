//! The analyst console's data: accounts, server-side sessions and case escalations,
//! the values both backends trade in and the audit records they share.
//!
//! The store keeps what the console's auth decides and nothing of how it decides:
//! the caller hashes passwords (argon2id PHC strings arrive here already hashed),
//! generates TOTP secrets and session ids, and chooses the lockout policy (passed to
//! [`Store::record_login_failure`](crate::Store::record_login_failure)). The store
//! seals the TOTP secret with the vault (`Field::TotpSecret`), keeps a session only
//! by the hash of its id, and appends the audit record of each account change, login,
//! failure and lockout in the same transaction as the change.
//!
//! | action             | target          | before / after                                |
//! |--------------------|-----------------|-----------------------------------------------|
//! | `user.create`      | `user:<login>`  | after: login, name, roles, language           |
//! | `user.update`      | `user:<login>`  | before / after: what changed (a new password shows as `"password": "changed"`) |
//! | `user.totp`        | `user:<login>`  | after: whether TOTP is enabled (never the secret) |
//! | `user.login`       | `user:<login>`  | after: the session stage it opened            |
//! | `user.login_failed`| `user:<login>`  | after: failed attempts so far                 |
//! | `user.lockout`     | `user:<login>`  | after: locked until                           |
//! | `user.logout`      | `user:<login>`  | —                                             |
//! | `user.logout_all`  | `user:<login>`  | after: sessions ended                         |
//! | `case.escalate`    | `event:<id>`    | after: the reason                             |

use crate::audit::AuditEntry;
use crate::StoreError;
use fds_core::Timestamp;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt;

/// The audit actions of accounts, sessions and cases.
pub mod actions {
    pub use crate::audit::actions::{USER_CREATE, USER_UPDATE};
    pub const USER_TOTP: &str = "user.totp";
    pub const USER_LOGIN: &str = "user.login";
    pub const USER_LOGIN_FAILED: &str = "user.login_failed";
    pub const USER_LOCKOUT: &str = "user.lockout";
    pub const USER_LOGOUT: &str = "user.logout";
    pub const USER_LOGOUT_ALL: &str = "user.logout_all";
    pub const CASE_ESCALATE: &str = "case.escalate";
}

/// A console role. What each role may do is the console's business (`fds-web`);
/// the store only keeps the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Analyst,
    RuleBuilder,
    Publisher,
    Admin,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Viewer, Role::Analyst, Role::RuleBuilder, Role::Publisher, Role::Admin, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::RuleBuilder => "rule_builder",
            Role::Publisher => "publisher",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}, expected one of viewer, analyst, rule_builder, publisher, admin, auditor")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Role, UnknownRole> {
        Role::ALL.into_iter().find(|r| r.as_str() == name).ok_or_else(|| UnknownRole(name.to_string()))
    }
}

/// The console language a user reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Language {
    /// Korean, the default.
    #[default]
    Ko,
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ko => "ko",
            Language::En => "en",
        }
    }

    /// `ko` or `en`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Language> {
        match text {
            "ko" => Some(Language::Ko),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

/// A secret kept by the store (a password hash, a TOTP secret): its `Debug` never
/// shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// An account to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Unique, what the user types to log in.
    pub login: String,
    pub display_name: String,
    pub roles: BTreeSet<Role>,
    /// An argon2id PHC string, hashed by the caller.
    pub password_hash: Secret,
    pub language: Language,
}

/// A console account as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub user_id: i64,
    pub login: String,
    pub display_name: String,
    pub roles: BTreeSet<Role>,
    pub password_hash: Secret,
    /// The TOTP secret, opened (`None` before enrolment).
    pub totp_secret: Option<Secret>,
    /// Whether a code confirmed the secret: from then on every login needs a code.
    pub totp_enabled: bool,
    /// Failed logins since the last success or lockout.
    pub failed_attempts: u32,
    pub locked_until: Option<Timestamp>,
    pub language: Language,
    pub disabled: bool,
    pub created_at: Timestamp,
}

impl User {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the account is locked out at `at`.
    pub fn locked_at(&self, at: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| at < until)
    }
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub roles: Option<BTreeSet<Role>>,
    pub disabled: Option<bool>,
    /// A new argon2id PHC string.
    pub password_hash: Option<Secret>,
    /// Clears a lockout and the failed-attempt count (an admin's unlock).
    pub unlock: bool,
}

/// What a failed login did to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginFailure {
    /// Failed attempts counted now (0 after this failure locked the account).
    pub failed_attempts: u32,
    /// Set when this failure locked the account.
    pub locked_until: Option<Timestamp>,
}

/// How far a session got through the login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStage {
    /// The password passed; a TOTP code must follow.
    Totp,
    /// The password passed; the user must enrol a TOTP secret and confirm a code.
    Enrol,
    /// Every factor passed.
    Full,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::Totp => "totp",
            SessionStage::Enrol => "enrol",
            SessionStage::Full => "full",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<SessionStage, StoreError> {
        match text {
            "totp" => Ok(SessionStage::Totp),
            "enrol" => Ok(SessionStage::Enrol),
            "full" => Ok(SessionStage::Full),
            other => Err(StoreError::corrupt("console_sessions", format!("unknown stage {other:?}"))),
        }
    }
}

/// A session to open. The caller makes the random id and passes only its hash.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// SHA-256 (hex) of the session id the cookie holds.
    pub id_hash: String,
    pub user_id: i64,
    pub stage: SessionStage,
    pub csrf_token: Secret,
    pub created_at: Timestamp,
    /// The absolute end of the session, whatever its activity.
    pub expires_at: Timestamp,
}

/// A stored session.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub stage: SessionStage,
    pub csrf_token: Secret,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A case an analyst escalated.
#[derive(Clone, Debug, PartialEq)]
pub struct Escalation {
    pub escalation_id: i64,
    pub event_id: String,
    pub reason: String,
    pub escalated_by: String,
    pub escalated_at: Timestamp,
}

/// Which cases the review queue lists: flagged decisions (review or block) without
/// a label that occurred from `since` on, narrowed by score, rule and family.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueFilter {
    pub since: Timestamp,
    /// Only decisions scoring at least this.
    pub min_score: Option<f64>,
    /// Only decisions with a reason naming this rule id.
    pub rule_id: Option<String>,
    /// Only decisions with a rule reason of this fraud family.
    pub family: Option<String>,
}

impl QueueFilter {
    /// Every case from `since` on.
    pub fn since(since: Timestamp) -> QueueFilter {
        QueueFilter { since, min_score: None, rule_id: None, family: None }
    }

    /// Refuses a rule id or family that is not 1 to 64 letters, digits, `_`, `-`, `.`.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        for (what, value) in [("rule id", &self.rule_id), ("family", &self.family)] {
            if let Some(value) = value {
                let ok = (1..=64).contains(&value.len())
                    && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !ok {
                    return Err(StoreError::Refused(format!(
                        "a {what} filter is 1 to 64 letters, digits, '_', '-' or '.'"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A `LIKE … ESCAPE '\'` pattern matching `"key":"value"` in a decision's compact
/// JSON (the form the store writes it in); `value` passed [`QueueFilter::check`].
pub(crate) fn json_like(key: &str, value: &str) -> String {
    let escaped: String = value
        .chars()
        .flat_map(|c| match c {
            '_' | '%' | '\\' => vec!['\\', c],
            other => vec![other],
        })
        .collect();
    format!("%\"{key}\":\"{escaped}\"%")
}

/// Which blocks a search wants, judged at the time of the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStatus {
    All,
    /// Not released and not yet ended.
    Active,
    Released,
    /// Not released and past its end.
    Expired,
}

impl BlockStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockStatus::All => "all",
            BlockStatus::Active => "active",
            BlockStatus::Released => "released",
            BlockStatus::Expired => "expired",
        }
    }

    /// `all`, `active`, `released` or `expired`.
    pub fn parse(text: &str) -> Option<BlockStatus> {
        [BlockStatus::All, BlockStatus::Active, BlockStatus::Released, BlockStatus::Expired]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A stored block with its release, if released.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockRecord {
    pub block: fds_core::Block,
    pub released_at: Option<Timestamp>,
    pub released_by: Option<String>,
    pub release_reason: Option<String>,
}

impl BlockRecord {
    /// The block's status at `at` (never [`BlockStatus::All`]).
    pub fn status_at(&self, at: Timestamp) -> BlockStatus {
        if self.released_at.is_some() {
            BlockStatus::Released
        } else if at >= self.block.until {
            BlockStatus::Expired
        } else {
            BlockStatus::Active
        }
    }

    pub(crate) fn audit_json(&self) -> Value {
        json!({
            "block_id": self.block.block_id,
            "subscriber": self.block.subscriber.expose(),
            "scope": self.block.scope.as_str(),
            "since": self.block.since,
            "until": self.block.until,
            "decision_id": self.block.decision_id,
            "reason": self.block.reason,
            "released_at": self.released_at,
            "released_by": self.released_by,
            "release_reason": self.release_reason,
        })
    }
}

/// `user_id, login, display_name, roles, password_hash, totp_secret (sealed),
/// totp_enabled, failed_attempts, locked_until, language, disabled, created_at`
pub(crate) type UserRow<T> =
    (i64, String, String, String, String, Option<String>, bool, i64, Option<T>, String, bool, T);

/// The columns of a [`UserRow`], in order.
pub(crate) const USER_COLUMNS: &str = "user_id, login, display_name, roles, password_hash, totp_secret, \
     totp_enabled, failed_attempts, locked_until, language, disabled, created_at";

pub(crate) fn user<T>(
    vault: &fds_vault::Vault,
    row: UserRow<T>,
    timestamp: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<User, StoreError> {
    let (
        user_id,
        login,
        display_name,
        roles,
        hash,
        totp,
        totp_enabled,
        failed,
        locked,
        lang,
        disabled,
        created,
    ) = row;
    Ok(User {
        user_id,
        login,
        display_name,
        roles: parse_roles(&roles)?,
        password_hash: Secret(hash),
        totp_secret: totp.map(|sealed| crate::pii::open_totp(vault, &sealed).map(Secret)).transpose()?,
        totp_enabled,
        failed_attempts: u32::try_from(failed).unwrap_or(0),
        locked_until: locked.map(&timestamp).transpose()?,
        language: parse_language(&lang)?,
        disabled,
        created_at: timestamp(created)?,
    })
}

/// `id_hash, user_id, stage, csrf_token, created_at, last_seen_at, expires_at`
pub(crate) type SessionRow<T> = (String, i64, String, String, T, T, T);

pub(crate) const SESSION_COLUMNS: &str =
    "id_hash, user_id, stage, csrf_token, created_at, last_seen_at, expires_at";

pub(crate) fn session<T>(
    row: SessionRow<T>,
    timestamp: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<Session, StoreError> {
    let (id_hash, user_id, stage, csrf, created_at, last_seen_at, expires_at) = row;
    Ok(Session {
        id_hash,
        user_id,
        stage: SessionStage::parse(&stage)?,
        csrf_token: Secret(csrf),
        created_at: timestamp(created_at)?,
        last_seen_at: timestamp(last_seen_at)?,
        expires_at: timestamp(expires_at)?,
    })
}

/// `escalation_id, event_id, reason, escalated_by, escalated_at`
pub(crate) type EscalationRow<T> = (i64, String, String, String, T);

pub(crate) fn escalation<T>(
    row: EscalationRow<T>,
    timestamp: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<Escalation, StoreError> {
    let (escalation_id, event_id, reason, escalated_by, escalated_at) = row;
    Ok(Escalation { escalation_id, event_id, reason, escalated_by, escalated_at: timestamp(escalated_at)? })
}

pub(crate) fn audit_escalation(e: &Escalation) -> AuditEntry {
    AuditEntry {
        actor: e.escalated_by.clone(),
        action: actions::CASE_ESCALATE.into(),
        target: format!("event:{}", e.event_id),
        before: None,
        after: Some(json!({ "escalation_id": e.escalation_id, "reason": e.reason })),
        at: e.escalated_at,
    }
}

/// The block columns of [`crate::codec::BlockRow`] and then `released_at, released_by, release_reason`.
pub(crate) const BLOCK_COLUMNS: &str =
    "block_id, subscriber_sealed, scope, since, until, decision_id, reason, \
     released_at, released_by, release_reason";

/// A block row with its release columns.
pub(crate) type BlockReleaseRow<T> =
    (String, String, String, T, T, String, String, Option<T>, Option<String>, Option<String>);

pub(crate) fn block_record<T>(
    vault: &fds_vault::Vault,
    row: BlockReleaseRow<T>,
    timestamp: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<BlockRecord, StoreError> {
    let (block_id, subscriber, scope, since, until, decision_id, reason, released_at, released_by, why) = row;
    let block = crate::codec::block(
        vault,
        (block_id, subscriber, scope, since, until, decision_id, reason),
        &timestamp,
    )?;
    Ok(BlockRecord {
        block,
        released_at: released_at.map(&timestamp).transpose()?,
        released_by,
        release_reason: why,
    })
}

pub(crate) fn audit_release(before: &BlockRecord, after: &BlockRecord) -> AuditEntry {
    AuditEntry {
        actor: after.released_by.clone().unwrap_or_default(),
        action: crate::audit::actions::BLOCK_RELEASE.into(),
        target: format!("block:{}", after.block.block_id),
        before: Some(before.audit_json()),
        after: Some(after.audit_json()),
        at: after.released_at.unwrap_or(after.block.since),
    }
}

/// The roles as stored: names joined by commas, in role order.
pub(crate) fn roles_column(roles: &BTreeSet<Role>) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

pub(crate) fn parse_roles(text: &str) -> Result<BTreeSet<Role>, StoreError> {
    text.split(',')
        .filter(|name| !name.is_empty())
        .map(|name| name.parse::<Role>().map_err(|e| StoreError::corrupt("console_users", e.to_string())))
        .collect()
}

pub(crate) fn parse_language(text: &str) -> Result<Language, StoreError> {
    Language::parse(text)
        .ok_or_else(|| StoreError::corrupt("console_users", format!("unknown language {text:?}")))
}

/// Refuses an account the store would keep badly: an empty login or name, a login
/// with characters other than letters, digits, `.`, `_`, `-`, `@`, or no role.
pub(crate) fn check_new_user(user: &NewUser) -> Result<(), StoreError> {
    let login_ok = (1..=64).contains(&user.login.chars().count())
        && user.login.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !login_ok {
        return Err(StoreError::Refused("a login is 1 to 64 letters, digits, '.', '_', '-' or '@'".into()));
    }
    if user.display_name.trim().is_empty() || user.display_name.chars().count() > 100 {
        return Err(StoreError::Refused("a display name is 1 to 100 characters".into()));
    }
    check_roles(&user.roles)
}

pub(crate) fn check_roles(roles: &BTreeSet<Role>) -> Result<(), StoreError> {
    if roles.is_empty() {
        return Err(StoreError::Refused("an account needs at least one role".into()));
    }
    Ok(())
}

fn target(login: &str) -> String {
    format!("user:{login}")
}

fn roles_json(roles: &BTreeSet<Role>) -> Value {
    Value::from(roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
}

pub(crate) fn audit_create(user: &NewUser, actor: &str, at: Timestamp) -> AuditEntry {
    AuditEntry {
        actor: actor.into(),
        action: actions::USER_CREATE.into(),
        target: target(&user.login),
        before: None,
        after: Some(json!({
            "login": user.login,
            "display_name": user.display_name,
            "roles": roles_json(&user.roles),
            "language": user.language.as_str(),
        })),
        at,
    }
}

/// The `user.update` record of applying `change` to `user`, or `None` when the
/// change changes nothing.
pub(crate) fn audit_update(
    user: &User,
    change: &UserChange,
    actor: &str,
    at: Timestamp,
) -> Option<AuditEntry> {
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    if let Some(name) = change.display_name.as_ref().filter(|n| **n != user.display_name) {
        before.insert("display_name".into(), json!(user.display_name));
        after.insert("display_name".into(), json!(name));
    }
    if let Some(roles) = change.roles.as_ref().filter(|r| **r != user.roles) {
        before.insert("roles".into(), roles_json(&user.roles));
        after.insert("roles".into(), roles_json(roles));
    }
    if let Some(disabled) = change.disabled.filter(|d| *d != user.disabled) {
        before.insert("disabled".into(), json!(user.disabled));
        after.insert("disabled".into(), json!(disabled));
    }
    if change.password_hash.is_some() {
        after.insert("password".into(), json!("changed"));
    }
    if change.unlock && (user.failed_attempts > 0 || user.locked_until.is_some()) {
        before.insert("failed_attempts".into(), json!(user.failed_attempts));
        after.insert("unlocked".into(), json!(true));
    }
    if after.is_empty() {
        return None;
    }
    Some(AuditEntry {
        actor: actor.into(),
        action: actions::USER_UPDATE.into(),
        target: target(&user.login),
        before: (!before.is_empty()).then_some(Value::Object(before)),
        after: Some(Value::Object(after)),
        at,
    })
}

pub(crate) fn audit_simple(login: &str, action: &str, after: Option<Value>, at: Timestamp) -> AuditEntry {
    AuditEntry { actor: login.into(), action: action.into(), target: target(login), before: None, after, at }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_name_parses_back_and_roles_round_trip_through_the_column() {
        let all: BTreeSet<Role> = Role::ALL.into_iter().collect();
        assert_eq!(parse_roles(&roles_column(&all)).unwrap(), all);
        assert!("root".parse::<Role>().is_err());
        assert!(parse_roles("viewer,root").is_err());
    }

    #[test]
    fn like_patterns_escape_the_wildcards_of_a_rule_id() {
        assert_eq!(json_like("rule_id", "cba_x%"), r#"%"rule_id":"cba\_x\%"%"#);
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }
}
