//! The rules page: the live pack with each rule's family, action, score and hits
//! over the last 24 hours and 7 days, its lists, the drafts waiting (with their
//! shadow state) and the published versions, with links to the draft editor
//! (`drafts.rs`), each draft, each version's diffs and the suppressions.

use super::{render, when, Chrome};
use crate::console::permission::Permission;
use crate::console::session::Current;
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use fds_store::ChangeState;

/// Published versions listed.
const VERSIONS: u32 = 20;

pub(crate) struct RuleRow {
    id: String,
    name: String,
    family: &'static str,
    action: &'static str,
    score: String,
    events: String,
    hits_day: u64,
    hits_week: u64,
    /// The rule's file in the live pack, to start a draft from.
    path: String,
}

pub(crate) struct DraftRow {
    change_id: i64,
    title: String,
    author: String,
    base_version: u64,
    shadow: bool,
    updated_at: String,
    files: usize,
}

pub(crate) struct VersionRow {
    version: u64,
    published_by: String,
    published_at: String,
    note: String,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    chrome: Chrome,
    live_version: String,
    rules: Vec<RuleRow>,
    drafts: Vec<DraftRow>,
    versions: Vec<VersionRow>,
    /// The live pack's list files.
    lists: Vec<String>,
    can_edit: bool,
}

/// `GET /console/rules`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    let lang = current.lang();
    let store = state.store();
    let now = state.now();
    let (day, week) = match (
        store.rule_hits(now - chrono::Duration::hours(24), now).await,
        store.rule_hits(now - chrono::Duration::days(7), now).await,
    ) {
        (Ok(day), Ok(week)) => (day, week),
        (Err(e), _) | (_, Err(e)) => return super::internal(lang, e),
    };
    let drafts = match store.rule_changes(Some(ChangeState::Draft)).await {
        Ok(d) => d,
        Err(e) => return super::internal(lang, e),
    };
    let versions = match store.rule_pack_versions(VERSIONS).await {
        Ok(v) => v,
        Err(e) => return super::internal(lang, e),
    };
    let head = versions.first().map_or(0, |v| v.version);
    let live_files = match store.rule_pack_files(head).await {
        Ok(files) => files,
        Err(e) => return super::internal(lang, e),
    };
    let lists = live_files
        .iter()
        .filter(|(path, _)| fds_rules::PackFiles::kind(path) == Ok(fds_rules::FileKind::List))
        .map(|(path, _)| path.to_string())
        .collect();
    let scorer = state.pipeline.scorer();
    let pack = scorer.rules();
    let mut rules: Vec<RuleRow> = pack
        .rules()
        .iter()
        .map(|r| RuleRow {
            id: r.id.clone(),
            name: r.name.clone(),
            family: r.family.as_str(),
            action: r.action.as_str(),
            score: format!("{:.0}", r.score),
            events: r.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
            hits_day: day.get(&r.id).map_or(0, |t| t.total()),
            hits_week: week.get(&r.id).map_or(0, |t| t.total()),
            path: live_files.rule_path(&r.id).unwrap_or_default().to_string(),
        })
        .collect();
    rules.sort_by(|a, b| a.family.cmp(b.family).then(b.hits_week.cmp(&a.hits_week)).then(a.id.cmp(&b.id)));
    let page = RulesPage {
        chrome: Chrome::new(&current, "/console/rules"),
        live_version: pack.version().to_string(),
        rules,
        lists,
        can_edit: current.can(Permission::EditRules),
        drafts: drafts
            .into_iter()
            .map(|c| DraftRow {
                change_id: c.change_id,
                files: c.files.len(),
                title: c.title,
                author: c.author,
                base_version: c.base_version,
                shadow: c.shadow,
                updated_at: when(c.updated_at),
            })
            .collect(),
        versions: versions
            .into_iter()
            .map(|v| VersionRow {
                version: v.version,
                published_by: v.published_by,
                published_at: when(v.published_at),
                note: v.note,
            })
            .collect(),
    };
    render(&page, lang)
}
