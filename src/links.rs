//! Signed download links: a media's bytes over plain HTTP, so a browser's
//! `<img src>` works and a CDN can sit in front. A link names the media
//! and when it expires, signed with HMAC-SHA256 under `media.link_secret`:
//! whoever holds it may read that one file until then, and nothing else.
//! A tampered or expired link is 403. Responses support `Range` (one
//! range), carry an `ETag` (the file's SHA-256 when known) and a
//! `Cache-Control` that ends with the link, and stream one chunk at a
//! time.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::domain::media::Media;
use crate::domain::{AccountId, Error, TenantId};
use crate::service::Files;
use crate::service::media::Source;

type HmacSha256 = Hmac<Sha256>;

/// Links signs and checks download links.
#[derive(Clone)]
pub struct Links {
    secret: Zeroizing<Vec<u8>>,
    /// Where links point: the HTTP listener, or a CDN in front of it.
    base_url: String,
    ttl: Duration,
}

/// Linked is what a valid link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub tenant: TenantId,
    pub account: AccountId,
    pub media_id: String,
    pub expires: DateTime<Utc>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("base_url", &self.base_url)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Links {
    pub fn new(secret: &[u8], base_url: &str, ttl: Duration) -> Self {
        Self {
            secret: Zeroizing::new(secret.to_vec()),
            base_url: base_url.trim_end_matches('/').to_owned(),
            ttl,
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length")
    }

    /// url is a link to `media` that expires `ttl` from now.
    pub fn url(&self, media: &Media) -> String {
        let expires = Utc::now() + chrono::Duration::from_std(self.ttl).unwrap_or_default();
        format!("{}/media/{}", self.base_url, self.token(media, expires))
    }

    /// token is the signed part of a link: what it names, then the MAC of
    /// it. Tenant and media id are base64url so any byte of them is safe.
    fn token(&self, media: &Media, expires: DateTime<Utc>) -> String {
        let body = format!(
            "v1.{}.{}.{}.{}",
            B64URL.encode(media.tenant.as_str()),
            media.account,
            B64URL.encode(&media.id),
            expires.timestamp()
        );
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        format!("{body}.{}", B64URL.encode(mac.finalize().into_bytes()))
    }

    /// check reads a link's token; `None` when it is not one this key
    /// signed (tampered) or it expired.
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> Option<Linked> {
        let (body, signature) = token.rsplit_once('.')?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&B64URL.decode(signature).ok()?).ok()?;
        let mut parts = body.split('.');
        (parts.next()? == "v1").then_some(())?;
        let tenant = String::from_utf8(B64URL.decode(parts.next()?).ok()?).ok()?;
        let account = parts.next()?.parse().ok()?;
        let media_id = String::from_utf8(B64URL.decode(parts.next()?).ok()?).ok()?;
        let expires = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
        if parts.next().is_some() || expires <= now {
            return None;
        }
        Some(Linked {
            tenant: TenantId::parse(&tenant)?,
            account,
            media_id,
            expires,
        })
    }
}

#[derive(Clone)]
struct Served {
    links: Links,
    files: Files,
}

/// router serves `GET /media/{token}`.
pub fn router(links: Links, files: Files) -> axum::Router {
    axum::Router::new()
        .route("/media/{token}", get(serve))
        .with_state(Served { links, files })
}

/// byte_range reads a `Range: bytes=a-b` (or `a-`, or `-n`) header of a
/// file of `size`: `Ok(None)` for none (or one we do not serve: several
/// ranges), `Err` for one outside the file (416).
fn byte_range(headers: &HeaderMap, size: i64) -> Result<Option<(i64, i64)>, ()> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (first, last) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: i64 = suffix.parse().map_err(|_| ())?;
            (size.saturating_sub(n), size - 1)
        }
        (first, "") => (first.parse().map_err(|_| ())?, size - 1),
        (first, last) => (
            first.parse().map_err(|_| ())?,
            last.parse::<i64>().map_err(|_| ())?.min(size - 1),
        ),
    };
    if first < 0 || first > last || first >= size {
        return Err(());
    }
    Ok(Some((first, last)))
}

fn status(code: StatusCode, text: &'static str) -> Response {
    (code, [(header::CACHE_CONTROL, "no-store")], text).into_response()
}

async fn serve(
    State(served): State<Served>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = Utc::now();
    let Some(linked) = served.links.check(&token, now) else {
        return status(
            StatusCode::FORBIDDEN,
            "this link is not valid, or it expired",
        );
    };
    let source = Source::Media(linked.media_id.clone());
    let opened = match served
        .files
        .open(&linked.tenant, linked.account, source)
        .await
    {
        Ok(opened) => opened,
        Err(Error::NotFound { .. }) => return status(StatusCode::NOT_FOUND, "no such file"),
        Err(err) => {
            tracing::warn!(error = %err, "serving a media link failed");
            return status(StatusCode::SERVICE_UNAVAILABLE, "try again later");
        }
    };
    let media = &opened.media;
    let etag = format!(
        "\"{}\"",
        media
            .sha256
            .map(hex::encode)
            .unwrap_or_else(|| hex::encode(media.id.as_bytes()))
    );
    let left = (linked.expires - now).num_seconds().max(0);
    let mut response_headers = HeaderMap::new();
    let mut set = |name, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response_headers.insert(name, value);
        }
    };
    set(header::ETAG, etag.clone());
    // Cached no longer than the link is good for.
    set(header::CACHE_CONTROL, format!("public, max-age={left}"));
    set(header::ACCEPT_RANGES, "bytes".to_owned());
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned());
    set(
        header::CONTENT_TYPE,
        match media.mime_type.as_str() {
            "" => crate::domain::media::DEFAULT_MIME_TYPE.to_owned(),
            mime => mime.to_owned(),
        },
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    let size = media.size;
    let (code, first, last) = match byte_range(&headers, size) {
        Ok(Some((first, last))) => (StatusCode::PARTIAL_CONTENT, first, last),
        Ok(None) => (StatusCode::OK, 0, size - 1),
        Err(()) => {
            set(header::CONTENT_RANGE, format!("bytes */{size}"));
            return (StatusCode::RANGE_NOT_SATISFIABLE, response_headers).into_response();
        }
    };
    if code == StatusCode::PARTIAL_CONTENT {
        set(
            header::CONTENT_RANGE,
            format!("bytes {first}-{last}/{size}"),
        );
    }
    let length = (last + 1 - first).max(0);
    set(header::CONTENT_LENGTH, length.to_string());
    let chunks = Box::pin(served.files.read(opened, first));
    // Up to the range's end. A failure mid-way ends the body early: the
    // client sees fewer bytes than Content-Length said, and retries.
    let body = futures::stream::unfold((chunks, length), |(mut chunks, wanted)| async move {
        if wanted <= 0 {
            return None;
        }
        match chunks.next().await? {
            Ok(chunk) => {
                let take = wanted.min(chunk.data.len() as i64);
                let data = chunk.data.slice(..take as usize);
                (!data.is_empty()).then_some((Ok(data), (chunks, wanted - take)))
            }
            Err(err) => Some((Err(std::io::Error::other(err.to_string())), (chunks, 0))),
        }
    });
    (code, response_headers, Body::from_stream(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media() -> Media {
        Media {
            id: "01a2-media".into(),
            tenant: TenantId::parse("acme").unwrap(),
            account: AccountId::new(),
            kind: None,
            file_name: "a.png".into(),
            mime_type: "image/png".into(),
            size: 10,
            sha256: None,
            blob_prefix: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_link_names_its_media_until_it_expires_and_resists_tampering() {
        let links = Links::new(
            b"0123456789abcdef0123456789abcdef",
            "http://cdn/",
            Duration::from_secs(60),
        );
        let media = media();
        let url = links.url(&media);
        let token = url.strip_prefix("http://cdn/media/").unwrap();
        let linked = links.check(token, Utc::now()).unwrap();
        assert_eq!(
            (linked.tenant, linked.account, linked.media_id.as_str()),
            (media.tenant.clone(), media.account, "01a2-media")
        );
        assert!(
            links
                .check(token, Utc::now() + chrono::Duration::seconds(61))
                .is_none()
        );
        let other = Links::new(
            b"another key, just as long as it needs",
            "http://cdn",
            Duration::from_secs(60),
        );
        assert!(other.check(token, Utc::now()).is_none());
        // Any byte changed: refused.
        for at in [3, token.len() / 2, token.len() - 1] {
            let mut bent = token.as_bytes().to_vec();
            bent[at] = if bent[at] == b'A' { b'B' } else { b'A' };
            let bent = String::from_utf8(bent).unwrap();
            assert!(links.check(&bent, Utc::now()).is_none(), "{bent}");
        }
    }

    #[test]
    fn ranges_are_read_within_the_file() {
        let with = |range: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
            byte_range(&headers, 100)
        };
        assert_eq!(with("bytes=0-9"), Ok(Some((0, 9))));
        assert_eq!(with("bytes=90-"), Ok(Some((90, 99))));
        assert_eq!(with("bytes=-5"), Ok(Some((95, 99))));
        assert_eq!(with("bytes=90-200"), Ok(Some((90, 99))));
        assert_eq!(with("bytes=0-1,5-6"), Ok(None));
        assert_eq!(with("bytes=100-"), Err(()));
        assert_eq!(with("bytes=9-3"), Err(()));
        assert_eq!(byte_range(&HeaderMap::new(), 100), Ok(None));
    }
}
