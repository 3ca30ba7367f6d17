//! The two response envelopes, and the middleware that renders every error in the
//! envelope of its route family.
//!
//! - @workertown/kv (`/v1`, `/health`): `{"status":200,"success":true,"data":...}`; an
//!   error is `{"status":404,"success":false,"data":null,"error":"<message>","code":"key_not_found"}`.
//! - Cloudflare v4 (`/client/v4`): `{"success":true,"errors":[],"messages":[],"result":...}`,
//!   with `result_info` on listings; an error is
//!   `{"success":false,"errors":[{"code":10009,"message":"..."}],"messages":[],"result":null}`
//!   (the shape of every Cloudflare API response: cloudflare-python `_wrappers.ResultWrapper`
//!   reads `result`, its paginators read `result_info`).

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use super::error::{ApiError, Code};

/// Which API a path belongs to, and so which envelope its responses use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Workertown,
    Cloudflare,
}

impl Family {
    pub(crate) fn of(path: &str) -> Self {
        if path.starts_with("/client/v4") {
            Family::Cloudflare
        } else {
            Family::Workertown
        }
    }
}

/// A JSON response with exactly these bytes.
pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response {
    let mut response = (status, body.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    // Serializing our own response types cannot fail (string keys, no custom impls);
    // answer a 500 body rather than panic if it ever did.
    serde_json::to_vec(value).unwrap_or_else(|_| {
        br#"{"success":false,"error":"response serialization failed"}"#.to_vec()
    })
}

/// `{"status":200,"success":true,"data":data}`.
pub(crate) fn workertown(data: impl Serialize) -> Response {
    #[derive(Serialize)]
    struct Ok<T> {
        status: u16,
        success: bool,
        data: T,
    }
    json_response(
        StatusCode::OK,
        to_json(&Ok {
            status: 200,
            success: true,
            data,
        }),
    )
}

/// `{"success":true,"errors":[],"messages":[],"result":result}`.
pub(crate) fn cloudflare(result: impl Serialize) -> Response {
    cloudflare_with_info(result, None::<()>)
}

/// As [`cloudflare`], with `result_info`.
pub(crate) fn cloudflare_with_info(
    result: impl Serialize,
    info: Option<impl Serialize>,
) -> Response {
    #[derive(Serialize)]
    struct Ok<T, I> {
        success: bool,
        errors: [(); 0],
        messages: [(); 0],
        result: T,
        #[serde(skip_serializing_if = "Option::is_none")]
        result_info: Option<I>,
    }
    json_response(
        StatusCode::OK,
        to_json(&Ok {
            success: true,
            errors: [],
            messages: [],
            result,
            result_info: info,
        }),
    )
}

/// The error's body in the family's envelope.
pub(crate) fn error_body(family: Family, error: &ApiError) -> Vec<u8> {
    #[derive(Serialize)]
    struct WorkertownError<'a> {
        status: u16,
        success: bool,
        data: (),
        error: &'a str,
        code: &'static str,
    }
    #[derive(Serialize)]
    struct CloudflareMessage<'a> {
        code: u32,
        message: &'a str,
    }
    #[derive(Serialize)]
    struct CloudflareError<'a> {
        success: bool,
        errors: [CloudflareMessage<'a>; 1],
        messages: [(); 0],
        result: (),
    }
    match family {
        Family::Workertown => to_json(&WorkertownError {
            status: error.status.as_u16(),
            success: false,
            data: (),
            error: &error.message,
            code: error.code.as_str(),
        }),
        Family::Cloudflare => to_json(&CloudflareError {
            success: false,
            errors: [CloudflareMessage {
                code: error.code.cloudflare(),
                message: &error.message,
            }],
            messages: [],
            result: (),
        }),
    }
}

/// An error answered in the family's envelope.
pub(crate) fn render_error(family: Family, error: &ApiError) -> Response {
    json_response(error.status, error_body(family, error))
}

/// Renders an error response in its family's envelope: the [`ApiError`]s handlers and
/// extractors return, and the bare statuses of the router (404, 405).
pub(crate) fn render_errors(family: Family, response: Response) -> Response {
    let status = response.status();
    let error = match response.extensions().get::<Arc<ApiError>>() {
        Some(error) => ApiError::clone(error),
        None if is_json(&response) => return response,
        None => ApiError::new(status, Code::for_status(status), default_message(status)),
    };
    let mut rendered = render_error(family, &error);
    if let Some(challenge) = response.headers().get(header::WWW_AUTHENTICATE) {
        rendered
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge.clone());
    }
    if let Some(allow) = response.headers().get(header::ALLOW) {
        rendered.headers_mut().insert(header::ALLOW, allow.clone());
    }
    rendered
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

fn default_message(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "no route for that URI".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this route".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "the request took too long and was abandoned".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_owned(),
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    }
}
