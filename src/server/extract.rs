//! Extractors that reject with the API's own errors: the store (and key) a route names,
//! its query, and the conditional-request headers of a write.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use kv_runtime::{KvStore, Version};
use serde::de::DeserializeOwned;

use super::error::{ApiError, Code};
use super::state::SharedState;

/// A path capture that did not decode (percent-decoding gave bytes that are not UTF-8).
fn undecodable(rejection: impl std::fmt::Display) -> ApiError {
    kv_runtime::Error::InvalidParameter {
        name: "key".to_owned(),
        given: None,
        expected: format!("keys in the path are UTF-8, percent-encoded once ({rejection})"),
    }
    .into()
}

/// The store and key captures of a route (`{store}` or `{namespace_id}`, `{key}` or
/// `{key_name}`), percent-decoded exactly once.
async fn captures(
    parts: &mut Parts,
    state: &SharedState,
) -> Result<(KvStore, Option<String>), ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(undecodable)?;
    let (mut store, mut key) = (None, None);
    for (name, value) in &params {
        match name {
            "store" | "namespace_id" => store = Some(value),
            "key" | "key_name" => key = Some(value),
            _ => {}
        }
    }
    let name = store.ok_or_else(|| ApiError::store_not_found(""))?;
    Ok((state.store(name)?.clone(), key.map(str::to_owned)))
}

/// The store a route names.
pub(crate) struct Store(pub(crate) KvStore);

impl FromRequestParts<SharedState> for Store {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(captures(parts, state).await?.0))
    }
}

/// The store and key a value route names.
pub(crate) struct StoreKey {
    pub(crate) store: KvStore,
    pub(crate) key: String,
}

impl FromRequestParts<SharedState> for StoreKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let (store, key) = captures(parts, state).await?;
        let key = key.ok_or_else(|| ApiError::key_not_found(""))?;
        Ok(Self { store, key })
    }
}

/// A query string, or the API's `invalid_request` naming what is wrong with it.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<T>::from_request_parts(parts, state).await.map_err(
            |rejection: QueryRejection| {
                ApiError::bad_request(
                    Code::InvalidRequest,
                    format!("invalid query string: {}", rejection.body_text()),
                )
            },
        )?;
        Ok(Self(query))
    }
}

/// What a write requires of the key's current version, from `If-Match: "<version>"`
/// (write only at that version) or `If-None-Match: *` (write only if absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Precondition {
    #[default]
    None,
    Version(Version),
    Absent,
}

impl Precondition {
    /// Reads the conditional-request headers; anything this server cannot honour
    /// exactly (a weak or listed ETag, `If-Match: *`, both headers) is refused rather
    /// than ignored.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let bad = |message: String| ApiError::bad_request(Code::InvalidRequest, message);
        let if_match = headers.get(header::IF_MATCH);
        let if_none_match = headers.get(header::IF_NONE_MATCH);
        match (if_match, if_none_match) {
            (None, None) => Ok(Self::None),
            (Some(_), Some(_)) => Err(bad("give If-Match or If-None-Match, not both".to_owned())),
            (None, Some(value)) if value.as_bytes().trim_ascii() == b"*" => Ok(Self::Absent),
            (None, Some(_)) => Err(bad(
                "If-None-Match supports only `*` (write only if the key does not exist)".to_owned(),
            )),
            (Some(value), None) => {
                let text = value.to_str().unwrap_or_default().trim();
                if text == "*" {
                    return Err(bad(
                        "If-Match: * is not supported: give the ETag of the version to replace"
                            .to_owned(),
                    ));
                }
                let tag = text
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(text);
                Ok(Self::Version(tag.parse::<Version>()?))
            }
        }
    }

    /// The version an `If-Match` requires.
    pub(crate) fn version(self) -> Option<Version> {
        match self {
            Self::Version(version) => Some(version),
            _ => None,
        }
    }

    /// `put` with this precondition.
    pub(crate) fn apply(self, put: kv_runtime::PutRequest) -> kv_runtime::PutRequest {
        match self {
            Self::None => put,
            Self::Version(version) => put.if_version(version),
            Self::Absent => put.if_absent(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Precondition {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers)
    }
}

/// The `ETag` header value of a version: `"<version>"` (written without `format!`:
/// this is on every read and write).
pub(crate) fn etag(version: Version) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = version.as_u64();
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
    let mut buf = [b'"'; 18];
    for i in 0..digits {
        let shift = 4 * (digits - 1 - i);
        buf[1 + i] = HEX[((n >> shift) & 0xf) as usize];
    }
    // `"` then hexadecimal digits then `"`: always a valid header value.
    HeaderValue::from_bytes(&buf[..digits + 2]).unwrap_or(HeaderValue::from_static("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_the_quoted_version() {
        for n in [0, 1, 0xf, 0x10, 0xabc, 1 << 40, u64::MAX] {
            let version = Version::from_u64(n);
            assert_eq!(etag(version).to_str().unwrap(), format!("\"{version}\""));
        }
    }
}
