//! Store name to `Env` field: the one naming function, used by validation (to find
//! collisions) and by code generation.

use heck::ToShoutySnakeCase;

/// The `Env` field of a store: its name in SHOUTY_SNAKE_CASE (`demo-cache` → `DEMO_CACHE`).
///
/// Raindrop names bindings this way, so `env.DEMO_CACHE` reads the same in both.
pub(crate) fn binding(store_name: &str) -> String {
    store_name.to_shouty_snake_case()
}

#[cfg(test)]
mod tests {
    use super::binding;

    #[test]
    fn shouty_snake_case() {
        assert_eq!(binding("demo-cache"), "DEMO_CACHE");
        assert_eq!(binding("demo_cache"), "DEMO_CACHE");
        assert_eq!(binding("sessions"), "SESSIONS");
        assert_eq!(binding("cache-v2"), "CACHE_V2");
        assert_eq!(binding("a--b"), binding("a-b"));
    }
}
