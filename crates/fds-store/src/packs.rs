//! Rule packs in the store: the values both backends trade in, and the checks and
//! audit records they share.
//!
//! A pack is versioned: version 1 is seeded from the shipped files, and every later
//! version is a published [`RuleChange`] — a draft of some files made against a
//! version by its author and published by someone else (four eyes; the store refuses
//! an author publishing their own change, a change that is not a draft, and a publish
//! whose caller checked another live version than the one in the store). A change
//! whose files were also changed by a version published after its base is refused
//! too (it would silently undo that version's edits). Every transition appends an
//! audit record with the unified diff in the same transaction.
//!
//! What a published pack *means* (that it compiles, that its fixtures pass) is checked
//! by the caller before it publishes; the store only keeps the history straight.

use crate::audit::AuditEntry;
use crate::StoreError;
use fds_core::{EntityKind, Timestamp};
use fds_rules::PackFiles;
use serde_json::{json, Value};

/// The audit actions of the rule lifecycle.
pub mod actions {
    pub const SEED: &str = "rules.seed";
    pub const DRAFT_CREATE: &str = "rules.draft.create";
    pub const DRAFT_UPDATE: &str = "rules.draft.update";
    pub const DRAFT_WITHDRAW: &str = "rules.draft.withdraw";
    pub const SHADOW_START: &str = "rules.shadow.start";
    pub const SHADOW_STOP: &str = "rules.shadow.stop";
    pub const PUBLISH: &str = "rules.publish";
    pub const SUPPRESS: &str = "rules.suppress";
    pub const UNSUPPRESS: &str = "rules.unsuppress";
}

/// One published version of the pack.
#[derive(Clone, Debug, PartialEq)]
pub struct PackVersion {
    pub version: u64,
    /// The compiled pack's content hash (`RulePack::version`).
    pub content_hash: String,
    /// The change it published; `None` for the seed.
    pub change_id: Option<i64>,
    pub published_by: String,
    pub published_at: Timestamp,
    pub note: String,
}

impl PackVersion {
    /// The version as decisions record it: `v<N>-<content hash>`.
    pub fn label(&self) -> String {
        format!("v{}-{}", self.version, self.content_hash)
    }
}

/// Where a change is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeState {
    /// Being written; can be edited by its author, put in shadow, published by another.
    Draft,
    Published,
    Withdrawn,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Draft => "draft",
            ChangeState::Published => "published",
            ChangeState::Withdrawn => "withdrawn",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<ChangeState, StoreError> {
        match text {
            "draft" => Ok(ChangeState::Draft),
            "published" => Ok(ChangeState::Published),
            "withdrawn" => Ok(ChangeState::Withdrawn),
            other => Err(StoreError::corrupt("rule_changes", format!("unknown state {other:?}"))),
        }
    }
}

/// One file a change writes (`body: Some`) or removes (`body: None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: String,
    pub body: Option<String>,
}

/// A draft of some pack files against a published version.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleChange {
    pub change_id: i64,
    pub title: String,
    pub author: String,
    /// The version the change was made against.
    pub base_version: u64,
    pub state: ChangeState,
    /// Evaluated on live traffic, never acted on (drafts only).
    pub shadow: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub published_version: Option<u64>,
    /// Who published or withdrew it, and when.
    pub closed_by: Option<String>,
    pub closed_at: Option<Timestamp>,
    /// The files it writes or removes, by path.
    pub files: Vec<ChangedFile>,
}

impl RuleChange {
    /// `base` with this change applied.
    pub fn apply_to(&self, base: &PackFiles) -> Result<PackFiles, String> {
        let mut out = base.clone();
        for file in &self.files {
            match &file.body {
                Some(body) => out.insert(file.path.clone(), body.clone())?,
                None => {
                    out.remove(&file.path);
                }
            }
        }
        Ok(out)
    }
}

/// The JSON key an entity of `kind` is kept under: one the PII sealing knows
/// (`pii.rs`), so the value is sealed wherever the JSON goes (row, audit log).
pub(crate) fn entity_key(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Card => "card_number",
        other => other.as_str(),
    }
}

/// The vault field of a PII kind; `None` for a merchant id, which is not PII.
pub(crate) fn field(kind: EntityKind) -> Option<fds_vault::Field> {
    use fds_vault::Field;
    match kind {
        EntityKind::Subscriber => Some(Field::Subscriber),
        EntityKind::Identity => Some(Field::Identity),
        EntityKind::Imei => Some(Field::Imei),
        EntityKind::Account => Some(Field::Account),
        EntityKind::Card => Some(Field::Card),
        EntityKind::Callee => Some(Field::Callee),
        EntityKind::Merchant => None,
    }
}

/// An analyst's silencing of one rule for one entity, until it expires or is lifted.
#[derive(Clone, Debug, PartialEq)]
pub struct Suppression {
    pub suppression_id: i64,
    pub rule_id: String,
    pub kind: EntityKind,
    /// The entity's value (a number, an IMEI, a merchant id), opened.
    pub value: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<Timestamp>,
}

impl Suppression {
    /// Whether it silences its rule at `at`.
    pub fn is_active(&self, at: Timestamp) -> bool {
        self.lifted_at.is_none() && self.created_at <= at && at < self.expires_at
    }

    fn state(&self) -> Value {
        json!({
            "rule_id": self.rule_id,
            "entity_kind": self.kind.as_str(),
            // Under the kind's own key, so the audit log seals it like any PII.
            entity_key(self.kind): self.value,
            "reason": self.reason,
            "expires_at": self.expires_at.to_rfc3339(),
        })
    }

    pub(crate) fn added_entry(&self) -> AuditEntry {
        AuditEntry {
            actor: self.created_by.clone(),
            action: actions::SUPPRESS.into(),
            target: format!("suppression:{}", self.suppression_id),
            before: None,
            after: Some(self.state()),
            at: self.created_at,
        }
    }

    pub(crate) fn lifted_entry(&self, actor: &str, reason: &str, at: Timestamp) -> AuditEntry {
        AuditEntry {
            actor: actor.into(),
            action: actions::UNSUPPRESS.into(),
            target: format!("suppression:{}", self.suppression_id),
            before: Some(self.state()),
            after: Some(json!({ "lifted": true, "reason": reason })),
            at,
        }
    }
}

/// A new suppression, as the caller asks for it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSuppression {
    pub rule_id: String,
    pub kind: EntityKind,
    pub value: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl NewSuppression {
    pub(crate) fn problems(&self) -> Result<(), StoreError> {
        let mut problems = Vec::new();
        if self.rule_id.trim().is_empty() {
            problems.push("a suppression names a rule");
        }
        if self.value.trim().is_empty() {
            problems.push("a suppression names the entity it silences the rule for");
        }
        if self.reason.trim().is_empty() {
            problems.push("a suppression needs a reason");
        }
        if self.expires_at <= self.created_at {
            problems.push("a suppression must expire after it starts");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Refused(problems.join("; ")))
        }
    }
}

/// What a change in shadow did on live traffic in one hour (see the migration).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShadowTally {
    pub change_id: i64,
    /// The rule, or `""` for the row counting evaluated events and changed decisions.
    pub rule_id: String,
    /// Hours since the Unix epoch (0 in per-rule sums over all hours).
    pub hour: i64,
    pub evaluated: u64,
    pub hits: u64,
    pub overlap: u64,
    pub changed: u64,
}

/// The diff of `files` against `base` as audit JSON: one unified diff per file.
pub(crate) fn diff_json(base: &PackFiles, files: &[ChangedFile]) -> Value {
    let mut after = base.clone();
    for file in files {
        match &file.body {
            Some(body) => {
                // Paths were checked when the change was made; a bad one is left out
                // of the diff rather than failing the audit.
                let _ = after.insert(file.path.clone(), body.clone());
            }
            None => {
                after.remove(&file.path);
            }
        }
    }
    let diffs: Vec<Value> =
        base.changes_to(&after).iter().map(|c| json!({ "path": c.path, "diff": c.unified_diff() })).collect();
    Value::Array(diffs)
}

/// Checks the files of a new or edited draft: paths that are pack files, no duplicates.
pub(crate) fn check_files(files: &[ChangedFile]) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for file in files {
        if let Err(p) = PackFiles::kind(&file.path) {
            problems.push(p);
        }
        if !seen.insert(&file.path) {
            problems.push(format!("{:?} appears twice", file.path));
        }
    }
    if files.is_empty() {
        problems.push("a change writes or removes at least one file".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Refused(problems.join("; ")))
    }
}

/// The four-eyes and state checks of a publish, shared by both backends.
pub(crate) fn check_publish(
    change: &RuleChange,
    publisher: &str,
    head: u64,
    expected_head: u64,
    touched_since_base: &[String],
) -> Result<(), StoreError> {
    if change.state != ChangeState::Draft {
        return Err(StoreError::Refused(format!(
            "change {} is {}, only a draft can be published",
            change.change_id,
            change.state.as_str()
        )));
    }
    if change.author == publisher {
        return Err(StoreError::Refused(format!(
            "change {} was written by {publisher}: another person must publish it (four eyes)",
            change.change_id
        )));
    }
    if head != expected_head {
        return Err(StoreError::Refused(format!(
            "the live pack is v{head}, not v{expected_head} as checked: check the change again"
        )));
    }
    if !touched_since_base.is_empty() {
        return Err(StoreError::Refused(format!(
            "change {} was made against v{} and {} changed since in a later version: make a new draft from v{head}",
            change.change_id,
            change.base_version,
            touched_since_base.join(", ")
        )));
    }
    Ok(())
}

pub(crate) fn change_state_json(change: &RuleChange) -> Value {
    json!({
        "change_id": change.change_id,
        "title": change.title,
        "author": change.author,
        "base_version": change.base_version,
        "state": change.state.as_str(),
        "shadow": change.shadow,
    })
}

/// A `rule_changes` row: id, title, author, base version, state, shadow, created,
/// updated, published version, closed by, closed at (timestamps in the backend's form).
pub(crate) type ChangeRow<T> =
    (i64, String, String, i64, String, bool, T, T, Option<i64>, Option<String>, Option<T>);

/// The columns of a [`ChangeRow`], in order.
pub(crate) const CHANGE_COLUMNS: &str = "change_id, title, author, base_version, state, shadow, created_at, \
     updated_at, published_version, closed_by, closed_at";

pub(crate) fn change_from_row<T>(
    row: ChangeRow<T>,
    files: Vec<ChangedFile>,
    time: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<RuleChange, StoreError> {
    let (change_id, title, author, base, state, shadow, created, updated, published, closed_by, closed_at) =
        row;
    Ok(RuleChange {
        change_id,
        title,
        author,
        base_version: version_from(base)?,
        state: ChangeState::parse(&state)?,
        shadow,
        created_at: time(created)?,
        updated_at: time(updated)?,
        published_version: published.map(version_from).transpose()?,
        closed_by,
        closed_at: closed_at.map(time).transpose()?,
        files,
    })
}

/// A `rule_pack_versions` row: version, content hash, change, by, at, note.
pub(crate) type VersionRow<T> = (i64, String, Option<i64>, String, T, String);

pub(crate) const VERSION_COLUMNS: &str = "version, content_hash, change_id, published_by, published_at, note";

pub(crate) fn version_from_row<T>(
    row: VersionRow<T>,
    time: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<PackVersion, StoreError> {
    let (version, content_hash, change_id, published_by, published_at, note) = row;
    Ok(PackVersion {
        version: version_from(version)?,
        content_hash,
        change_id,
        published_by,
        published_at: time(published_at)?,
        note,
    })
}

/// A `rule_suppressions` row: id, rule, kind, sealed entity JSON, reason, by, at,
/// expires, lifted by, lifted at.
pub(crate) type SuppressionRow<T> =
    (i64, String, String, String, String, String, T, T, Option<String>, Option<T>);

pub(crate) const SUPPRESSION_COLUMNS: &str =
    "suppression_id, rule_id, entity_kind, entity, reason, created_by, \
     created_at, expires_at, lifted_by, lifted_at";

pub(crate) fn suppression_from_row<T>(
    vault: &fds_vault::Vault,
    row: SuppressionRow<T>,
    time: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<Suppression, StoreError> {
    const TABLE: &str = "rule_suppressions";
    let (
        suppression_id,
        rule_id,
        kind,
        entity,
        reason,
        created_by,
        created_at,
        expires_at,
        lifted_by,
        lifted_at,
    ) = row;
    let kind = EntityKind::parse(&kind)
        .ok_or_else(|| StoreError::corrupt(TABLE, format!("unknown kind {kind:?}")))?;
    let mut entity: Value =
        serde_json::from_str(&entity).map_err(|e| StoreError::corrupt(TABLE, e.to_string()))?;
    crate::pii::open_json(vault, TABLE, &mut entity)?;
    let value = entity
        .get(entity_key(kind))
        .and_then(Value::as_str)
        .ok_or_else(|| StoreError::corrupt(TABLE, "the entity lacks its value"))?
        .to_string();
    Ok(Suppression {
        suppression_id,
        rule_id,
        kind,
        value,
        reason,
        created_by,
        created_at: time(created_at)?,
        expires_at: time(expires_at)?,
        lifted_by,
        lifted_at: lifted_at.map(time).transpose()?,
    })
}

/// The stored forms of a new suppression's entity: its lookup index and its JSON
/// with the value sealed (a merchant id is not PII and stays as it is).
pub(crate) fn seal_entity(vault: &fds_vault::Vault, kind: EntityKind, value: &str) -> (String, String) {
    let index = match field(kind) {
        Some(field) => vault.blind_index(field, value),
        None => value.to_string(),
    };
    let mut entity = json!({ entity_key(kind): value });
    crate::pii::seal_json(vault, &mut entity);
    (index, entity.to_string())
}

pub(crate) fn version_from(stored: i64) -> Result<u64, StoreError> {
    u64::try_from(stored).map_err(|_| StoreError::corrupt("rule_pack_versions", "negative version"))
}

pub(crate) fn version_to(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// The audit record of a new draft or an edit of one.
pub(crate) fn draft_entry(
    change: &RuleChange,
    action: &str,
    base: &PackFiles,
    files: &[ChangedFile],
) -> AuditEntry {
    let mut after = change_state_json(change);
    after["diff"] = diff_json(base, files);
    AuditEntry {
        actor: change.author.clone(),
        action: action.into(),
        target: format!("rule_change:{}", change.change_id),
        before: None,
        after: Some(after),
        at: change.updated_at,
    }
}

/// The audit record of a state switch (`before` → `after`) by `actor`.
pub(crate) fn transition_entry(
    before: &RuleChange,
    after: &RuleChange,
    action: &str,
    actor: &str,
    at: Timestamp,
    extra: Option<Value>,
) -> AuditEntry {
    let mut state = change_state_json(after);
    if let Some(extra) = extra {
        state["published"] = extra;
    }
    AuditEntry {
        actor: actor.into(),
        action: action.into(),
        target: format!("rule_change:{}", after.change_id),
        before: Some(change_state_json(before)),
        after: Some(state),
        at,
    }
}

/// Only a draft's author edits or withdraws it (a second editor would make a
/// four-eyes publish meaningless).
pub(crate) fn check_edit(change: &RuleChange, actor: &str) -> Result<(), StoreError> {
    if change.state != ChangeState::Draft {
        return Err(StoreError::Refused(format!(
            "change {} is {}, only a draft can change",
            change.change_id,
            change.state.as_str()
        )));
    }
    if change.author != actor {
        return Err(StoreError::Refused(format!(
            "change {} belongs to {}: only its author changes or withdraws it",
            change.change_id, change.author
        )));
    }
    Ok(())
}

/// Only a draft runs in shadow.
pub(crate) fn check_shadow(change: &RuleChange) -> Result<(), StoreError> {
    if change.state != ChangeState::Draft {
        return Err(StoreError::Refused(format!(
            "change {} is {}, only a draft runs in shadow",
            change.change_id,
            change.state.as_str()
        )));
    }
    Ok(())
}

/// The paths of `change` among `touched` (paths published after its base).
pub(crate) fn touched_by(change: &RuleChange, touched: &[String]) -> Vec<String> {
    change.files.iter().filter(|f| touched.contains(&f.path)).map(|f| f.path.clone()).collect()
}

pub(crate) fn count_to(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A per-rule sum of a change's shadow tallies: (rule, evaluated, hits, overlap, changed).
pub(crate) fn tally_from(change_id: i64, row: (String, i64, i64, i64, i64)) -> ShadowTally {
    let (rule_id, evaluated, hits, overlap, changed) = row;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    ShadowTally {
        change_id,
        rule_id,
        hour: 0,
        evaluated: count(evaluated),
        hits: count(hits),
        overlap: count(overlap),
        changed: count(changed),
    }
}
