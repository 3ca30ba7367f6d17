//! Every limit the runtime enforces, in one place. The README's limits table mirrors it.

/// Longest key, in bytes of its UTF-8 encoding (Workers KV: 512).
pub const MAX_KEY_BYTES: usize = 512;

/// Largest serialized metadata, in bytes (Workers KV: 1024).
pub const MAX_METADATA_BYTES: usize = 1024;

/// Default floor for `expiration_ttl`, in seconds (Workers KV: 60). A store's `min_ttl`
/// may lower it to 1.
pub const MIN_EXPIRATION_TTL_SECS: u64 = 60;

/// Default largest value, in bytes: 25 MiB (Workers KV). A store's `max_value_size` changes it.
pub const DEFAULT_MAX_VALUE_BYTES: u64 = 25 * 1024 * 1024;

/// Most keys one `list` page returns, and the default page size (Workers KV: 1000).
pub const MAX_LIST_LIMIT: usize = 1000;
