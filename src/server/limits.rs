//! The server's own limits (the stores' limits live in `kv_runtime::limits` and kv.toml).

use std::time::Duration;

/// Largest bulk write body: Cloudflare's "The entire request size must be 100 megabytes
/// or less" (developers.cloudflare.com/kv/api/write-key-value-pairs, "Write data in bulk").
pub(crate) const MAX_BULK_WRITE_BODY_BYTES: usize = 100 * 1024 * 1024;

/// Largest bulk delete body: 10,000 keys of at most 512 bytes, JSON-escaped, with room.
pub(crate) const MAX_BULK_DELETE_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Largest bulk get body: 100 keys of at most 512 bytes, JSON-escaped, with room.
pub(crate) const MAX_BULK_GET_BODY_BYTES: usize = 1024 * 1024;

/// What a JSON or multipart body may carry beyond the value itself: field names,
/// `ttl`, metadata (at most 1024 bytes, JSON-escaped) and multipart headers.
pub(crate) const ENVELOPE_OVERHEAD_BYTES: u64 = 64 * 1024;

/// After refusing an oversized body, the server reads and discards up to this much of
/// the rest so that the client, still sending, receives the 413 instead of a reset
/// connection; beyond it the connection is closed.
pub(crate) const DRAIN_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// ... and for at most this long.
pub(crate) const DRAIN_MAX_TIME: Duration = Duration::from_secs(5);

/// Namespaces per page when the client does not say (Cloudflare's default).
pub(crate) const DEFAULT_NAMESPACES_PER_PAGE: usize = 20;

/// Most namespaces per page (Cloudflare's maximum).
pub(crate) const MAX_NAMESPACES_PER_PAGE: usize = 100;

/// Fewest namespaces per page (Cloudflare's minimum).
pub(crate) const MIN_NAMESPACES_PER_PAGE: usize = 5;

/// Values up to this size are answered in one piece (with `Content-Length`, one write);
/// larger values are streamed chunk by chunk.
pub(crate) const INLINE_RESPONSE_BYTES: u64 = 256 * 1024;
