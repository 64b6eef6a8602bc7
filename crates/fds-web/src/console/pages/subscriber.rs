//! A subscriber's page. The search sends the number in a POST body, never in a URL;
//! the store looks it up through the blind index and the search answers with a
//! redirect to the page of an opaque reference (the number sealed by the vault, a
//! new one each time), so the number is in no URL, link or form. The page shows the
//! blocks in force and one timeline, newest first, of the subscriber's decisions
//! (linked to their cases), blocks placed and released, labels and analysts' notes;
//! an analyst adds a note there (sealed at rest, audited). The number is masked.

use super::{action_label, mask, render, when, Chrome};
use crate::console::i18n::{tr, Tr};
use crate::console::permission::Permission;
use crate::console::session::{redirect, Current};
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};
use fds_core::Timestamp;
use fds_store::{BlockStatus, StoreError};
use serde::Deserialize;

/// Decisions read for the timeline.
const DECISIONS: u32 = 200;
/// Blocks, labels and notes read for the timeline, each.
const OTHERS: u32 = 100;

/// What a line of the timeline is. The order is the one at a single instant: a
/// decision, then the block it placed, its label, its release, a note.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Decision,
    Block,
    Label,
    Release,
    Note,
}

impl Kind {
    /// The row's class.
    fn as_str(self) -> &'static str {
        match self {
            Kind::Decision => "decision",
            Kind::Block => "block",
            Kind::Label => "label",
            Kind::Release => "release",
            Kind::Note => "note",
        }
    }

    fn label(self, t: &Tr) -> &'static str {
        match self {
            Kind::Decision => t.timeline_decision,
            Kind::Block => t.timeline_block,
            Kind::Label => t.labelled,
            Kind::Release => t.timeline_release,
            Kind::Note => t.note,
        }
    }
}

/// One line of the timeline.
pub(crate) struct Entry {
    at: Timestamp,
    kind: Kind,
    when: String,
    kind_label: &'static str,
    /// An action to show coloured before the detail (`allow`, `review`, `block`), or "".
    action: &'static str,
    action_label: &'static str,
    detail: String,
    by: String,
    /// The event whose case the line links to.
    case: Option<String>,
}

impl Entry {
    fn new(t: &Tr, at: Timestamp, kind: Kind, detail: String, by: String, case: Option<String>) -> Entry {
        Entry {
            at,
            kind,
            when: when(at),
            kind_label: kind.label(t),
            action: "",
            action_label: "",
            detail,
            by,
            case,
        }
    }
}

pub(crate) struct BlockRow {
    scope: &'static str,
    since: String,
    until: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "subscriber.html")]
struct SubscriberPage {
    chrome: Chrome,
    /// The subscriber, masked; `None` before a search.
    subscriber: Option<String>,
    /// The page's reference, for the note form.
    reference: String,
    blocks: Vec<BlockRow>,
    timeline: Vec<Entry>,
    can_note: bool,
}

/// `GET /console/subscribers`: the search form.
pub(crate) async fn form(Extension(current): Extension<Current>) -> Response {
    let page = SubscriberPage {
        chrome: Chrome::new(&current, "/console/subscribers"),
        subscriber: None,
        reference: String::new(),
        blocks: Vec::new(),
        timeline: Vec::new(),
        can_note: false,
    };
    render(&page, current.lang())
}

#[derive(Deserialize)]
pub(crate) struct SearchForm {
    number: String,
}

/// The number as the store indexes it: digits (a leading `+` kept), 8 to 15 of them.
fn normalise(number: &str) -> Option<String> {
    let kept: String = number.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = kept.strip_prefix('+').unwrap_or(&kept);
    ((8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())).then_some(kept)
}

/// The path of the page of a subscriber reference.
pub(crate) fn page_path(reference: &str) -> String {
    format!("/console/subscribers/{reference}")
}

/// `POST /console/subscribers`: to the page of the number searched for.
pub(crate) async fn search(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Form(form): Form<SearchForm>,
) -> Response {
    let Some(number) = normalise(&form.number) else {
        return super::bad_request(current.lang(), "a subscriber number is 8 to 15 digits");
    };
    redirect(&page_path(&state.store().subscriber_ref(&number)))
}

/// The number behind `reference`; `None` when it is not one (a 404).
fn subscriber_of(state: &ConsoleState, reference: &str) -> Option<String> {
    state.store().subscriber_of_ref(reference).ok()
}

fn not_found(current: &Current) -> Response {
    super::error_page(current.lang(), super::Page::NotFound, StatusCode::NOT_FOUND)
}

/// `GET /console/subscribers/{reference}`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(reference): Path<String>,
) -> Response {
    let lang = current.lang();
    let Some(number) = subscriber_of(&state, &reference) else {
        return not_found(&current);
    };
    match subscriber_page(&state, &current, &number, reference).await {
        Ok(page) => render(&page, lang),
        Err(e) => super::internal(lang, e),
    }
}

async fn subscriber_page(
    state: &ConsoleState,
    current: &Current,
    number: &str,
    reference: String,
) -> Result<SubscriberPage, StoreError> {
    let store = state.store();
    let t = tr(current.lang());
    let now = state.now();
    let decisions = store.decisions_for_subscriber(number, DECISIONS).await?;
    let blocks = store.blocks_for_subscriber(number, OTHERS).await?;
    let labels = store.labels_for_subscriber(number, OTHERS).await?;
    let notes = store.subscriber_notes(number, OTHERS).await?;

    let mut timeline = Vec::new();
    for d in &decisions {
        let detail = format!("{} · {} {:.1}", d.event_type.as_str(), t.score, d.score);
        timeline.push(Entry {
            action: d.action.as_str(),
            action_label: action_label(t, d.action),
            ..Entry::new(t, d.occurred_at, Kind::Decision, detail, String::new(), Some(d.event_id.clone()))
        });
    }
    for b in &blocks {
        let block = &b.block;
        let detail = format!(
            "{} {} · {} {} · {}",
            t.scope,
            block.scope.as_str(),
            t.until,
            when(block.until),
            block.reason
        );
        timeline.push(Entry::new(t, block.since, Kind::Block, detail, String::new(), None));
        if let Some(released_at) = b.released_at {
            let (why, by) = (b.release_reason.clone(), b.released_by.clone());
            timeline.push(Entry::new(
                t,
                released_at,
                Kind::Release,
                why.unwrap_or_default(),
                by.unwrap_or_default(),
                None,
            ));
        }
    }
    for l in labels {
        let outcome = super::outcome_label(t, l.outcome);
        let detail = match l.note {
            Some(note) if !note.is_empty() => format!("{outcome} · {note}"),
            _ => outcome.to_string(),
        };
        timeline.push(Entry::new(t, l.labelled_at, Kind::Label, detail, l.labelled_by, l.event_id));
    }
    for n in notes {
        timeline.push(Entry::new(t, n.written_at, Kind::Note, n.text, n.written_by, None));
    }
    // Newest first; at one instant, what happened before what it caused.
    timeline.sort_by(|a, b| b.at.cmp(&a.at).then(b.kind.cmp(&a.kind)));

    Ok(SubscriberPage {
        chrome: Chrome::new(current, page_path(&reference)),
        subscriber: Some(mask(number)),
        reference,
        blocks: blocks
            .iter()
            .filter(|b| b.status_at(now) == BlockStatus::Active && b.block.since <= now)
            .map(|b| BlockRow {
                scope: b.block.scope.as_str(),
                since: when(b.block.since),
                until: when(b.block.until),
                reason: b.block.reason.clone(),
            })
            .collect(),
        timeline,
        can_note: current.can(Permission::ActOnCases),
    })
}

#[derive(Deserialize)]
pub(crate) struct NoteForm {
    text: String,
}

/// `POST /console/subscribers/{reference}/notes`
pub(crate) async fn add_note(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Path(reference): Path<String>,
    Form(form): Form<NoteForm>,
) -> Response {
    let lang = current.lang();
    let Some(number) = subscriber_of(&state, &reference) else {
        return not_found(&current);
    };
    match state.store().add_subscriber_note(&number, &form.text, &current.user.login, state.now()).await {
        Ok(_) => redirect(&page_path(&reference)),
        Err(StoreError::Refused(why)) => super::bad_request(lang, &why),
        Err(e) => super::internal(lang, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_like_the_blind_index_and_junk_is_refused() {
        assert_eq!(normalise(" 010-1234 5678 ").as_deref(), Some("01012345678"));
        assert_eq!(normalise("+82 (10) 1234.5678").as_deref(), Some("+821012345678"));
        assert_eq!(normalise("0101234"), None);
        assert_eq!(normalise("010-abcd-5678"), None);
    }
}
