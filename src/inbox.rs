//! The inbox page: a live inbox for agents (account picker, chats with
//! unread counts, messages arriving as they happen, a send box), built on
//! the TypeScript SDK in `sdk/typescript/inbox/` and embedded here as its
//! committed build (`scripts/inbox-drift.sh` keeps it in step with its
//! source). Served on `inbox_listen`, its own address; the page calls the
//! gateway over grpc-web with the token it is given.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX_HTML: &[u8] = include_bytes!("../sdk/typescript/inbox/dist/index.html");
const INBOX_JS: &[u8] = include_bytes!("../sdk/typescript/inbox/dist/inbox.js");

fn file(content_type: &'static str, body: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // The page changes with the binary; a browser asks again.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
}

/// router serves the page and its script.
pub fn router() -> axum::Router {
    axum::Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/inbox.js",
            get(|| async { file("text/javascript; charset=utf-8", INBOX_JS) }),
        )
}
