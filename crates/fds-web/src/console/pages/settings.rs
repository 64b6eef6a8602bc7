//! The admin's settings page: the effective configuration of this process, read only,
//! as `fds serve` resolved it (defaults, the config file, `FDS__SECTION__KEY`), with
//! secrets hidden by the caller (API keys counted, never shown; store passwords
//! replaced; the vault's key ids only). Nothing is editable at run time: a change is
//! made in the configuration and takes effect at the next start.

use super::{render, Chrome};
use crate::console::session::Current;
use crate::console::ConsoleState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    settings: Vec<(String, String)>,
}

/// `GET /console/admin/settings`
pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(current): Extension<Current>,
) -> Response {
    let page = SettingsPage {
        chrome: Chrome::new(&current, "/console/admin/settings"),
        settings: state.config.settings.clone(),
    };
    render(&page, current.lang())
}
