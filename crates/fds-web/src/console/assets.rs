//! The console's static files, compiled into the binary from `web/static/`: no CDN,
//! nothing fetched at run time.

use super::pages;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fds_store::Language;

/// Every file served, by name, with its content type.
const FILES: &[(&str, &str, &[u8])] = &[
    ("console.css", "text/css; charset=utf-8", include_bytes!("../../../../web/static/console.css")),
    ("console.js", "text/javascript; charset=utf-8", include_bytes!("../../../../web/static/console.js")),
];

/// `GET /console/static/{file}`
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => {
            ([(CONTENT_TYPE, *content_type), (CACHE_CONTROL, "public, max-age=3600")], *bytes).into_response()
        }
        None => pages::error_page(Language::Ko, pages::Page::NotFound, StatusCode::NOT_FOUND),
    }
}
