//! The web dashboard at `/`: one HTML page, a script and a style sheet, embedded in the
//! binary (hand-written, no build step, nothing fetched from elsewhere). The page reads the
//! REST API (`/v1/chain`, `/v1/activity`, `/v1/assets`, `/v1/subnets`, each subnet's
//! metagraph and emission history) and follows `/v1/events`.

use axum::{
    Router,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};

/// The page.
pub const INDEX_HTML: &str = include_str!("index.html");
/// Its script.
pub const APP_JS: &str = include_str!("app.js");
/// Its style sheet.
pub const STYLE_CSS: &str = include_str!("style.css");

/// `/`, `/dashboard/app.js` and `/dashboard/style.css`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/dashboard/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/dashboard/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Small and served from memory: always current after an upgrade.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
