//! The console's accounts, sessions, cases and block releases on Postgres. A change
//! that reads before it writes locks the row it reads (`FOR UPDATE`).

use super::audit;
use crate::console::{
    self, BlockRecord, BlockReleaseRow, BlockStatus, Escalation, EscalationRow, Language, LoginFailure,
    NewSession, NewUser, Secret, Session, SessionRow, User, UserChange, UserRow, BLOCK_COLUMNS,
    SESSION_COLUMNS,
};
use crate::StoreError;
use fds_core::{Decision, Timestamp};
use fds_vault::Vault;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

const USERS: &str = "console_users";

fn ts(_table: &'static str) -> impl Fn(Timestamp) -> Result<Timestamp, StoreError> {
    Ok
}

/// The columns of a [`UserRow`] on Postgres (the count widened to `bigint`).
const PG_USER_COLUMNS: &str = "user_id, login, display_name, roles, password_hash, totp_secret, \
     totp_enabled, failed_attempts::bigint, locked_until, language, disabled, created_at";

/// Which user to read.
enum Which<'a> {
    Id(i64),
    Login(&'a str),
}

async fn user_where(
    conn: &mut PgConnection,
    vault: &Vault,
    which: Which<'_>,
) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow<Timestamp>> = match which {
        Which::Id(id) => {
            sqlx::query_as(&format!("SELECT {PG_USER_COLUMNS} FROM console_users WHERE user_id = $1"))
                .bind(id)
                .fetch_optional(conn)
                .await?
        }
        Which::Login(login) => {
            sqlx::query_as(&format!("SELECT {PG_USER_COLUMNS} FROM console_users WHERE login = $1"))
                .bind(login)
                .fetch_optional(conn)
                .await?
        }
    };
    row.map(|row| console::user(vault, row, ts(USERS))).transpose()
}

pub(super) async fn user_by_login(
    pool: &PgPool,
    vault: &Vault,
    login: &str,
) -> Result<Option<User>, StoreError> {
    user_where(&mut *pool.acquire().await?, vault, Which::Login(login)).await
}

pub(super) async fn user_by_id(pool: &PgPool, vault: &Vault, id: i64) -> Result<Option<User>, StoreError> {
    user_where(&mut *pool.acquire().await?, vault, Which::Id(id)).await
}

pub(super) async fn users(pool: &PgPool, vault: &Vault) -> Result<Vec<User>, StoreError> {
    let rows: Vec<UserRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {PG_USER_COLUMNS} FROM console_users ORDER BY login"))
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(|row| console::user(vault, row, ts(USERS))).collect()
}

pub(super) async fn create_user(
    pool: &PgPool,
    vault: &Vault,
    new: &NewUser,
    actor: &str,
    at: Timestamp,
) -> Result<User, StoreError> {
    console::check_new_user(new)?;
    let mut tx = pool.begin().await?;
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO console_users (login, display_name, roles, password_hash, language, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (login) DO NOTHING RETURNING user_id",
    )
    .bind(&new.login)
    .bind(new.display_name.trim())
    .bind(console::roles_column(&new.roles))
    .bind(new.password_hash.expose())
    .bind(new.language.as_str())
    .bind(at)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id,)) = inserted else {
        return Err(StoreError::Refused(format!("the login {:?} is taken", new.login)));
    };
    audit::append(&mut tx, vault, console::audit_create(new, actor, at)).await?;
    let user = user_where(&mut tx, vault, Which::Id(user_id)).await?;
    tx.commit().await?;
    user.ok_or_else(|| StoreError::corrupt(USERS, "a created user is not there"))
}

pub(super) async fn update_user(
    pool: &PgPool,
    vault: &Vault,
    login: &str,
    change: &UserChange,
    actor: &str,
    at: Timestamp,
) -> Result<Option<User>, StoreError> {
    if let Some(roles) = &change.roles {
        console::check_roles(roles)?;
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM console_users WHERE login = $1 FOR UPDATE")
        .bind(login)
        .execute(&mut *tx)
        .await?;
    let Some(user) = user_where(&mut tx, vault, Which::Login(login)).await? else {
        return Ok(None);
    };
    let Some(entry) = console::audit_update(&user, change, actor, at) else {
        return Ok(Some(user));
    };
    let roles = change.roles.as_ref().unwrap_or(&user.roles);
    let unlock = change.unlock;
    sqlx::query(
        "UPDATE console_users SET display_name = $1, roles = $2, disabled = $3, password_hash = $4, \
         failed_attempts = CASE WHEN $5 THEN 0 ELSE failed_attempts END, \
         locked_until = CASE WHEN $6 THEN NULL ELSE locked_until END, updated_at = $7 WHERE user_id = $8",
    )
    .bind(change.display_name.as_deref().unwrap_or(&user.display_name).trim())
    .bind(console::roles_column(roles))
    .bind(change.disabled.unwrap_or(user.disabled))
    .bind(change.password_hash.as_ref().unwrap_or(&user.password_hash).expose())
    .bind(unlock)
    .bind(unlock)
    .bind(at)
    .bind(user.user_id)
    .execute(&mut *tx)
    .await?;
    audit::append(&mut tx, vault, entry).await?;
    let user = user_where(&mut tx, vault, Which::Id(user.user_id)).await?;
    tx.commit().await?;
    Ok(user)
}

pub(super) async fn set_language(pool: &PgPool, user_id: i64, language: Language) -> Result<(), StoreError> {
    sqlx::query("UPDATE console_users SET language = $1 WHERE user_id = $2")
        .bind(language.as_str())
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn set_totp(
    pool: &PgPool,
    vault: &Vault,
    user_id: i64,
    secret: Option<&Secret>,
    enabled: bool,
    actor: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let login: Option<(String,)> = sqlx::query_as(
        "UPDATE console_users SET totp_secret = $1, totp_enabled = $2, totp_last_step = NULL, updated_at = $3 \
         WHERE user_id = $4 RETURNING login",
    )
    .bind(secret.map(|s| crate::pii::seal_totp(vault, s.expose())))
    .bind(enabled && secret.is_some())
    .bind(at)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((login,)) = login else {
        return Err(StoreError::Refused(format!("no user {user_id}")));
    };
    let mut entry = console::audit_simple(
        &login,
        console::actions::USER_TOTP,
        Some(json!({ "enabled": enabled && secret.is_some(), "enrolling": secret.is_some() && !enabled })),
        at,
    );
    entry.actor = actor.into();
    audit::append(&mut tx, vault, entry).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn use_totp_step(pool: &PgPool, user_id: i64, step: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE console_users SET totp_last_step = $1 \
         WHERE user_id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
    )
    .bind(step)
    .bind(user_id)
    .bind(step)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn record_login_failure(
    pool: &PgPool,
    vault: &Vault,
    user_id: i64,
    at: Timestamp,
    lock_after: u32,
    lock_for: chrono::Duration,
) -> Result<LoginFailure, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<(String, i64)> = sqlx::query_as(
        "UPDATE console_users SET failed_attempts = failed_attempts + 1 WHERE user_id = $1 \
         RETURNING login, failed_attempts::bigint",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((login, attempts)) = row else {
        return Err(StoreError::Refused(format!("no user {user_id}")));
    };
    audit::append(
        &mut tx,
        vault,
        console::audit_simple(
            &login,
            console::actions::USER_LOGIN_FAILED,
            Some(json!({ "attempts": attempts })),
            at,
        ),
    )
    .await?;
    let mut failure =
        LoginFailure { failed_attempts: u32::try_from(attempts).unwrap_or(u32::MAX), locked_until: None };
    if attempts >= i64::from(lock_after.max(1)) {
        let until = at + lock_for;
        sqlx::query("UPDATE console_users SET failed_attempts = 0, locked_until = $1 WHERE user_id = $2")
            .bind(until)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            vault,
            console::audit_simple(
                &login,
                console::actions::USER_LOCKOUT,
                Some(json!({ "until": until })),
                at,
            ),
        )
        .await?;
        failure = LoginFailure { failed_attempts: 0, locked_until: Some(until) };
    }
    tx.commit().await?;
    Ok(failure)
}

async fn insert_session(conn: &mut PgConnection, session: &NewSession) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO console_sessions \
         (id_hash, user_id, stage, csrf_token, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&session.id_hash)
    .bind(session.user_id)
    .bind(session.stage.as_str())
    .bind(session.csrf_token.expose())
    .bind(session.created_at)
    .bind(session.created_at)
    .bind(session.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn open_session(
    pool: &PgPool,
    vault: &Vault,
    session: &NewSession,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let login: Option<(String,)> = sqlx::query_as(
        "UPDATE console_users SET failed_attempts = 0, locked_until = NULL WHERE user_id = $1 RETURNING login",
    )
    .bind(session.user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((login,)) = login else {
        return Err(StoreError::Refused(format!("no user {}", session.user_id)));
    };
    insert_session(&mut tx, session).await?;
    let after = json!({ "stage": session.stage.as_str() });
    audit::append(
        &mut tx,
        vault,
        console::audit_simple(&login, console::actions::USER_LOGIN, Some(after), session.created_at),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn replace_session(
    pool: &PgPool,
    vault: &Vault,
    old_id_hash: &str,
    new: &NewSession,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let gone = sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1 AND user_id = $2")
        .bind(old_id_hash)
        .bind(new.user_id)
        .execute(&mut *tx)
        .await?;
    if gone.rows_affected() != 1 {
        return Err(StoreError::Refused("the session to replace is gone".into()));
    }
    insert_session(&mut tx, new).await?;
    // The second factor passed: the login succeeded.
    let (login,): (String,) = sqlx::query_as(
        "UPDATE console_users SET failed_attempts = 0, locked_until = NULL WHERE user_id = $1 RETURNING login",
    )
    .bind(new.user_id)
    .fetch_one(&mut *tx)
    .await?;
    let after = json!({ "stage": new.stage.as_str() });
    audit::append(
        &mut tx,
        vault,
        console::audit_simple(&login, console::actions::USER_LOGIN, Some(after), new.created_at),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn session(pool: &PgPool, id_hash: &str) -> Result<Option<Session>, StoreError> {
    let row: Option<SessionRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {SESSION_COLUMNS} FROM console_sessions WHERE id_hash = $1"))
            .bind(id_hash)
            .fetch_optional(pool)
            .await?;
    row.map(|row| console::session(row, ts("console_sessions"))).transpose()
}

pub(super) async fn touch_session(pool: &PgPool, id_hash: &str, at: Timestamp) -> Result<(), StoreError> {
    sqlx::query("UPDATE console_sessions SET last_seen_at = $1 WHERE id_hash = $2")
        .bind(at)
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn end_session(
    pool: &PgPool,
    vault: &Vault,
    id_hash: &str,
    audited: bool,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<(i64,)> =
        sqlx::query_as("DELETE FROM console_sessions WHERE id_hash = $1 RETURNING user_id")
            .bind(id_hash)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((user_id,)) = row else {
        return Ok(false);
    };
    if audited {
        let (login,): (String,) = sqlx::query_as("SELECT login FROM console_users WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        audit::append(&mut tx, vault, console::audit_simple(&login, console::actions::USER_LOGOUT, None, at))
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn end_user_sessions(
    pool: &PgPool,
    vault: &Vault,
    user_id: i64,
    actor: &str,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let ended = sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let login: Option<(String,)> = sqlx::query_as("SELECT login FROM console_users WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some((login,)) = login else {
        return Err(StoreError::Refused(format!("no user {user_id}")));
    };
    let mut entry = console::audit_simple(
        &login,
        console::actions::USER_LOGOUT_ALL,
        Some(json!({ "sessions": ended })),
        at,
    );
    entry.actor = actor.into();
    audit::append(&mut tx, vault, entry).await?;
    tx.commit().await?;
    Ok(ended)
}

pub(super) async fn purge_sessions(pool: &PgPool, now: Timestamp) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected())
}

pub(super) async fn event(
    pool: &PgPool,
    vault: &Vault,
    event_id: &str,
) -> Result<Option<fds_core::Event>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT payload::text FROM events WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(pool)
        .await?;
    row.map(|(json,)| crate::codec::event(vault, &json)).transpose()
}

pub(super) async fn events_for_subscriber(
    pool: &PgPool,
    vault: &Vault,
    subscriber: &str,
    limit: u32,
) -> Result<Vec<fds_core::Event>, StoreError> {
    // Through the decisions' index by subscriber (`events` has none, migration 0013):
    // each event shares its decision's key and month.
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT e.payload::text FROM decisions d \
         JOIN events e ON e.occurred_at = d.occurred_at AND e.event_id = d.event_id \
         WHERE d.subscriber = $1 ORDER BY d.occurred_at DESC, d.event_id DESC LIMIT $2",
    )
    .bind(crate::pii::index(vault, subscriber))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|(json,)| crate::codec::event(vault, json)).collect()
}

/// The review queue's condition: flagged, recent enough, not labelled.
const QUEUE: &str = "action IN ('review', 'block') AND occurred_at >= $1 \
     AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.event_id = decisions.event_id)";

pub(super) async fn review_queue(
    pool: &PgPool,
    vault: &Vault,
    filter: &crate::QueueFilter,
    limit: u32,
) -> Result<Vec<Decision>, StoreError> {
    filter.check()?;
    let mut sql = format!("SELECT decision::text FROM decisions WHERE {QUEUE}");
    let mut n = 1;
    if filter.min_score.is_some() {
        n += 1;
        sql.push_str(&format!(" AND score >= ${n}"));
    }
    for value in [&filter.rule_id, &filter.family] {
        if value.is_some() {
            n += 1;
            sql.push_str(&format!(" AND decision::text LIKE ${n} ESCAPE '\\'"));
        }
    }
    sql.push_str(&format!(" ORDER BY occurred_at DESC, decision_id DESC LIMIT ${}", n + 1));
    let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(filter.since);
    if let Some(score) = filter.min_score {
        query = query.bind(score);
    }
    if let Some(rule) = &filter.rule_id {
        query = query.bind(console::json_like("rule_id", rule));
    }
    if let Some(family) = &filter.family {
        query = query.bind(console::json_like("family", family));
    }
    let rows = query.bind(i64::from(limit)).fetch_all(pool).await?;
    rows.iter().map(|(json,)| crate::codec::decision(vault, json)).collect()
}

pub(super) async fn review_queue_size(pool: &PgPool, since: Timestamp) -> Result<u64, StoreError> {
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM decisions WHERE {QUEUE}"))
        .bind(since)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn escalate_case(
    pool: &PgPool,
    vault: &Vault,
    event_id: &str,
    reason: &str,
    actor: &str,
    at: Timestamp,
) -> Result<Escalation, StoreError> {
    let mut tx = pool.begin().await?;
    let row: EscalationRow<Timestamp> = sqlx::query_as(
        "INSERT INTO case_escalations (event_id, reason, escalated_by, escalated_at) VALUES ($1, $2, $3, $4) \
         RETURNING escalation_id, event_id, reason, escalated_by, escalated_at",
    )
    .bind(event_id)
    .bind(reason)
    .bind(actor)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    let escalation = console::escalation(row, ts("case_escalations"))?;
    audit::append(&mut tx, vault, console::audit_escalation(&escalation)).await?;
    tx.commit().await?;
    Ok(escalation)
}

pub(super) async fn escalations(pool: &PgPool, event_ids: &[&str]) -> Result<Vec<Escalation>, StoreError> {
    let mut out = Vec::new();
    for chunk in event_ids.chunks(500) {
        let ids: Vec<&str> = chunk.to_vec();
        let rows: Vec<EscalationRow<Timestamp>> = sqlx::query_as(
            "SELECT escalation_id, event_id, reason, escalated_by, escalated_at FROM case_escalations \
             WHERE event_id = ANY($1) ORDER BY escalation_id",
        )
        .bind(ids)
        .fetch_all(pool)
        .await?;
        for row in rows {
            out.push(console::escalation(row, ts("case_escalations"))?);
        }
    }
    out.sort_by_key(|e| e.escalation_id);
    Ok(out)
}

fn status_condition(status: BlockStatus) -> &'static str {
    match status {
        // Each condition binds `at` once, so the statement's parameters stay the same.
        BlockStatus::All => "$3::timestamptz IS NOT NULL",
        BlockStatus::Active => "released_at IS NULL AND until > $3",
        BlockStatus::Released => "released_at IS NOT NULL AND $3::timestamptz IS NOT NULL",
        BlockStatus::Expired => "released_at IS NULL AND until <= $3",
    }
}

pub(super) async fn blocks_between(
    pool: &PgPool,
    vault: &Vault,
    from: Timestamp,
    to: Timestamp,
    status: BlockStatus,
    at: Timestamp,
    limit: u32,
) -> Result<Vec<BlockRecord>, StoreError> {
    let rows: Vec<BlockReleaseRow<Timestamp>> = sqlx::query_as(&format!(
        "SELECT {BLOCK_COLUMNS} FROM blocks WHERE since >= $1 AND since < $2 AND ({}) \
         ORDER BY since DESC, block_id DESC LIMIT $4",
        status_condition(status)
    ))
    .bind(from)
    .bind(to)
    .bind(at)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| console::block_record(vault, row, ts("blocks"))).collect()
}

pub(super) async fn block_in(
    conn: &mut PgConnection,
    vault: &Vault,
    block_id: &str,
) -> Result<Option<BlockRecord>, StoreError> {
    let row: Option<BlockReleaseRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {BLOCK_COLUMNS} FROM blocks WHERE block_id = $1"))
            .bind(block_id)
            .fetch_optional(conn)
            .await?;
    row.map(|row| console::block_record(vault, row, ts("blocks"))).transpose()
}

pub(super) async fn block(
    pool: &PgPool,
    vault: &Vault,
    block_id: &str,
) -> Result<Option<BlockRecord>, StoreError> {
    block_in(&mut *pool.acquire().await?, vault, block_id).await
}

pub(super) async fn blocks_released_since(
    pool: &PgPool,
    vault: &Vault,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<BlockRecord>, StoreError> {
    let rows: Vec<BlockReleaseRow<Timestamp>> = sqlx::query_as(&format!(
        "SELECT {BLOCK_COLUMNS} FROM blocks WHERE released_at IS NOT NULL AND released_at >= $1 \
         ORDER BY released_at, block_id LIMIT $2"
    ))
    .bind(since)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| console::block_record(vault, row, ts("blocks"))).collect()
}
