//! The Postgres backend, for production: a connection pool, schema migrated at
//! open (after refusing a schema newer than this build), `events` and `decisions`
//! partitioned by month with partitions created ahead, batches saved with one
//! `UNNEST` insert per table.

mod api_keys;
mod audit;
mod console;
mod dashboard;
mod models;
mod notes;
mod packs;
mod partitions;
mod releases;
mod retention;
mod rotation;
mod save;

use crate::audit::{AuditEntry, AuditHead, AuditRecord};
use crate::codec;
use crate::console::{
    BlockRecord, BlockStatus, Escalation, LoginFailure, NewSession, NewUser, Session, User, UserChange,
};
use crate::packs::{
    ChangeState, ChangedFile, NewSuppression, PackVersion, RuleChange, ShadowTally, Suppression,
};
use crate::retention::{LegalHold, RetentionPolicy, RetentionReport};
use crate::rotation::ResealBatch;
use crate::store::{Counts, Record, SaveSummary, Store};
use crate::StoreError;
use fds_core::{Block, Decision, Label, Timestamp};
use fds_rules::PackFiles;
use fds_vault::Vault;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The schema, embedded at compile time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per store. The batch writer uses one at a time; the rest serve API
/// reads and dashboards. Small on purpose: a 2-core pod gains nothing from more,
/// and Postgres pays per connection.
const CONNECTIONS: u32 = 8;

/// How long a caller waits for a free connection (or for the server to answer a
/// connect) before the call fails. The batch writer retries failed saves.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A store in one Postgres database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    partitions: Arc<partitions::Partitions>,
    vault: Arc<Vault>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:5432/db`
    /// or `postgresql://…`), refuses a schema newer than this build knows
    /// ([`StoreError::SchemaTooNew`]), applies this build's pending migrations and
    /// creates the partitions of the current month (by the database clock) and of
    /// the few after it. The database itself must exist.
    ///
    /// `vault` seals the PII the store writes and opens what it reads; lookups by
    /// subscriber go through its blind index.
    pub async fn open(url: &str, vault: Arc<Vault>) -> Result<PgStore, StoreError> {
        // The parser's message may quote the URL, which may hold a password.
        let options = PgConnectOptions::from_str(url).map_err(|_| {
            StoreError::InvalidUrl("a postgres url reads `postgres://user@host:5432/database`".into())
        })?;
        // One plain connection for the set-up: a server that is down or refuses
        // fails here at once with its own error, where the pool would retry until
        // its timeout and report only that.
        let mut setup = PgConnection::connect_with(&options).await?;
        crate::schema::refuse_unknown(&applied_migrations(&mut setup).await?, &MIGRATOR)?;
        MIGRATOR.run(&mut setup).await?;
        sqlx::query("SELECT fds_create_partitions_ahead($1)")
            .bind(partitions::MONTHS_AHEAD as i32)
            .execute(&mut setup)
            .await?;
        setup.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(PgStore { pool, partitions: Arc::default(), vault })
    }

    /// Closes every connection, waiting for those in use to be returned. Later
    /// calls on this store fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for tests that check or set up rows the interface does not expose.
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The migration versions recorded in the database (none before the first migration).
async fn applied_migrations(conn: &mut PgConnection) -> Result<Vec<i64>, StoreError> {
    let (exists,): (bool,) =
        sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut *conn).await?;
    if !exists {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(conn).await?)
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn save(&self, batch: &[Record]) -> Result<SaveSummary, StoreError> {
        save::save(&self.pool, &self.vault, &self.partitions, batch, Box::pin(async {})).await
    }

    async fn save_after(
        &self,
        batch: &[Record],
        after: crate::store::Gate,
    ) -> Result<SaveSummary, StoreError> {
        save::save(&self.pool, &self.vault, &self.partitions, batch, after).await
    }

    async fn decision_for_event(&self, event_id: &str) -> Result<Option<Decision>, StoreError> {
        // The guard table's `occurred_at` picks the one partition to read: as a
        // sub-select (an init plan) it prunes the others at run time, which a join
        // on it does not. A held decision whose partition retention dropped is in
        // `held_decisions`.
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT decision::text FROM decisions WHERE event_id = $1 \
             AND occurred_at = (SELECT occurred_at FROM event_ids WHERE event_id = $1) \
             UNION ALL SELECT decision::text FROM held_decisions WHERE event_id = $1 LIMIT 1",
        )
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(json,)| codec::decision(&self.vault, &json)).transpose()
    }

    async fn decisions_for_events(&self, event_ids: &[&str]) -> Result<Vec<Decision>, StoreError> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        // The guard table alone answers "never seen", the common case: a fresh batch
        // touches no partition. One key lookup per id, whatever the planner thinks of
        // the table: the `LIMIT 1` keeps the lateral subquery from being flattened
        // into a join, so it stays a probe of the primary key per id. Written as
        // `event_id = ANY($1)` or a plain join, a batch of 2,000 ids was planned as a
        // scan of the whole table (hashed) for as long as it held under about a
        // million rows: 30 ms a batch at 300,000 rows, against 4 ms for the probes.
        // Planned per call, never from a cached generic plan: one made while the table
        // was nearly empty could scan it per id once it is not.
        let found: Vec<(String, Timestamp)> = sqlx::query_as(
            "SELECT g.event_id, e.occurred_at FROM UNNEST($1::text[]) AS g (event_id) \
             CROSS JOIN LATERAL \
             (SELECT occurred_at FROM event_ids WHERE event_id = g.event_id LIMIT 1) AS e",
        )
        .bind(event_ids)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, times): (Vec<String>, Vec<Timestamp>) = found.into_iter().unzip();
        // A held decision (its partition dropped by retention) keeps its guard row.
        // Planned per call too, with the found ids (rare: redeliveries) at hand.
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT d.decision::text FROM UNNEST($1::text[], $2::timestamptz[]) AS g (event_id, occurred_at) \
             JOIN decisions d ON d.event_id = g.event_id AND d.occurred_at = g.occurred_at \
             UNION ALL SELECT decision::text FROM held_decisions WHERE event_id = ANY($1)",
        )
        .bind(&ids)
        .bind(&times)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(rows.len());
        for (json,) in &rows {
            let decision = codec::decision(&self.vault, json)?;
            if seen.insert(decision.event_id.clone()) {
                out.push(decision);
            }
        }
        Ok(out)
    }

    async fn decisions_for_subscriber(
        &self,
        subscriber: &str,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT decision::text FROM ( \
                 SELECT decision, occurred_at, decision_id FROM decisions WHERE subscriber = $1 \
                 UNION ALL \
                 SELECT decision, occurred_at, decision_id FROM held_decisions WHERE subscriber = $1 \
             ) AS kept ORDER BY occurred_at DESC, decision_id DESC LIMIT $2",
        )
        .bind(crate::pii::index(&self.vault, subscriber))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|(json,)| codec::decision(&self.vault, json)).collect()
    }

    async fn events_after(
        &self,
        after: (Timestamp, &str),
        limit: u32,
    ) -> Result<Vec<fds_core::Event>, StoreError> {
        let (at, event_id) = after;
        // A row comparison, so the `(occurred_at, event_id)` index serves it; the
        // cursor is truncated to the microsecond like the stored values.
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT payload::text FROM ( \
                 (SELECT payload, occurred_at, event_id FROM events \
                  WHERE (occurred_at, event_id) > ($1, $2) ORDER BY occurred_at, event_id LIMIT $3) \
                 UNION ALL \
                 (SELECT payload, occurred_at, event_id FROM held_events \
                  WHERE (occurred_at, event_id) > ($1, $2) ORDER BY occurred_at, event_id LIMIT $3) \
             ) AS kept ORDER BY occurred_at, event_id LIMIT $3",
        )
        .bind(at)
        .bind(event_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|(json,)| codec::event(&self.vault, json)).collect()
    }

    async fn active_blocks(&self, at: Timestamp) -> Result<Vec<Block>, StoreError> {
        let rows: Vec<codec::BlockRow<Timestamp>> = sqlx::query_as(
            "SELECT block_id, subscriber_sealed, scope, since, until, decision_id, reason FROM blocks \
             WHERE released_at IS NULL AND since <= $1 AND until > $1 ORDER BY since, block_id",
        )
        .bind(at)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| codec::block(&self.vault, row, Ok)).collect()
    }

    async fn active_blocks_for_subscriber(
        &self,
        subscriber: &str,
        at: Timestamp,
    ) -> Result<Vec<Block>, StoreError> {
        let rows: Vec<codec::BlockRow<Timestamp>> = sqlx::query_as(
            "SELECT block_id, subscriber_sealed, scope, since, until, decision_id, reason FROM blocks \
             WHERE subscriber = $1 AND until > $2 AND released_at IS NULL AND since <= $2 \
             ORDER BY since, block_id",
        )
        .bind(crate::pii::index(&self.vault, subscriber))
        .bind(at)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| codec::block(&self.vault, row, Ok)).collect()
    }

    async fn save_label(&self, label: &Label) -> Result<(), StoreError> {
        insert_label(&mut *self.pool.acquire().await?, &self.vault, label).await.map(drop)
    }

    async fn save_label_audited(
        &self,
        label: &Label,
        audit: AuditEntry,
    ) -> Result<Option<AuditRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !insert_label(&mut tx, &self.vault, label).await? {
            tx.commit().await?;
            return Ok(None);
        }
        let record = audit::append(&mut tx, &self.vault, audit).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn append_audit(&self, entry: AuditEntry) -> Result<AuditRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        let record = audit::append(&mut tx, &self.vault, entry).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn audit_records(&self, after_seq: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        audit::records(&self.pool, after_seq, limit).await
    }

    async fn audit_head(&self) -> Result<AuditHead, StoreError> {
        audit::head(&self.pool).await
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn labels(&self, limit: u32) -> Result<Vec<Label>, StoreError> {
        let rows: Vec<codec::LabelRow<Timestamp>> = sqlx::query_as(
            "SELECT label_id, event_id, subscriber_sealed, outcome, note, labelled_by, labelled_at \
             FROM labels ORDER BY labelled_at DESC, label_id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| codec::label(&self.vault, row, Ok)).collect()
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        // One snapshot for both statements, so the totals and the per-action split agree.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        let (events, decisions, blocks, labels): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM held_events), \
                    (SELECT COUNT(*) FROM decisions) + (SELECT COUNT(*) FROM held_decisions), \
                    (SELECT COUNT(*) FROM blocks), (SELECT COUNT(*) FROM labels)",
        )
        .fetch_one(&mut *tx)
        .await?;
        let per_action: Vec<(String, i64)> = sqlx::query_as(
            "SELECT action, COUNT(*) FROM (SELECT action FROM decisions \
                 UNION ALL SELECT action FROM held_decisions) AS kept GROUP BY action",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;

        codec::counts([events, decisions, blocks, labels], per_action)
    }

    async fn dashboard(
        &self,
        from: Timestamp,
        to: Timestamp,
        bucket: crate::Bucket,
    ) -> Result<crate::Dashboard, StoreError> {
        dashboard::read(&self.pool, from, to, bucket).await
    }

    async fn rule_hits(&self, from: Timestamp, to: Timestamp) -> Result<crate::RuleHits, StoreError> {
        dashboard::rule_hits(&self.pool, from, to).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn place_hold(
        &self,
        subscriber: &str,
        case_id: Option<&str>,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<LegalHold, StoreError> {
        retention::place_hold(&self.pool, &self.vault, subscriber, case_id, reason, actor, at).await
    }

    async fn lift_hold(
        &self,
        hold_id: i64,
        actor: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<Option<LegalHold>, StoreError> {
        retention::lift_hold(&self.pool, &self.vault, hold_id, actor, reason, at).await
    }

    async fn holds(&self) -> Result<Vec<LegalHold>, StoreError> {
        retention::holds(&self.pool, &self.vault).await
    }

    async fn retention(
        &self,
        policy: RetentionPolicy,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<RetentionReport, StoreError> {
        retention::run(&self.pool, &self.vault, &self.partitions, policy, now, dry_run).await
    }

    fn sealed_tables(&self) -> Vec<&'static str> {
        rotation::tables()
    }

    async fn reseal_batch(
        &self,
        table: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<ResealBatch, StoreError> {
        rotation::reseal_batch(&self.pool, &self.vault, table, after, limit).await
    }

    async fn rules_epoch(&self) -> Result<i64, StoreError> {
        packs::epoch(&self.pool).await
    }

    async fn rule_pack_versions(&self, limit: u32) -> Result<Vec<PackVersion>, StoreError> {
        packs::versions(&self.pool, limit).await
    }

    async fn rule_pack_files(&self, version: u64) -> Result<PackFiles, StoreError> {
        packs::pack_files(&self.pool, version).await
    }

    async fn seed_rule_pack(
        &self,
        files: &PackFiles,
        content_hash: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<PackVersion>, StoreError> {
        packs::seed(&self.pool, &self.vault, files, content_hash, actor, at).await
    }

    async fn create_rule_change(
        &self,
        title: &str,
        author: &str,
        base_version: u64,
        files: &[ChangedFile],
        at: Timestamp,
    ) -> Result<RuleChange, StoreError> {
        packs::create_change(&self.pool, &self.vault, title, author, base_version, files, at).await
    }

    async fn update_rule_change(
        &self,
        change_id: i64,
        actor: &str,
        files: &[ChangedFile],
        at: Timestamp,
    ) -> Result<RuleChange, StoreError> {
        packs::update_change(&self.pool, &self.vault, change_id, actor, files, at).await
    }

    async fn rule_change(&self, change_id: i64) -> Result<Option<RuleChange>, StoreError> {
        packs::change(&self.pool, change_id).await
    }

    async fn rule_changes(&self, state: Option<ChangeState>) -> Result<Vec<RuleChange>, StoreError> {
        packs::changes(&self.pool, state).await
    }

    async fn publish_rule_change(
        &self,
        change_id: i64,
        publisher: &str,
        expected_head: u64,
        content_hash: &str,
        at: Timestamp,
    ) -> Result<PackVersion, StoreError> {
        packs::publish(&self.pool, &self.vault, change_id, publisher, expected_head, content_hash, at).await
    }

    async fn withdraw_rule_change(
        &self,
        change_id: i64,
        actor: &str,
        at: Timestamp,
    ) -> Result<RuleChange, StoreError> {
        packs::withdraw(&self.pool, &self.vault, change_id, actor, at).await
    }

    async fn set_rule_change_shadow(
        &self,
        change_id: i64,
        actor: &str,
        shadow: bool,
        at: Timestamp,
    ) -> Result<RuleChange, StoreError> {
        packs::set_shadow(&self.pool, &self.vault, change_id, actor, shadow, at).await
    }

    async fn add_suppression(&self, new: &NewSuppression) -> Result<Suppression, StoreError> {
        packs::add_suppression(&self.pool, &self.vault, new).await
    }

    async fn lift_suppression(
        &self,
        suppression_id: i64,
        actor: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<Option<Suppression>, StoreError> {
        packs::lift_suppression(&self.pool, &self.vault, suppression_id, actor, reason, at).await
    }

    async fn suppressions(&self, active_at: Option<Timestamp>) -> Result<Vec<Suppression>, StoreError> {
        packs::suppressions(&self.pool, &self.vault, active_at).await
    }

    async fn add_shadow_tallies(&self, tallies: &[ShadowTally]) -> Result<(), StoreError> {
        packs::add_shadow_tallies(&self.pool, tallies).await
    }

    async fn shadow_tallies(&self, change_id: i64) -> Result<Vec<ShadowTally>, StoreError> {
        packs::shadow_tallies(&self.pool, change_id).await
    }

    // ---- The model registry (see `models.rs`) ----

    async fn register_model(
        &self,
        model: &crate::NewModel,
        role: crate::ModelRole,
    ) -> Result<Option<crate::ModelInfo>, StoreError> {
        models::register(&self.pool, &self.vault, model, role).await
    }

    async fn promote_model(
        &self,
        version: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<crate::ModelInfo>, StoreError> {
        models::promote(&self.pool, &self.vault, version, actor, at).await
    }

    async fn models(&self) -> Result<Vec<crate::ModelInfo>, StoreError> {
        models::list(&self.pool).await
    }

    async fn model_artifact(&self, version: &str) -> Result<Option<String>, StoreError> {
        models::artifact(&self.pool, version).await
    }

    async fn model_registry_version(&self) -> Result<u64, StoreError> {
        models::registry_version(&self.pool).await
    }

    async fn add_model_scores(&self, tallies: &[crate::ScoreTally]) -> Result<(), StoreError> {
        models::add_scores(&self.pool, tallies).await
    }

    async fn model_scores(
        &self,
        version: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<[u64; crate::SCORE_BINS], StoreError> {
        models::scores(&self.pool, version, from, to).await
    }

    async fn add_model_inputs(&self, tallies: &[crate::InputTally]) -> Result<(), StoreError> {
        models::add_inputs(&self.pool, tallies).await
    }

    async fn model_inputs(
        &self,
        version: &str,
        day: chrono::NaiveDate,
    ) -> Result<std::collections::BTreeMap<String, Vec<u64>>, StoreError> {
        models::inputs(&self.pool, version, day).await
    }

    async fn save_model_drift(&self, report: &crate::DriftReport) -> Result<(), StoreError> {
        models::save_drift(&self.pool, report).await
    }

    async fn model_drift(
        &self,
        version: &str,
    ) -> Result<Vec<(chrono::NaiveDate, std::collections::BTreeMap<String, f64>)>, StoreError> {
        models::drift(&self.pool, version).await
    }

    // ---- The analyst console (see `console.rs`) ----

    async fn create_user(&self, user: &NewUser, actor: &str, at: Timestamp) -> Result<User, StoreError> {
        console::create_user(&self.pool, &self.vault, user, actor, at).await
    }

    async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        console::user_by_login(&self.pool, &self.vault, login).await
    }

    async fn user_by_id(&self, user_id: i64) -> Result<Option<User>, StoreError> {
        console::user_by_id(&self.pool, &self.vault, user_id).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        console::users(&self.pool, &self.vault).await
    }

    async fn update_user(
        &self,
        login: &str,
        change: &UserChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        console::update_user(&self.pool, &self.vault, login, change, actor, at).await
    }

    async fn set_user_language(&self, user_id: i64, language: crate::Language) -> Result<(), StoreError> {
        console::set_language(&self.pool, user_id, language).await
    }

    async fn set_totp(
        &self,
        user_id: i64,
        secret: Option<&crate::Secret>,
        enabled: bool,
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        console::set_totp(&self.pool, &self.vault, user_id, secret, enabled, actor, at).await
    }

    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        console::use_totp_step(&self.pool, user_id, step).await
    }

    async fn record_login_failure(
        &self,
        user_id: i64,
        at: Timestamp,
        lock_after: u32,
        lock_for: chrono::Duration,
    ) -> Result<LoginFailure, StoreError> {
        console::record_login_failure(&self.pool, &self.vault, user_id, at, lock_after, lock_for).await
    }

    async fn open_session(&self, session: &NewSession) -> Result<(), StoreError> {
        console::open_session(&self.pool, &self.vault, session).await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        console::session(&self.pool, id_hash).await
    }

    async fn touch_session(&self, id_hash: &str, at: Timestamp) -> Result<(), StoreError> {
        console::touch_session(&self.pool, id_hash, at).await
    }

    async fn end_session(&self, id_hash: &str, audit: bool, at: Timestamp) -> Result<bool, StoreError> {
        console::end_session(&self.pool, &self.vault, id_hash, audit, at).await
    }

    async fn end_user_sessions(&self, user_id: i64, actor: &str, at: Timestamp) -> Result<u64, StoreError> {
        console::end_user_sessions(&self.pool, &self.vault, user_id, actor, at).await
    }

    async fn purge_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        console::purge_sessions(&self.pool, now).await
    }

    async fn replace_session(&self, old_id_hash: &str, new: &NewSession) -> Result<(), StoreError> {
        console::replace_session(&self.pool, &self.vault, old_id_hash, new).await
    }

    async fn event(&self, event_id: &str) -> Result<Option<fds_core::Event>, StoreError> {
        console::event(&self.pool, &self.vault, event_id).await
    }

    async fn events_for_subscriber(
        &self,
        subscriber: &str,
        limit: u32,
    ) -> Result<Vec<fds_core::Event>, StoreError> {
        console::events_for_subscriber(&self.pool, &self.vault, subscriber, limit).await
    }

    async fn labels_for_event(&self, event_id: &str) -> Result<Vec<Label>, StoreError> {
        let rows: Vec<codec::LabelRow<Timestamp>> = sqlx::query_as(
            "SELECT label_id, event_id, subscriber_sealed, outcome, note, labelled_by, labelled_at \
             FROM labels WHERE event_id = $1 ORDER BY labelled_at, label_id",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| codec::label(&self.vault, row, Ok)).collect()
    }

    async fn review_queue(
        &self,
        filter: &crate::QueueFilter,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError> {
        console::review_queue(&self.pool, &self.vault, filter, limit).await
    }

    async fn review_queue_size(&self, since: Timestamp) -> Result<u64, StoreError> {
        console::review_queue_size(&self.pool, since).await
    }

    async fn escalate_case(
        &self,
        event_id: &str,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Escalation, StoreError> {
        console::escalate_case(&self.pool, &self.vault, event_id, reason, actor, at).await
    }

    async fn escalations(&self, event_ids: &[&str]) -> Result<Vec<Escalation>, StoreError> {
        console::escalations(&self.pool, event_ids).await
    }

    async fn blocks_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        status: BlockStatus,
        at: Timestamp,
        limit: u32,
    ) -> Result<Vec<BlockRecord>, StoreError> {
        console::blocks_between(&self.pool, &self.vault, from, to, status, at, limit).await
    }

    async fn block(&self, block_id: &str) -> Result<Option<BlockRecord>, StoreError> {
        console::block(&self.pool, &self.vault, block_id).await
    }

    async fn release_block(
        &self,
        block_id: &str,
        actor: &str,
        reason: &str,
        allow_days: Option<u32>,
        at: Timestamp,
    ) -> Result<Option<crate::Release>, StoreError> {
        releases::release_block(&self.pool, &self.vault, block_id, actor, reason, allow_days, at).await
    }

    async fn request_block_release(
        &self,
        block_id: &str,
        actor: &str,
        reason: &str,
        allow_days: Option<u32>,
        at: Timestamp,
    ) -> Result<crate::ReleaseRequest, StoreError> {
        releases::request_release(&self.pool, &self.vault, block_id, actor, reason, allow_days, at).await
    }

    async fn decide_block_release(
        &self,
        request_id: i64,
        actor: &str,
        approve: bool,
        note: &str,
        at: Timestamp,
    ) -> Result<Option<crate::Decided>, StoreError> {
        releases::decide_release(&self.pool, &self.vault, request_id, actor, approve, note, at).await
    }

    async fn release_requests(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<crate::ReleaseRequest>, StoreError> {
        releases::release_requests(&self.pool, pending_only, limit).await
    }

    async fn blocks_for_subscriber(
        &self,
        subscriber: &str,
        limit: u32,
    ) -> Result<Vec<BlockRecord>, StoreError> {
        notes::blocks_for_subscriber(&self.pool, &self.vault, subscriber, limit).await
    }

    async fn labels_for_subscriber(&self, subscriber: &str, limit: u32) -> Result<Vec<Label>, StoreError> {
        notes::labels_for_subscriber(&self.pool, &self.vault, subscriber, limit).await
    }

    async fn add_subscriber_note(
        &self,
        subscriber: &str,
        text: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<crate::SubscriberNote, StoreError> {
        notes::add_note(&self.pool, &self.vault, subscriber, text, actor, at).await
    }

    async fn subscriber_notes(
        &self,
        subscriber: &str,
        limit: u32,
    ) -> Result<Vec<crate::SubscriberNote>, StoreError> {
        notes::notes_for_subscriber(&self.pool, &self.vault, subscriber, limit).await
    }

    fn subscriber_ref(&self, subscriber: &str) -> String {
        crate::pii::subscriber_ref(&self.vault, subscriber)
    }

    fn subscriber_of_ref(&self, reference: &str) -> Result<String, StoreError> {
        crate::pii::open_subscriber_ref(&self.vault, reference)
    }

    async fn blocks_released_since(
        &self,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<BlockRecord>, StoreError> {
        console::blocks_released_since(&self.pool, &self.vault, since, limit).await
    }

    async fn allow_entries(&self, active_at: Timestamp) -> Result<Vec<crate::AllowEntry>, StoreError> {
        releases::allow_entries(&self.pool, &self.vault, active_at).await
    }

    async fn create_api_key(&self, new: &crate::NewApiKey) -> Result<crate::ApiKeyRecord, StoreError> {
        api_keys::create(&self.pool, &self.vault, new).await
    }

    async fn revoke_api_key(
        &self,
        key_id: i64,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<crate::ApiKeyRecord>, StoreError> {
        api_keys::revoke(&self.pool, &self.vault, key_id, actor, at).await
    }

    async fn api_keys(&self) -> Result<Vec<crate::ApiKeyRecord>, StoreError> {
        api_keys::list(&self.pool).await
    }
}

/// Inserts `label` unless its id is stored; whether it was new.
async fn insert_label(conn: &mut PgConnection, vault: &Vault, label: &Label) -> Result<bool, StoreError> {
    let subscriber = label.subscriber.as_ref().map(|s| s.expose());
    let done = sqlx::query(
        "INSERT INTO labels \
             (label_id, event_id, subscriber, subscriber_sealed, outcome, note, labelled_by, labelled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (label_id) DO NOTHING",
    )
    .bind(&label.label_id)
    .bind(label.event_id.as_deref())
    .bind(subscriber.map(|s| crate::pii::index(vault, s)))
    .bind(subscriber.map(|s| crate::pii::seal_subscriber(vault, s)))
    .bind(label.outcome.as_str())
    .bind(label.note.as_deref())
    .bind(&label.labelled_by)
    .bind(label.labelled_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests;
