//! Query parameters and path captures, with errors that name the problem.

use axum::extract::rejection::{PathRejection, QueryRejection};

use super::error::{ApiError, Code};

/// A whole number from a query parameter. Official clients type these as floats
/// (cloudflare-python sends `expiration_ttl: float`), so `120.0` is read as 120;
/// anything else that is not a non-negative whole number is an error naming it.
pub(crate) fn whole_number(name: &str, raw: Option<&str>) -> Result<Option<u64>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(n) = raw.parse::<u64>() {
        return Ok(Some(n));
    }
    match raw.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 =>
        {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked: finite, whole, non-negative and below u64::MAX"
            )]
            Ok(Some(f as u64))
        }
        _ => Err(ApiError::bad_request(
            code_for(name),
            format!("Invalid {name} of {raw}. Please specify a non-negative integer."),
        )),
    }
}

/// A whole number from a JSON body, with the same leniency as [`whole_number`].
pub(crate) fn whole_number_json(
    name: &str,
    value: Option<&serde_json::Value>,
) -> Result<Option<u64>, ApiError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => whole_number(name, Some(&n.to_string())),
        Some(other) => Err(ApiError::bad_request(
            code_for(name),
            format!("Invalid {name} of {other}. Please specify a non-negative integer."),
        )),
    }
}

fn code_for(name: &str) -> Code {
    match name {
        "expiration" | "expiration_ttl" | "ttl" => Code::InvalidExpiration,
        "limit" => Code::InvalidLimit,
        _ => Code::InvalidRequest,
    }
}

/// A list limit: absent means the runtime's default; a number the runtime checks.
pub(crate) fn limit(raw: Option<&str>) -> Result<Option<usize>, ApiError> {
    Ok(whole_number("limit", raw)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
}

/// A listing of `store` with the query's optional prefix, limit and cursor: what both
/// the `/v1` and the Cloudflare keys routes ask of the runtime.
pub(crate) fn list_request(
    store: &kv_runtime::KvStore,
    prefix: Option<String>,
    limit_param: Option<&str>,
    cursor: Option<String>,
) -> Result<kv_runtime::ListRequest, ApiError> {
    let mut request = store.list();
    if let Some(prefix) = prefix {
        request = request.prefix(prefix);
    }
    if let Some(limit) = limit(limit_param)? {
        request = request.limit(limit);
    }
    if let Some(cursor) = cursor {
        request = request.cursor(cursor);
    }
    Ok(request)
}

pub(crate) fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(
        Code::InvalidRequest,
        format!("invalid query string: {}", rejection.body_text()),
    )
}

/// A path that could not be decoded: percent-decoding gave bytes that are not UTF-8.
pub(crate) fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::bad_request(
        Code::InvalidKey,
        format!(
            "invalid key in the path (keys are UTF-8, percent-encoded once): {}",
            rejection.body_text()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_accept_float_spelling_and_reject_the_rest() {
        assert_eq!(whole_number("ttl", Some("60")).unwrap(), Some(60));
        assert_eq!(whole_number("ttl", Some("60.0")).unwrap(), Some(60));
        assert_eq!(whole_number("ttl", None).unwrap(), None);
        assert_eq!(whole_number("ttl", Some("")).unwrap(), None);
        for bad in ["-1", "1.5", "abc", "NaN", "1e30"] {
            let err = whole_number("expiration_ttl", Some(bad)).unwrap_err();
            assert_eq!(err.code, Code::InvalidExpiration);
            assert!(err.message.contains(bad), "{}", err.message);
        }
    }
}
