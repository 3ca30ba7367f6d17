//! The conformance kit (feature `conformance`): the behaviour suite every built-in
//! backend passes, public so that a backend of your own passes the same one.
//!
//! Each behaviour is an `async fn` taking a [`Target`] — something that gives each
//! test a fresh, empty place for its stores (a temporary directory, a Redis key
//! namespace, a database schema) and a [`RuntimeBuilder`] over it.
//! [`conformance_suite!`](crate::conformance_suite) turns every behaviour into a
//! `#[test]` of your crate; [`run_all`] runs them one after another (in a doctest, for
//! instance). Expiration is driven by a [`ManualClock`]: no test sleeps on it.
//!
//! ```
//! # #[cfg(any())] mod example {
//! // tests/conformance.rs of a crate with its own backend
//! kv_runtime::conformance_suite!(my_crate::MyTarget::new());
//! # }
//! ```
//!
//! The built-in targets are [`MemoryTarget`], [`FjallTarget`] and, with their
//! features, `RedisTarget` and `PostgresTarget`, which find their server through an
//! environment variable and skip — loudly, or fail when `CI` is set — without one.
//!
//! A failing behaviour panics with what it expected and what it got, as a test does.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::{Bytes, KvStore, ManualClock, Runtime, RuntimeBuilder, StoreConfig};

pub mod actors;
pub mod bulk;
pub mod cache;
pub mod expiration;
pub mod get;
pub mod limits;
pub mod list;
pub mod model;
pub mod persistence;
#[cfg(feature = "postgres")]
mod postgres_target;
pub mod prefix;
pub mod put;
#[cfg(feature = "redis")]
mod redis_target;
pub mod stream;
pub mod stress;
mod targets;
pub mod touch;
pub mod versions;
pub mod watch;

#[cfg(feature = "postgres")]
pub use self::postgres_target::PostgresTarget;
#[cfg(feature = "redis")]
pub use self::redis_target::{RedisPlace, RedisTarget};
pub use self::targets::{FjallTarget, MemoryTarget};

/// The clock's reading when a test starts.
pub const T0: u64 = 1_700_000_000;

/// The chunk size of the built-in backends: the stream behaviours write values just
/// under, at and over multiples of it, and expect a streamed read in pieces no larger.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// A backend under test: where each test's stores go.
pub trait Target: Clone + Send + Sync + 'static {
    /// A fresh, empty place for one test's data; dropping it cleans up (or not: a
    /// unique place per test is what matters).
    type Place: Send + Sync + 'static;

    /// Why this target cannot run here (e.g. no server address configured), if so:
    /// the test is then skipped with this message, or fails when `CI` is set.
    fn unavailable(&self) -> Option<String> {
        None
    }

    /// A new place.
    fn place(&self) -> BoxFuture<'static, Self::Place>;

    /// A runtime builder whose stores live in `place` on the backend under test, with
    /// `store` as the settings of every store (the test's limits and durability):
    /// set its backend and backend settings, register the factory, and return the
    /// builder unopened. The kit adds the clock.
    fn runtime(&self, place: &Self::Place, store: StoreConfig) -> RuntimeBuilder;

    /// Whether data outlives the runtime that wrote it (a reopened runtime on the same
    /// place sees it). Default: true.
    fn persistent(&self) -> bool {
        true
    }

    /// Whether two runtimes may be open on the same place at once, sharing its data,
    /// as two processes share a Redis or PostgreSQL store. Default: false.
    fn shared(&self) -> bool {
        false
    }

    /// Whether a bulk write is atomic whatever keys it holds, conditions included (the
    /// contract). A backend that spreads a store over shards may make batches atomic
    /// only per shard; it then must refuse a conditional batch that spans shards, and
    /// the kit checks that instead. Default: true.
    fn atomic_batches(&self) -> bool {
        true
    }

    /// How many random sequences the [model test](model) runs against this target
    /// (`KV_MODEL_CASES` overrides it). Default: 128; a target over the network may
    /// choose fewer to keep the suite fast.
    fn model_cases(&self) -> u32 {
        128
    }
}

type Reopen = Arc<dyn Fn() -> RuntimeBuilder + Send + Sync>;

/// A runtime with one store, `s`, on the target, with a manual clock at [`T0`].
pub struct Harness {
    /// The runtime.
    pub rt: Runtime,
    /// Its store `s`.
    pub store: KvStore,
    /// The runtime's clock.
    pub clock: ManualClock,
    reopen: Reopen,
    persistent: bool,
    shared: bool,
    atomic_batches: bool,
    _place: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// A harness with default store settings.
    pub async fn new<T: Target>(target: T) -> Self {
        Self::with(target, |c| c).await
    }

    /// A harness whose store `s` has the settings `configure` returns.
    pub async fn with<T: Target>(
        target: T,
        configure: impl FnOnce(StoreConfig) -> StoreConfig,
    ) -> Self {
        Self::open(target, configure, None).await
    }

    /// A harness whose runtime purges expired keys every `interval`.
    pub async fn with_purge_interval<T: Target>(target: T, interval: Duration) -> Self {
        Self::open(target, |c| c, Some(interval)).await
    }

    async fn open<T: Target>(
        target: T,
        configure: impl FnOnce(StoreConfig) -> StoreConfig,
        purge_interval: Option<Duration>,
    ) -> Self {
        let place = Arc::new(target.place().await);
        let clock = ManualClock::new(T0);
        let store_config = configure(StoreConfig::default());
        let reopen: Reopen = {
            let (target, place, clock) = (target.clone(), Arc::clone(&place), clock.clone());
            Arc::new(move || {
                target
                    .runtime(&place, store_config.clone())
                    .clock(clock.clone())
            })
        };
        let mut builder = reopen();
        if let Some(interval) = purge_interval {
            builder = builder.purge_interval(interval);
        }
        let rt = builder.open().await.unwrap();
        let store = rt.store("s").unwrap();
        Self {
            rt,
            store,
            clock,
            reopen,
            persistent: target.persistent(),
            shared: target.shared(),
            atomic_batches: target.atomic_batches(),
            _place: place,
        }
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Whether the target keeps data across runtimes.
    pub fn persistent(&self) -> bool {
        self.persistent
    }

    /// Whether the target's bulk writes are atomic across all keys.
    pub fn atomic_batches(&self) -> bool {
        self.atomic_batches
    }

    /// Another runtime on the same place and clock, open beside this one — as another
    /// process would be — if the target is [shared](Target::shared).
    pub async fn second_runtime(&self) -> Option<Runtime> {
        if !self.shared {
            return None;
        }
        Some((self.reopen)().open().await.unwrap())
    }

    /// Drops the runtime and its store handle (other handles stay usable), keeping the
    /// place to [`reopen`](Closed::reopen).
    pub fn close_runtime(self) -> Closed {
        Closed {
            reopen: self.reopen,
            persistent: self.persistent,
            _place: self._place,
        }
    }

    /// Everything the store holds, as a reader sees it: each key with its value,
    /// expiration and metadata.
    pub async fn dump(
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

/// A harness whose runtime was dropped: its place, ready to be reopened.
pub struct Closed {
    reopen: Reopen,
    persistent: bool,
    _place: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

impl Closed {
    /// Whether the target keeps data across runtimes.
    pub fn persistent(&self) -> bool {
        self.persistent
    }

    /// A new runtime on the same place and clock.
    pub async fn reopen(&self) -> Runtime {
        (self.reopen)().open().await.unwrap()
    }
}

/// Asserts that `result` is an error whose message is exactly `message`.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(result: crate::Result<T>, message: &str) {
    match result {
        Ok(value) => panic!("expected error {message:?}, got Ok({value:?})"),
        Err(err) => assert_eq!(err.to_string(), message),
    }
}

/// Runs one behaviour against `target` on a fresh two-thread tokio runtime — or skips
/// it, saying why, when the target is unavailable (and fails instead when the `CI`
/// environment variable is set, so that CI cannot pass by skipping).
pub fn run<T, F, Fut>(target: T, behaviour: F)
where
    T: Target,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(reason) = target.unavailable() {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("{reason} (CI is set: a backend test must run, not skip)");
        }
        eprintln!("SKIPPED — {reason}");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(behaviour(target));
}

/// Runs every behaviour against `target`, one after another, printing each name;
/// panics at the first that fails. Skips (or fails in CI) like [`run`].
pub fn run_all<T: Target>(target: T) {
    macro_rules! each {
        ([$target:ident] $($module:ident :: $name:ident),* $(,)?) => {
            $(
                eprintln!("conformance: {}::{}", stringify!($module), stringify!($name));
                run($target.clone(), $module::$name);
            )*
        };
    }
    crate::__conformance_behaviours!([each] target);
    eprintln!("conformance: model::run");
    model::run(target);
}

/// Generates one `#[test]` per conformance behaviour, each against the target the
/// expression builds (evaluated once per test). Put it in a module of its own per
/// backend.
///
/// ```
/// # #[cfg(any())] mod example {
/// mod memory {
///     kv_runtime::conformance_suite!(kv_runtime::conformance::MemoryTarget);
/// }
/// # }
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($target:expr) => {
        $crate::__conformance_behaviours!([$crate::__conformance_tests] $target);
    };
}

/// One `#[test]` per behaviour; see [`conformance_suite!`](crate::conformance_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ([$target:expr] $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::conformance::run($target, $crate::conformance::$module::$name);
            }
        )*

        // Random operation sequences agree with a model (kv_runtime::conformance::model).
        #[test]
        fn model_sequences_agree_with_the_model() {
            $crate::conformance::model::run($target);
        }
    };
}

/// The one list of behaviours, handed to the macro `callback` as
/// `[args] module::name, ...`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_behaviours {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*! {
            [$($args)*]
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
            get::head_reads_without_the_value,
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
            bulk::overridden_items_keep_their_conditions,
            cache::hit_after_miss_until_ttl,
            cache::writes_invalidate_at_once,
            cache::misses_are_cached_and_expiry_still_applies,
            cache::cache_ttl_floor,
            cache::stats_count_operations,
            versions::versions_change_on_every_write_and_never_repeat,
            versions::if_version_writes_only_on_match,
            versions::if_absent_only_when_absent,
            versions::delete_if_version,
            versions::refused_streamed_put_keeps_old_value,
            versions::bulk_conditions_are_all_or_nothing,
            versions::update_applies_keeps_and_deletes,
            versions::concurrent_updates_lose_nothing,
            versions::updates_across_runtimes_lose_nothing,
            touch::touch_changes_only_expiration,
            touch::touch_slides_and_persists,
            touch::touch_of_missing_or_expired_key_is_false,
            touch::touch_validates_like_put,
            prefix::count_live_keys_by_prefix,
            prefix::delete_prefix_removes_exactly_the_prefix,
            prefix::delete_prefix_spans_many_pages,
            prefix::delete_prefix_clears_cached_reads,
            watch::watch_sees_writes_in_order,
            watch::watch_filters_by_prefix,
            watch::watch_sees_bulk_writes_and_purge,
            watch::watch_reports_lag,
            watch::watch_sees_other_runtimes,
            stress::concurrent_writers_last_write_wins,
            stress::chunked_values_never_tear,
            stress::list_walks_never_repeat_keys_under_writes,
            actors::actor_namespace_under_contention,
        }
    };
}
