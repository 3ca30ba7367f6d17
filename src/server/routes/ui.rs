//! The data browser at `/ui`: a page of plain HTML, CSS and JavaScript, embedded in the
//! binary, that talks only to the JSON API (`/v1`, and the Cloudflare value routes for
//! raw bytes) with the credentials the user gives it.
//!
//! The files hold no data, so they are public (`front::is_public`); every request the
//! page makes for data is authenticated like any other. Each file is served with a strict
//! Content-Security-Policy (scripts, styles and connections to this origin only; no
//! inline script or style, no framing, no form posts), `nosniff` and no referrer, and
//! is revalidated on every load (`no-cache` with an `ETag` of its content, answered 304
//! when unchanged), so an upgraded server never runs a stale script.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};

use crate::server::error::{ApiError, Code};

/// What every file of the page is served with.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// FNV-1a of the body, computed at compile time: the `ETag`.
    hash: u64,
}

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../ui/", $name)),
            hash: fnv1a(include_bytes!(concat!("../ui/", $name))),
        }
    };
}

/// The page's files; `/ui` is `index.html`.
const ASSETS: [Asset; 4] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The data browser's page. Public: it holds no data and asks for credentials itself.
#[utoipa::path(
    get,
    path = "/ui",
    tag = "public",
    security(()),
    responses(
        (status = 200, description = "The data browser's HTML page", content_type = "text/html"),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`"),
    )
)]
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve(&ASSETS[0], &headers)
}

/// `/ui/` answers with a redirect to `/ui`, where the page's links are right.
#[utoipa::path(
    get,
    path = "/ui/",
    tag = "public",
    security(()),
    responses((status = 308, description = "Redirect to `/ui`"))
)]
pub(crate) async fn index_slash() -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, HeaderValue::from_static("/ui"))],
    )
        .into_response()
}

/// A file of the data browser: `index.html`, `app.js`, `style.css`, `favicon.svg`.
#[utoipa::path(
    get,
    path = "/ui/{file}",
    tag = "public",
    security(()),
    params(("file" = String, Path, description = "The file's name")),
    responses(
        (status = 200, description = "The file, with its content type"),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`"),
        (status = 404, description = "No such file (`not_found`)"),
    )
)]
pub(crate) async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => serve(asset, &headers),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            Code::RouteNotFound,
            format!("no file {name:?} in the data browser"),
        )
        .into_response(),
    }
}

fn serve(asset: &Asset, request: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.hash);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag.as_str())
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = (StatusCode::OK, asset.body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_hash() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.body.is_empty(), "{}", a.name);
            for b in &ASSETS[i + 1..] {
                assert_ne!(a.hash, b.hash, "{} and {}", a.name, b.name);
            }
        }
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
