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

/// Most keys one `get_many` may request (Workers KV: 100).
pub const MAX_GET_MANY_KEYS: usize = 100;

/// Most items one `put_many` or `delete_many` may carry (Workers KV's REST API: 10,000).
pub const MAX_BULK_ITEMS: usize = 10_000;

/// Floor for `cache_ttl`, in seconds (Workers KV: 30).
pub const MIN_CACHE_TTL_SECS: u64 = 30;

/// Default capacity of a runtime's read cache (`cache_ttl`), in bytes: 32 MiB.
pub const DEFAULT_READ_CACHE_BYTES: u64 = 32 * 1024 * 1024;
