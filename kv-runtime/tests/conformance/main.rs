//! The behaviour every backend must have, written once and run per backend.
//!
//! Each test is an `async fn(Backend)` in one of the modules below; `conformance!`
//! instantiates it as a `#[tokio::test]` for every backend. Expiration tests drive a
//! `ManualClock` and never sleep. Every validation test checks the error's message and
//! that the store is unchanged afterwards.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bulk;
mod cache;
mod expiration;
mod get;
mod limits;
mod list;
mod persistence;
mod put;
mod stream;

use std::time::Duration;

use kv_runtime::{BackendKind, Bytes, Config, KvStore, ManualClock, Runtime, StoreConfig};
use tempfile::TempDir;

/// The clock's reading when a test starts.
pub(crate) const T0: u64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Memory,
    Fjall,
}

/// A runtime with one store, `s`, on a backend, with a manual clock.
pub(crate) struct Harness {
    pub(crate) rt: Runtime,
    pub(crate) store: KvStore,
    pub(crate) clock: ManualClock,
    pub(crate) dir: TempDir,
}

impl Harness {
    pub(crate) async fn new(backend: Backend) -> Self {
        Self::with(backend, |c| c).await
    }

    /// A harness whose store `s` has the settings `configure` returns.
    pub(crate) async fn with(
        backend: Backend,
        configure: impl FnOnce(StoreConfig) -> StoreConfig,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let kind = match backend {
            Backend::Memory => BackendKind::Memory,
            Backend::Fjall => BackendKind::Fjall,
        };
        let mut config = Config::default();
        config.defaults = configure(StoreConfig::default().backend(kind));
        let rt = Runtime::builder()
            .config(config)
            .data_dir(dir.path())
            .clock(clock.clone())
            .open()
            .await
            .unwrap();
        let store = rt.store("s").unwrap();
        Self {
            rt,
            store,
            clock,
            dir,
        }
    }

    pub(crate) fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Everything the store holds, as a reader sees it: each key with its value,
    /// expiration and metadata.
    pub(crate) async fn dump(
        &self,
    ) -> Vec<(
        String,
        Option<Bytes>,
        Option<u64>,
        Option<serde_json::Value>,
    )> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self.store.list().cursor(cursor.clone()).await.unwrap();
            for key in page.keys {
                let value = self.store.get(key.name.clone()).bytes().await.unwrap();
                out.push((key.name, value, key.expiration, key.metadata));
            }
            match page.cursor {
                Some(next) => cursor = next,
                None => return out,
            }
        }
    }
}

/// Asserts that `result` is an error whose message is exactly `message`.
#[track_caller]
pub(crate) fn assert_error<T: std::fmt::Debug>(result: kv_runtime::Result<T>, message: &str) {
    match result {
        Ok(value) => panic!("expected error {message:?}, got Ok({value:?})"),
        Err(err) => assert_eq!(err.to_string(), message),
    }
}

macro_rules! conformance {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $test() {
                    crate::$module::$test(crate::Backend::Memory).await;
                }
            )*
        }
        mod fjall {
            $(
                #[tokio::test]
                async fn $test() {
                    crate::$module::$test(crate::Backend::Fjall).await;
                }
            )*
        }
    };
}

conformance! {
    put::text_round_trip,
    put::all_value_types_round_trip,
    put::empty_value_is_a_value,
    put::binary_bytes_round_trip,
    put::put_replaces_value_expiration_and_metadata,
    put::metadata_is_any_json,
    put::json_serialization_failure_writes_nothing,
    get::missing_key_is_none,
    get::keys_are_case_sensitive_and_slash_is_ordinary,
    get::unicode_key_of_exactly_512_bytes,
    get::text_of_binary_value_is_an_error,
    get::json_of_non_json_value_is_an_error,
    get::get_with_metadata_shapes,
    get::delete_is_idempotent,
    get::handles_share_data,
    limits::empty_key_rejected,
    limits::reserved_keys_rejected,
    limits::key_over_512_bytes_rejected,
    limits::value_over_limit_rejected,
    limits::metadata_over_1024_bytes_rejected,
    limits::list_limit_out_of_range_rejected,
    limits::invalid_key_on_read_and_delete_rejected,
    expiration::ttl_visible_until_inclusive_expiry,
    expiration::expired_keys_leave_list,
    expiration::list_reports_absolute_expiration,
    expiration::ttl_below_floor_rejected,
    expiration::absolute_expiration_floor,
    expiration::ttl_wins_over_expiration,
    expiration::configurable_floor_down_to_one,
    expiration::overflowing_ttl_is_an_error,
    expiration::purge_removes_expired_and_keeps_rewritten,
    expiration::runtime_purges_in_background,
    list::byte_order_and_literal_prefix,
    list::three_keys_limit_two,
    list::page_ending_at_last_key_is_complete,
    list::keys_added_behind_and_ahead_of_cursor,
    list::limit_may_change_between_pages,
    list::cursor_bound_to_prefix,
    list::garbage_cursor_rejected,
    list::expired_keys_do_not_shorten_pages,
    list::deleted_cursor_key_still_resumes,
    list::metadata_in_listing,
    persistence::handles_after_runtime_reopen,
    stream::stream_sizes_round_trip,
    stream::bytes_value_read_as_stream,
    stream::failing_stream_keeps_previous_value,
    stream::size_limit_enforced_mid_stream,
    stream::stream_with_metadata_and_listing,
    stream::streamed_text_and_json,
    bulk::get_many_text_json_bytes,
    bulk::get_many_key_counts,
    bulk::get_many_json_fails_whole_call,
    bulk::get_many_with_metadata_shapes,
    bulk::put_many_writes_items_with_options,
    bulk::put_many_is_all_or_nothing,
    bulk::delete_many_is_all_or_nothing,
    cache::hit_after_miss_until_ttl,
    cache::writes_invalidate_at_once,
    cache::misses_are_cached_and_expiry_still_applies,
    cache::cache_ttl_floor,
}
