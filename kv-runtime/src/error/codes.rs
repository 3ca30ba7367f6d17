//! The one mapping from [`Error`] to what reports it: a stable code, an HTTP status and
//! the numeric code of a Cloudflare API error. `kv serve`, the `axum` feature and the
//! `kv` command line all use it.
//!
//! Cloudflare's own numbers are used where Cloudflare has one we could confirm (10013,
//! namespace not found); the others are ours, stable, in 10900..=10999, where they
//! cannot be mistaken for one of Cloudflare's. `kv serve`'s own errors (authentication,
//! routing, request bodies) use 10000, 7000, 10009 and 10907..=10914, 10999.

use super::Error;

/// How one kind of error is reported.
struct Report {
    code: &'static str,
    status: u16,
    cloudflare: u32,
}

const fn report(code: &'static str, status: u16, cloudflare: u32) -> Report {
    Report {
        code,
        status,
        cloudflare,
    }
}

impl Error {
    /// The innermost error: for an [`Error::BulkItem`], what is wrong with the item.
    pub fn root(&self) -> &Error {
        match self {
            Self::BulkItem { source, .. } => source.root(),
            other => other,
        }
    }

    fn report(&self) -> Report {
        match self {
            Self::KeyTooLong { .. } => report("key_too_long", 400, 10901),
            Self::EmptyKey => report("empty_key", 400, 10901),
            Self::ReservedKey { .. } => report("reserved_key", 400, 10901),
            Self::ValueTooLarge { .. } => report("value_too_large", 413, 10902),
            Self::MetadataTooLarge { .. } => report("metadata_too_large", 413, 10903),
            Self::ExpirationTtlTooShort { .. } => report("expiration_ttl_too_short", 400, 10904),
            Self::ExpirationTooSoon { .. } => report("expiration_too_soon", 400, 10904),
            Self::ExpirationOverflow { .. } => report("expiration_overflow", 400, 10904),
            Self::ListLimit { .. } => report("invalid_list_limit", 400, 10905),
            Self::InvalidCursor => report("invalid_cursor", 400, 10906),
            Self::Json(_) => report("json", 422, 10910),
            Self::Stream { .. } => report("stream_failed", 400, 10908),
            Self::CacheTtlTooShort { .. } => report("cache_ttl_too_short", 400, 10908),
            Self::GetManyEmpty => report("get_many_empty", 400, 10908),
            Self::GetManyTooMany { .. } => report("get_many_too_many", 400, 10908),
            Self::GetManyNotJson { .. } => report("get_many_not_json", 422, 10910),
            Self::BulkTooLarge { .. } => report("bulk_too_large", 413, 10909),
            Self::BulkItem { source, .. } => Report {
                code: "bulk_item",
                ..source.report()
            },
            Self::InvalidUtf8 => report("invalid_utf8", 422, 10911),
            Self::InvalidStoreName { .. } => report("invalid_store_name", 404, 10013),
            Self::InvalidParameter { name, .. } => {
                let cloudflare = match name.as_str() {
                    "expiration" | "expiration_ttl" | "ttl" => 10904,
                    "limit" => 10905,
                    _ => 10908,
                };
                report("invalid_parameter", 400, cloudflare)
            }
            Self::Conflict { .. } => report("conflict", 412, 10915),
            Self::InvalidVersion { .. } => report("invalid_version", 400, 10916),
            Self::Locked { .. } => report("locked", 503, 10917),
            Self::Config { .. } => report("config", 500, 10999),
            Self::Backend { .. } => report("backend", 503, 10917),
        }
    }

    /// A stable, machine-readable name for the error's kind (`"key_too_long"`, ...), for
    /// logs and API error bodies. New kinds may be added; existing names do not change.
    pub fn code(&self) -> &'static str {
        self.report().code
    }

    /// The HTTP status that reports this error: 400 for invalid input, 404 for a store
    /// name that cannot exist, 412 for a refused conditional write, 413 for a value,
    /// metadata or batch over its limit, 422 for a stored value that is not what the
    /// read asked for (JSON, UTF-8), 503 when the storage is unavailable or failed (a
    /// retry may succeed), 500 for a broken configuration.
    pub fn http_status(&self) -> u16 {
        self.report().status
    }

    /// The numeric `code` of a Cloudflare API v4 error reporting this error.
    pub fn cloudflare_code(&self) -> u32 {
        self.report().cloudflare
    }

    /// Whether the caller's input caused the error (a limit, a bad key, cursor or
    /// option), as opposed to the stored data, the storage or a refused condition.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self.http_status(), 400 | 404 | 413)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_items_report_as_what_is_wrong_with_them() {
        let item = Error::BulkItem {
            index: 3,
            key: "k".into(),
            source: Box::new(Error::ValueTooLarge { size: 2, max: 1 }),
        };
        assert_eq!(
            (item.code(), item.http_status(), item.cloudflare_code()),
            ("bulk_item", 413, 10902)
        );
        assert_eq!(item.root().code(), "value_too_large");
        assert!(item.is_invalid_input());
        let conflict = Error::BulkItem {
            index: 0,
            key: "k".into(),
            source: Box::new(Error::conflict(
                "k",
                crate::backend::Condition::Absent,
                None,
            )),
        };
        assert!(conflict.is_conflict() && !conflict.is_invalid_input());
        assert_eq!(conflict.http_status(), 412);
    }
}
