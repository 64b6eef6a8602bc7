//! The store trait every backend implements, and the values it trades in.

use crate::audit::{AuditEntry, AuditHead, AuditRecord};
use crate::console::{
    BlockRecord, BlockStatus, Escalation, LoginFailure, NewSession, NewUser, Session, User, UserChange,
};
use crate::dashboard::{Bucket, Dashboard};
use crate::models::{DriftReport, InputTally, ModelInfo, ModelRole, NewModel, ScoreTally, SCORE_BINS};
use crate::packs::{
    ChangeState, ChangedFile, NewSuppression, PackVersion, RuleChange, ShadowTally, Suppression,
};
use crate::retention::{LegalHold, RetentionPolicy, RetentionReport};
use crate::rotation::ResealBatch;
use crate::StoreError;
use fds_core::{Action, Block, Decision, Event, Label, Timestamp};
use fds_rules::PackFiles;

/// One scored event as the store keeps it: the event, its decision (with the block
/// the decision created, if any) and when the event arrived.
///
/// `decision` must be the decision for `event` (`decision.event_id == event.event_id`):
/// the store files the decision under the event it is given.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub event: Event,
    pub decision: Decision,
    pub received_at: Timestamp,
}

/// What one [`Store::save`] did.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveSummary {
    /// Records stored by this call.
    pub inserted: u64,
    /// Records left alone because their event id was already stored (earlier, or
    /// earlier in the same batch).
    pub duplicates: u64,
}

/// How many decisions of each action are stored.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionCounts {
    pub allow: u64,
    pub review: u64,
    pub block: u64,
}

impl ActionCounts {
    /// The count for `action`.
    pub fn get(&self, action: Action) -> u64 {
        match action {
            Action::Allow => self.allow,
            Action::Review => self.review,
            Action::Block => self.block,
        }
    }

    pub(crate) fn add(&mut self, action: Action, n: u64) {
        match action {
            Action::Allow => self.allow += n,
            Action::Review => self.review += n,
            Action::Block => self.block += n,
        }
    }
}

/// Row counts of the data mart, for dashboards and health pages.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub events: u64,
    pub decisions: u64,
    pub blocks: u64,
    pub labels: u64,
    pub decisions_by_action: ActionCounts,
}

/// Persistence of events, decisions, blocks and labels.
///
/// Implementations hold SQL and nothing else: what to decide, block or label is
/// decided by the callers. Timestamps are kept to the microsecond.
/// What [`Store::save_after`] waits for before it writes.
pub type Gate = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Saves a batch in one transaction: the events (data mart), their decisions and
    /// the blocks those decisions created. All or nothing.
    ///
    /// Idempotent by event id: a record whose event id is already stored (or appears
    /// earlier in the same batch) changes nothing and counts as a duplicate, so a
    /// redelivered or replayed event is harmless.
    async fn save(&self, batch: &[Record]) -> Result<SaveSummary, StoreError>;

    /// [`Store::save`], writing only once `after` resolves: the batch writer's way to
    /// commit saves in order (each waits for the one before) while the next batch is
    /// already being encoded. Backends that encode inside the transaction just wait
    /// first.
    async fn save_after(&self, batch: &[Record], after: Gate) -> Result<SaveSummary, StoreError> {
        after.await;
        self.save(batch).await
    }

    /// The decision stored for `event_id`, if any.
    async fn decision_for_event(&self, event_id: &str) -> Result<Option<Decision>, StoreError>;

    /// The decisions stored for any of `event_ids`, in no particular order; ids never
    /// stored are simply absent. One round trip for a whole batch, which is how the
    /// stream worker and the import check a batch for redeliveries.
    async fn decisions_for_events(&self, event_ids: &[&str]) -> Result<Vec<Decision>, StoreError>;

    /// Up to `limit` decisions about `subscriber`, newest event first (by the
    /// event's `occurred_at`, so batch imports decided late still sort by when
    /// things happened).
    async fn decisions_for_subscriber(
        &self,
        subscriber: &str,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError>;

    /// Up to `limit` stored events in event-time order (`occurred_at`, then
    /// `event_id`) that come strictly after `after`; `after = (from, "")` starts at
    /// `from`. Pass the last event's `(occurred_at, event_id)` to get the next page.
    /// Used to replay history: velocity warm-up after a restart, backtests.
    async fn events_after(
        &self,
        after: (Timestamp, &str),
        limit: u32,
    ) -> Result<Vec<fds_core::Event>, StoreError>;

    /// Every block in force at `at`: not released, and `since <= at < until`.
    /// Ordered by `since`, then block id.
    async fn active_blocks(&self, at: Timestamp) -> Result<Vec<Block>, StoreError>;

    /// The blocks on `subscriber` in force at `at`, as [`Store::active_blocks`].
    async fn active_blocks_for_subscriber(
        &self,
        subscriber: &str,
        at: Timestamp,
    ) -> Result<Vec<Block>, StoreError>;

    /// Saves a label. Idempotent by label id: saving a label id again changes nothing.
    async fn save_label(&self, label: &Label) -> Result<(), StoreError>;

    /// Saves a label and, when it is new, appends `audit` to the audit log in the
    /// same transaction: both or neither. Returns the audit record, or `None` when
    /// the label id was already stored (nothing changed, nothing is audited).
    async fn save_label_audited(
        &self,
        label: &Label,
        audit: AuditEntry,
    ) -> Result<Option<AuditRecord>, StoreError>;

    /// Appends `entry` to the audit log as the next record of the hash chain (see
    /// `audit.rs`): the store assigns the sequence number and the hashes
    /// atomically, so concurrent appends give a chain without gaps or forks.
    /// There is no call to change or remove a record.
    async fn append_audit(&self, entry: AuditEntry) -> Result<AuditRecord, StoreError>;

    /// Up to `limit` audit records with `seq > after_seq`, in sequence order. Pass
    /// the last record's `seq` to get the next page; `0` starts at the beginning.
    async fn audit_records(&self, after_seq: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;

    /// The chain head: the last assigned sequence number and its hash. Read it
    /// before paging through the log to verify it (see `ChainVerifier::finish`).
    async fn audit_head(&self) -> Result<AuditHead, StoreError>;

    /// The newest migration applied to the database: its schema version.
    async fn schema_version(&self) -> Result<i64, StoreError>;

    /// Up to `limit` labels, most recently labelled first.
    async fn labels(&self, limit: u32) -> Result<Vec<Label>, StoreError>;

    /// Row counts: events, decisions, blocks, labels, and decisions per action.
    async fn counts(&self) -> Result<Counts, StoreError>;

    /// Dashboard aggregates of the decisions that occurred in `[from, to)`, widened
    /// to whole UTC hours, with a series per `bucket` (see `dashboard.rs`). Read
    /// from hourly rollups, so a year costs about as much as a day.
    async fn dashboard(
        &self,
        from: Timestamp,
        to: Timestamp,
        bucket: Bucket,
    ) -> Result<Dashboard, StoreError>;

    /// Rule hits of the decisions that occurred in `[from, to)`, widened to whole
    /// UTC hours (see `dashboard.rs`), read from an hourly rollup per rule.
    async fn rule_hits(&self, from: Timestamp, to: Timestamp) -> Result<crate::RuleHits, StoreError>;

    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Places a legal hold on `subscriber` (for `case_id`, if given): until it is
    /// lifted, retention removes none of the subscriber's decisions and events.
    /// Appends a `hold.place` audit record by `actor` in the same transaction.
    async fn place_hold(
        &self,
        subscriber: &str,
        case_id: Option<&str>,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<LegalHold, StoreError>;

    /// Lifts the active hold `hold_id` and appends a `hold.lift` audit record by
    /// `actor`, with `reason`, in the same transaction. Returns the hold, or `None` when there is
    /// no active hold of that id (nothing changes, nothing is audited). The
    /// subscriber stays held while another of its holds is active.
    async fn lift_hold(
        &self,
        hold_id: i64,
        actor: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<Option<LegalHold>, StoreError>;

    /// The active (not lifted) holds, oldest first.
    async fn holds(&self) -> Result<Vec<LegalHold>, StoreError>;

    /// Removes what `policy` no longer keeps at `now` (see `retention.rs`), except
    /// the rows of held subscribers, and reports it per table and month; appends
    /// one `retention.run` audit record with the report. With `dry_run`, removes
    /// and appends nothing and reports what a run would remove. Running it again
    /// removes nothing more.
    async fn retention(
        &self,
        policy: RetentionPolicy,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<RetentionReport, StoreError>;

    /// The tables holding sealed values that [`Store::reseal_batch`] rewrites, in
    /// the order a key rotation visits them (the audit log is not among them: see
    /// `rotation.rs`).
    fn sealed_tables(&self) -> Vec<&'static str>;

    /// Re-seals under the vault's active key, in one transaction, the values of up
    /// to `limit` rows of `table` (one of [`Store::sealed_tables`]) that come after
    /// the cursor `after` (`None`: from the start) and may hold values under another
    /// key; writes back the rows that changed. Pass the returned `last` to get the
    /// next batch; fewer than `limit` rows read means the table is done. A value
    /// that does not open fails the batch with [`StoreError::Sealed`], changing
    /// nothing.
    async fn reseal_batch(
        &self,
        table: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<ResealBatch, StoreError>;

    // Rule packs, drafts, suppressions and shadow tallies (see `packs.rs`). Every
    // state change appends its audit record in the same transaction.

    /// A counter bumped by every publish, shadow switch, edit of a draft in shadow
    /// and suppression change: what replicas poll to pick them up.
    async fn rules_epoch(&self) -> Result<i64, StoreError>;

    /// Up to `limit` published pack versions, newest first (empty before the seed).
    async fn rule_pack_versions(&self, limit: u32) -> Result<Vec<PackVersion>, StoreError>;

    /// The files of published version `version` (empty for a version not published).
    async fn rule_pack_files(&self, version: u64) -> Result<PackFiles, StoreError>;

    /// Publishes `files` as version 1 when no version exists yet (audited as
    /// `rules.seed` by `actor`); `None`, writing nothing, when the pack is seeded.
    async fn seed_rule_pack(
        &self,
        files: &PackFiles,
        content_hash: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<PackVersion>, StoreError>;

    /// Opens a draft by `author` writing or removing `files` against published
    /// version `base_version`.
    async fn create_rule_change(
        &self,
        title: &str,
        author: &str,
        base_version: u64,
        files: &[ChangedFile],
        at: Timestamp,
    ) -> Result<RuleChange, StoreError>;

    /// Writes (or replaces) `files` in draft `change_id`; only its author may.
    async fn update_rule_change(
        &self,
        change_id: i64,
        actor: &str,
        files: &[ChangedFile],
        at: Timestamp,
    ) -> Result<RuleChange, StoreError>;

    async fn rule_change(&self, change_id: i64) -> Result<Option<RuleChange>, StoreError>;

    /// The changes (all, or those in `state`), oldest first, with their files.
    async fn rule_changes(&self, state: Option<ChangeState>) -> Result<Vec<RuleChange>, StoreError>;

    /// Publishes draft `change_id` as the next version, whose compiled content hash
    /// is `content_hash`. Refused ([`StoreError::Refused`]) when `publisher` wrote
    /// the change, when it is not a draft, when the live version is not
    /// `expected_head` (what the caller compiled and tested the change against), or
    /// when a version after the draft's base changed one of its files.
    async fn publish_rule_change(
        &self,
        change_id: i64,
        publisher: &str,
        expected_head: u64,
        content_hash: &str,
        at: Timestamp,
    ) -> Result<PackVersion, StoreError>;

    /// Withdraws draft `change_id`; only its author may.
    async fn withdraw_rule_change(
        &self,
        change_id: i64,
        actor: &str,
        at: Timestamp,
    ) -> Result<RuleChange, StoreError>;

    /// Starts or stops running draft `change_id` in shadow on live traffic.
    async fn set_rule_change_shadow(
        &self,
        change_id: i64,
        actor: &str,
        shadow: bool,
        at: Timestamp,
    ) -> Result<RuleChange, StoreError>;

    /// Silences a rule for one entity until it expires (audited as `rules.suppress`).
    async fn add_suppression(&self, new: &NewSuppression) -> Result<Suppression, StoreError>;

    /// Lifts suppression `suppression_id` early; `None` when there is no such
    /// unlifted suppression (nothing changes, nothing is audited).
    async fn lift_suppression(
        &self,
        suppression_id: i64,
        actor: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<Option<Suppression>, StoreError>;

    /// Every suppression, or only those in force at `active_at`, oldest first.
    async fn suppressions(&self, active_at: Option<Timestamp>) -> Result<Vec<Suppression>, StoreError>;

    /// Adds shadow counts (summed into what is stored for the same change, rule and hour).
    async fn add_shadow_tallies(&self, tallies: &[ShadowTally]) -> Result<(), StoreError>;

    /// A change's shadow counts summed over all hours, per rule (`""`: events
    /// evaluated and decisions changed), by rule id.
    async fn shadow_tallies(&self, change_id: i64) -> Result<Vec<ShadowTally>, StoreError>;

    // ---- The model registry (`models.rs`; each backend's `models.rs`) ----

    /// Registers `model` with `role`, appending a `model.register` audit record (actor:
    /// `created_by`) and bumping the registry version in the same transaction. A
    /// champion or challenger displaces the model of its kind holding that role, which
    /// is retired. Returns the registered model, or `None` when its version is already
    /// registered (nothing changes).
    async fn register_model(
        &self,
        model: &NewModel,
        role: ModelRole,
    ) -> Result<Option<ModelInfo>, StoreError>;

    /// Makes model `version` the champion of its kind; the previous champion is
    /// retired. Appends a `model.promote` audit record by `actor` and bumps the
    /// registry version in the same transaction. Returns the model, or `None` when no
    /// such version is registered; promoting the champion changes nothing.
    async fn promote_model(
        &self,
        version: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<ModelInfo>, StoreError>;

    /// Every registered model (without its artifact), newest first.
    async fn models(&self) -> Result<Vec<ModelInfo>, StoreError>;

    /// The artifact (JSON text) of model `version`, if registered.
    async fn model_artifact(&self, version: &str) -> Result<Option<String>, StoreError>;

    /// A counter every registry change moves: poll it to notice a promotion cheaply.
    async fn model_registry_version(&self) -> Result<u64, StoreError>;

    /// Adds score histograms to the hourly rollup of each model version.
    async fn add_model_scores(&self, tallies: &[ScoreTally]) -> Result<(), StoreError>;

    /// The score histogram of model `version` over the UTC hours starting in
    /// `[from, to)` (`from` widened to its hour).
    async fn model_scores(
        &self,
        version: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<[u64; SCORE_BINS], StoreError>;

    /// Adds input counts to the daily rollup of each model version.
    async fn add_model_inputs(&self, tallies: &[InputTally]) -> Result<(), StoreError>;

    /// The input counts of model `version` on UTC `day`, by input (counts per bin,
    /// up to the highest bin counted).
    async fn model_inputs(
        &self,
        version: &str,
        day: chrono::NaiveDate,
    ) -> Result<std::collections::BTreeMap<String, Vec<u64>>, StoreError>;

    /// Stores (replacing) the drift of a model on a day; with `needs_retraining`,
    /// marks the model from `at` unless it is marked already.
    async fn save_model_drift(&self, report: &DriftReport) -> Result<(), StoreError>;

    /// The stored daily drift of model `version`, newest day first: per day, the PSI
    /// of each input.
    async fn model_drift(
        &self,
        version: &str,
    ) -> Result<Vec<(chrono::NaiveDate, std::collections::BTreeMap<String, f64>)>, StoreError>;

    // ---- The analyst console (`console.rs`; each backend's `console.rs`) ----

    /// Creates an account, appending its `user.create` audit record by `actor`.
    /// Refused ([`StoreError::Refused`]) for a login already taken, an invalid
    /// login or name, or no role.
    async fn create_user(&self, user: &NewUser, actor: &str, at: Timestamp) -> Result<User, StoreError>;

    async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError>;

    async fn user_by_id(&self, user_id: i64) -> Result<Option<User>, StoreError>;

    /// Every account, by login.
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Applies `change` to account `login` with its `user.update` audit record by
    /// `actor` (none when nothing changes). `None` when there is no such account.
    async fn update_user(
        &self,
        login: &str,
        change: &UserChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<User>, StoreError>;

    /// Sets the language the user reads the console in (a preference: not audited).
    async fn set_user_language(&self, user_id: i64, language: crate::Language) -> Result<(), StoreError>;

    /// Stores (sealed) a TOTP secret for the user, or clears it with `None`, and
    /// whether it is enabled; audited as `user.totp` by `actor` (never the secret).
    async fn set_totp(
        &self,
        user_id: i64,
        secret: Option<&crate::Secret>,
        enabled: bool,
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Records that a TOTP code of time step `step` was accepted, unless a code of
    /// this step or a later one already was: whether it is the first (a code is
    /// good once).
    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError>;

    /// Counts a failed login (audited `user.login_failed`); the `lock_after`-th
    /// failure in a row locks the account until `at + lock_for` and restarts the
    /// count (audited `user.lockout` as well).
    async fn record_login_failure(
        &self,
        user_id: i64,
        at: Timestamp,
        lock_after: u32,
        lock_for: chrono::Duration,
    ) -> Result<LoginFailure, StoreError>;

    /// Opens `session` for a login that passed (audited `user.login` with its
    /// stage) and clears the failed-attempt count and any lockout.
    async fn open_session(&self, session: &NewSession) -> Result<(), StoreError>;

    /// The session whose id hashes to `id_hash`, if stored (expired or not: the
    /// caller judges).
    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;

    /// Moves the session's `last_seen_at` to `at` (idle timeout).
    async fn touch_session(&self, id_hash: &str, at: Timestamp) -> Result<(), StoreError>;

    /// Ends one session; `audit` logs it as `user.logout` (not for an expiry).
    /// Whether there was such a session.
    async fn end_session(&self, id_hash: &str, audit: bool, at: Timestamp) -> Result<bool, StoreError>;

    /// Ends every session of the user (audited `user.logout_all` by `actor`): the
    /// number ended.
    async fn end_user_sessions(&self, user_id: i64, actor: &str, at: Timestamp) -> Result<u64, StoreError>;

    /// Removes sessions whose absolute end is before `now`: how many.
    async fn purge_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// The session stage after the second factor: replaces `old_id_hash` by a new
    /// session (a new id, so an id seen before the second factor is worthless),
    /// clears the failed-attempt count and is audited as `user.login`.
    async fn replace_session(&self, old_id_hash: &str, new: &NewSession) -> Result<(), StoreError>;

    /// The stored event of `event_id`, if any.
    async fn event(&self, event_id: &str) -> Result<Option<fds_core::Event>, StoreError>;

    /// Up to `limit` events of `subscriber`, newest first.
    async fn events_for_subscriber(
        &self,
        subscriber: &str,
        limit: u32,
    ) -> Result<Vec<fds_core::Event>, StoreError>;

    /// The labels of `event_id`, oldest first.
    async fn labels_for_event(&self, event_id: &str) -> Result<Vec<Label>, StoreError>;

    /// The review queue: up to `limit` review and block decisions that occurred
    /// from `filter.since` on, whose event has no label yet and that pass the
    /// filter's score, rule and family, newest first. A malformed rule or family
    /// filter is [`StoreError::Refused`].
    async fn review_queue(
        &self,
        filter: &crate::QueueFilter,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError>;

    /// How many decisions [`Store::review_queue`] would give without a limit.
    async fn review_queue_size(&self, since: Timestamp) -> Result<u64, StoreError>;

    /// Records that an analyst escalated the case of `event_id` (audited `case.escalate`).
    async fn escalate_case(
        &self,
        event_id: &str,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Escalation, StoreError>;

    /// The escalations of the cases of `event_ids`, oldest first.
    async fn escalations(&self, event_ids: &[&str]) -> Result<Vec<Escalation>, StoreError>;

    /// Up to `limit` blocks that started in `[from, to)` and are in `status` at
    /// `at`, newest first, with their release.
    async fn blocks_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        status: BlockStatus,
        at: Timestamp,
        limit: u32,
    ) -> Result<Vec<BlockRecord>, StoreError>;

    /// The block `block_id` with its release, if stored.
    async fn block(&self, block_id: &str) -> Result<Option<BlockRecord>, StoreError>;

    /// Releases the unreleased block `block_id` with `reason` (audited
    /// `block.release` by `actor`, before / after: the block) and, with
    /// `allow_days`, allows its subscriber for that many days from `at` (audited
    /// `block.allow`), in one transaction. `None` when there is no such unreleased
    /// block (nothing changes). Whether the block may be released by one person is
    /// the caller's rule (see `releases.rs`).
    async fn release_block(
        &self,
        block_id: &str,
        actor: &str,
        reason: &str,
        allow_days: Option<u32>,
        at: Timestamp,
    ) -> Result<Option<crate::Release>, StoreError>;

    // ---- The subscriber page (`notes.rs`) ----

    /// Up to `limit` blocks of `subscriber`, released and expired ones included,
    /// newest first, with their release.
    async fn blocks_for_subscriber(
        &self,
        subscriber: &str,
        limit: u32,
    ) -> Result<Vec<BlockRecord>, StoreError>;

    /// Up to `limit` labels of `subscriber` (given for them, or for one of their
    /// decided events), newest first.
    async fn labels_for_subscriber(&self, subscriber: &str, limit: u32) -> Result<Vec<Label>, StoreError>;

    /// Keeps an analyst's note on `subscriber` (text sealed; audited
    /// `subscriber.note`). Refused when the text is empty or too long.
    async fn add_subscriber_note(
        &self,
        subscriber: &str,
        text: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<crate::SubscriberNote, StoreError>;

    /// Up to `limit` notes on `subscriber`, newest first.
    async fn subscriber_notes(
        &self,
        subscriber: &str,
        limit: u32,
    ) -> Result<Vec<crate::SubscriberNote>, StoreError>;

    /// An opaque reference to `subscriber` for a console link or form: sealed by the
    /// vault, so the number is never in a URL or a page; a new one each call.
    fn subscriber_ref(&self, subscriber: &str) -> String;

    /// The number behind a [`Store::subscriber_ref`] made by any process sharing the
    /// vault's keys; [`StoreError::Refused`] for anything else.
    fn subscriber_of_ref(&self, reference: &str) -> Result<String, StoreError>;

    // ---- Two-person releases and allow entries (`releases.rs`) ----

    /// Asks a second person to release block `block_id` (audited
    /// `block.release_request`). Refused when there is no such unreleased block or a
    /// request for it is already pending.
    async fn request_block_release(
        &self,
        block_id: &str,
        actor: &str,
        reason: &str,
        allow_days: Option<u32>,
        at: Timestamp,
    ) -> Result<crate::ReleaseRequest, StoreError>;

    /// Approves (releasing the block as requested, allow entry included) or rejects
    /// pending request `request_id`, audited `block.release_approve` /
    /// `block.release_reject`, all in one transaction. Refused for the person who
    /// asked and for a request decided already; `None` when there is no such request.
    async fn decide_block_release(
        &self,
        request_id: i64,
        actor: &str,
        approve: bool,
        note: &str,
        at: Timestamp,
    ) -> Result<Option<crate::Decided>, StoreError>;

    /// Up to `limit` release requests (only the pending ones with `pending_only`), newest first.
    async fn release_requests(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<crate::ReleaseRequest>, StoreError>;

    /// Up to `limit` blocks released at or after `since`, oldest release first: what a
    /// process polls to forget the blocks another process released.
    async fn blocks_released_since(
        &self,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<BlockRecord>, StoreError>;

    /// The allow entries that have not ended by `active_at`, oldest first.
    async fn allow_entries(&self, active_at: Timestamp) -> Result<Vec<crate::AllowEntry>, StoreError>;

    // ---- API keys made in the console (`api_keys.rs`) ----

    /// Stores a new key's digest (audited `api_key.create`, never the key). Refused
    /// for a missing name or scope, a digest that is not hex SHA-256, or one stored.
    async fn create_api_key(&self, new: &crate::NewApiKey) -> Result<crate::ApiKeyRecord, StoreError>;

    /// Revokes key `key_id` (audited `api_key.revoke`); `None` when there is no such
    /// unrevoked key.
    async fn revoke_api_key(
        &self,
        key_id: i64,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<crate::ApiKeyRecord>, StoreError>;

    /// Every key made in the console, revoked ones included, oldest first.
    async fn api_keys(&self) -> Result<Vec<crate::ApiKeyRecord>, StoreError>;
}
