//! The console's pages: one module per page with its template struct (the
//! templates are in `web/templates/`), and what they share — the page chrome
//! (navigation, language switch, logout forms), the error pages, PII masking and
//! time formatting.

pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod blocks;
pub(crate) mod cases;
pub(crate) mod dashboard;
pub(crate) mod drafts;
pub(crate) mod models;
pub(crate) mod rules;
pub(crate) mod settings;
pub(crate) mod subscriber;
pub(crate) mod suppressions;
pub(crate) mod users;

use super::i18n::{tr, Tr};
use super::permission::Permission;
use super::routes::Guarded;
use super::session::Current;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use fds_core::Timestamp;
use fds_store::Language;

/// What every logged-in page shows around its content.
pub(crate) struct Chrome {
    pub(crate) tr: &'static Tr,
    pub(crate) user: String,
    pub(crate) csrf: String,
    /// The path of this page, where the language switch comes back to.
    pub(crate) here: String,
    pub(crate) nav_cases: bool,
    pub(crate) nav_blocks: bool,
    pub(crate) nav_audit: bool,
    pub(crate) nav_users: bool,
    pub(crate) nav_rules: bool,
    pub(crate) nav_admin: bool,
    /// Seconds after which the page reloads itself (0: never).
    pub(crate) refresh: u32,
}

impl Chrome {
    pub(crate) fn new(current: &Current, here: impl Into<String>) -> Chrome {
        Chrome {
            tr: tr(current.lang()),
            user: current.user.display_name.clone(),
            csrf: current.session.csrf_token.expose().to_string(),
            here: here.into(),
            nav_cases: current.can(Permission::ViewCases),
            nav_blocks: current.can(Permission::ViewBlocks),
            nav_audit: current.can(Permission::ViewAudit),
            nav_users: current.can(Permission::ManageUsers),
            nav_rules: current.can(Permission::ViewRules),
            nav_admin: current.can(Permission::ManageApiKeys),
            refresh: 0,
        }
    }
}

/// Renders `template` as an HTML page.
pub(crate) fn render(template: &impl Template, lang: Language) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => internal(lang, e),
    }
}

/// The kinds of error page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Page {
    Denied,
    NotFound,
    BadRequest,
    Error,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    tr: &'static Tr,
    title: &'a str,
    text: &'a str,
}

/// An error page in `lang` with `status`.
pub(crate) fn error_page(lang: Language, page: Page, status: StatusCode) -> Response {
    error_page_with(lang, page, status, None)
}

/// An error page with a specific message (bad input).
pub(crate) fn error_page_with(
    lang: Language,
    page: Page,
    status: StatusCode,
    detail: Option<&str>,
) -> Response {
    let t = tr(lang);
    let (title, text) = match page {
        Page::Denied => (t.denied_title, t.denied_text),
        Page::NotFound => (t.not_found_title, t.not_found_title),
        Page::BadRequest => (t.bad_request_title, t.bad_request_title),
        Page::Error => (t.error_title, t.error_text),
    };
    let body = ErrorPage { tr: t, title, text: detail.unwrap_or(text) }
        .render()
        .unwrap_or_else(|_| text.to_string());
    (status, Html(body)).into_response()
}

/// A 500 page; the cause is logged here, once, and never shown.
pub(crate) fn internal(lang: Language, cause: impl std::fmt::Display) -> Response {
    tracing::error!(error = %cause, "console request failed");
    error_page(lang, Page::Error, StatusCode::INTERNAL_SERVER_ERROR)
}

/// A 400 page saying what was wrong with the input.
pub(crate) fn bad_request(lang: Language, detail: &str) -> Response {
    error_page_with(lang, Page::BadRequest, StatusCode::BAD_REQUEST, Some(detail))
}

/// The console's not-found page (for paths no route matches).
pub(crate) async fn not_found() -> Response {
    let mut response = error_page(Language::Ko, Page::NotFound, StatusCode::NOT_FOUND);
    response.extensions_mut().insert(Guarded);
    response
}

/// `/console`: the dashboard.
pub(crate) async fn home() -> Response {
    super::session::redirect("/console/dashboard")
}

/// A subscriber number masked for display: the first three and last four digits
/// of a number of eight digits or more (`010-****-5678`), only the last two of a
/// shorter one.
pub(crate) fn mask(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if digits.len() >= 8 {
        let head: String = digits[..3].iter().collect();
        let tail: String = digits[digits.len() - 4..].iter().collect();
        format!("{head}-****-{tail}")
    } else {
        let tail: String = digits.iter().rev().take(2).rev().collect();
        format!("****{tail}")
    }
}

/// The label of a decision's action in the reader's language.
pub(crate) fn action_label(tr: &Tr, action: fds_core::Action) -> &'static str {
    match action {
        fds_core::Action::Allow => tr.allow,
        fds_core::Action::Review => tr.review,
        fds_core::Action::Block => tr.block,
    }
}

/// The label of a confirmed outcome in the reader's language: the case action
/// that records it.
pub(crate) fn outcome_label(tr: &Tr, outcome: fds_core::Outcome) -> &'static str {
    match outcome {
        fds_core::Outcome::Fraud => tr.confirm_fraud,
        fds_core::Outcome::Legit => tr.false_positive,
    }
}

/// A timestamp as the console shows it: UTC to the second.
pub(crate) fn when(at: Timestamp) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_numbers_are_masked_to_the_prefix_and_last_four_digits() {
        assert_eq!(mask("01012345678"), "010-****-5678");
        assert_eq!(mask("010-1234-5678"), "010-****-5678");
        assert_eq!(mask("+821012345678"), "821-****-5678");
        assert_eq!(mask("1234"), "****34");
    }
}
