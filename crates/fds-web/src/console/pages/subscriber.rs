//! A subscriber's page: search by number (sent in a POST body, never in a URL, and
//! looked up through the blind index), then the subscriber's decisions newest first
//! with links to their cases, and the blocks in force. The number is shown masked.

use super::{action_label, mask, render, when, Chrome};
use crate::console::i18n::tr;
use crate::console::session::Current;
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;

/// Decisions listed.
const TIMELINE: u32 = 200;

pub(crate) struct DecisionRow {
    event_id: String,
    occurred_at: String,
    event_type: &'static str,
    action: &'static str,
    action_label: &'static str,
    score: String,
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
    /// The subscriber searched for, masked; `None` before a search.
    subscriber: Option<String>,
    decisions: Vec<DecisionRow>,
    blocks: Vec<BlockRow>,
}

/// `GET /console/subscribers`: the search form.
pub(crate) async fn form(Extension(current): Extension<Current>) -> Response {
    let page = SubscriberPage {
        chrome: Chrome::new(&current, "/console/subscribers"),
        subscriber: None,
        decisions: Vec::new(),
        blocks: Vec::new(),
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

/// `POST /console/subscribers`
pub(crate) async fn search(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
    Form(form): Form<SearchForm>,
) -> Response {
    let lang = current.lang();
    let Some(number) = normalise(&form.number) else {
        return super::bad_request(lang, "a subscriber number is 8 to 15 digits");
    };
    let store = state.store();
    let decisions = match store.decisions_for_subscriber(&number, TIMELINE).await {
        Ok(d) => d,
        Err(e) => return super::internal(lang, e),
    };
    let blocks = match store.active_blocks_for_subscriber(&number, state.now()).await {
        Ok(b) => b,
        Err(e) => return super::internal(lang, e),
    };
    let t = tr(lang);
    let page = SubscriberPage {
        chrome: Chrome::new(&current, "/console/subscribers"),
        subscriber: Some(mask(&number)),
        decisions: decisions
            .iter()
            .map(|d| DecisionRow {
                event_id: d.event_id.clone(),
                occurred_at: when(d.occurred_at),
                event_type: d.event_type.as_str(),
                action: d.action.as_str(),
                action_label: action_label(t, d.action),
                score: format!("{:.1}", d.score),
            })
            .collect(),
        blocks: blocks
            .iter()
            .map(|b| BlockRow {
                scope: b.scope.as_str(),
                since: when(b.since),
                until: when(b.until),
                reason: b.reason.clone(),
            })
            .collect(),
    };
    render(&page, lang)
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
