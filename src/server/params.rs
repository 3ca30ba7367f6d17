//! Numbers in query parameters and JSON bodies, with the runtime's error naming the
//! parameter; and the listing both key routes ask of the runtime.

use kv_runtime::Error;

/// A whole number from a query parameter. Official clients type these as floats
/// (cloudflare-python sends `expiration_ttl: float`), so `120.0` is read as 120;
/// anything else that is not a non-negative whole number is an error naming it.
pub(crate) fn whole_number(name: &str, raw: Option<&str>) -> Result<Option<u64>, Error> {
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
        _ => Err(not_a_number(name, raw)),
    }
}

fn not_a_number(name: &str, given: &str) -> Error {
    Error::InvalidParameter {
        name: name.to_owned(),
        given: Some(given.to_owned()),
        expected: "Please specify a non-negative integer.".to_owned(),
    }
}

/// A whole number from a JSON body, with the same leniency as [`whole_number`].
pub(crate) fn whole_number_json(
    name: &str,
    value: Option<&serde_json::Value>,
) -> Result<Option<u64>, Error> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => whole_number(name, Some(&n.to_string())),
        Some(other) => Err(not_a_number(name, &other.to_string())),
    }
}

/// `?cache_ttl=` on a value read: serve it from the server's read cache for up to this
/// many seconds (at least 30), as Workers KV's `cacheTtl` does.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReadQuery {
    /// Seconds a cached read may be served for (at least 30); without it every read
    /// goes to the store.
    #[param(value_type = Option<u64>)]
    cache_ttl: Option<String>,
}

impl ReadQuery {
    /// The read of `key` in `store` (value, metadata, expiration and version together)
    /// that the query asks for: through the read cache when it names a `cache_ttl`.
    pub(crate) fn read(
        &self,
        store: &kv_runtime::KvStore,
        key: &str,
    ) -> Result<kv_runtime::GetWithMetadataRequest, Error> {
        let read = store.get_with_metadata(key);
        Ok(
            match whole_number("cache_ttl", self.cache_ttl.as_deref())? {
                Some(ttl) => read.cache_ttl(ttl),
                None => read,
            },
        )
    }
}

/// A list limit: absent means the runtime's default; a number the runtime checks.
pub(crate) fn limit(raw: Option<&str>) -> Result<Option<usize>, Error> {
    Ok(whole_number("limit", raw)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
}

/// A listing of `store` with the query's optional prefix, limit and cursor: what both
/// the `/v1` and the Cloudflare keys routes ask of the runtime.
pub(crate) fn list_request(
    store: &kv_runtime::KvStore,
    prefix: Option<String>,
    limit_param: Option<&str>,
    cursor: Option<String>,
) -> Result<kv_runtime::ListRequest, Error> {
    let mut request = store.list().prefix(prefix.unwrap_or_default());
    if let Some(limit) = limit(limit_param)? {
        request = request.limit(limit);
    }
    if let Some(cursor) = cursor {
        request = request.cursor(cursor);
    }
    Ok(request)
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
            assert_eq!(err.cloudflare_code(), 10904, "an expiration error");
            assert_eq!(
                err.to_string(),
                format!("Invalid expiration_ttl of {bad}. Please specify a non-negative integer.")
            );
        }
    }
}
