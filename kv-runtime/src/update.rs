//! [`UpdateRequest`]: read, modify, write back if nothing changed meanwhile, retry.

use std::future::IntoFuture;
use std::hash::{BuildHasher as _, RandomState};
use std::marker::PhantomData;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::{Condition, NewRecord, Payload};
use crate::error::{Error, Result};
use crate::expiration::Expiration;
use crate::get::into_bytes;
use crate::key::validate_key;
use crate::store::KvStore;

/// How many times an update tries before giving up with a conflict, by default.
pub const DEFAULT_UPDATE_ATTEMPTS: u32 = 100;

/// A read-modify-write being described; it runs when awaited. From
/// [`KvStore::update`] (JSON values) and [`KvStore::update_bytes`].
///
/// Awaiting it reads the key, calls the closure with the current value (`None` if the
/// key does not exist), and writes what the closure returns — `None` deletes — only if
/// the key's version is still the one read (or, for a missing key, if it is still
/// missing). If another writer got there first, it backs off (a random, growing pause)
/// and tries again with the new value, up to [`max_attempts`](Self::max_attempts)
/// times; the closure may therefore run more than once. It returns what it wrote.
///
/// The key keeps its metadata and its expiration unless
/// [`expiration_ttl`](Self::expiration_ttl) or [`expiration`](Self::expiration) sets a
/// new one.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::KvStore;
///
/// let counters = KvStore::in_memory("counters");
/// let tasks: Vec<_> = (0..10)
///     .map(|_| {
///         let counters = counters.clone();
///         tokio::spawn(async move {
///             for _ in 0..10 {
///                 counters.update("hits", |n: Option<u64>| Some(n.unwrap_or(0) + 1)).await?;
///             }
///             kv_runtime::Result::Ok(())
///         })
///     })
///     .collect();
/// for task in tasks {
///     task.await.unwrap()?;
/// }
/// assert_eq!(counters.get("hits").json::<u64>().await?, Some(100)); // no lost update
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::Conflict`] after `max_attempts` lost races; [`Error::Json`] if the stored
/// value is not JSON of type `T` or the new one does not serialize; the errors of a
/// put for the key, the value's size and the expiration; [`Error::Backend`] if storage
/// fails. A failed update writes nothing.
#[must_use = "an UpdateRequest does nothing until it is awaited"]
pub struct UpdateRequest<T, F> {
    store: KvStore,
    key: String,
    f: F,
    decode: fn(Bytes) -> Result<T>,
    encode: fn(&T) -> Result<Bytes>,
    max_attempts: u32,
    expiration: Option<Expiration>,
    _value: PhantomData<fn() -> T>,
}

impl<T, F> std::fmt::Debug for UpdateRequest<T, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateRequest")
            .field("store", &self.store)
            .field("key", &self.key)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

fn decode_json<T: DeserializeOwned>(bytes: Bytes) -> Result<T> {
    serde_json::from_slice(&bytes).map_err(Error::Json)
}

fn encode_json<T: Serialize>(value: &T) -> Result<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(Error::Json)
}

impl<T, F> UpdateRequest<T, F> {
    pub(crate) fn new(store: KvStore, key: String, f: F) -> Self
    where
        T: Serialize + DeserializeOwned,
    {
        Self::with_codec(store, key, f, decode_json::<T>, encode_json::<T>)
    }

    fn with_codec(
        store: KvStore,
        key: String,
        f: F,
        decode: fn(Bytes) -> Result<T>,
        encode: fn(&T) -> Result<Bytes>,
    ) -> Self {
        Self {
            store,
            key,
            f,
            decode,
            encode,
            max_attempts: DEFAULT_UPDATE_ATTEMPTS,
            expiration: None,
            _value: PhantomData,
        }
    }

    /// How many times to try before failing with a conflict (at least 1). Default: 100.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Expires the key `secs` seconds after each write (at least the store's `min_ttl`).
    pub fn expiration_ttl(mut self, secs: u64) -> Self {
        self.expiration = Some(Expiration::Ttl(secs));
        self
    }

    /// Expires the key at Unix time `unix_secs` (at least `min_ttl` seconds ahead).
    pub fn expiration(mut self, unix_secs: u64) -> Self {
        self.expiration = Some(Expiration::At(unix_secs));
        self
    }
}

impl<F> UpdateRequest<Bytes, F> {
    pub(crate) fn new_bytes(store: KvStore, key: String, f: F) -> Self {
        Self::with_codec(store, key, f, Ok, |b| Ok(b.clone()))
    }
}

impl<T, F> UpdateRequest<T, F>
where
    T: Send + 'static,
    F: FnMut(Option<T>) -> Option<T> + Send + 'static,
{
    async fn run(mut self) -> Result<Option<T>> {
        validate_key(&self.key)?;
        let jitter = RandomState::new();
        let mut conflict = None;
        for attempt in 0..self.max_attempts {
            if attempt > 0 {
                backoff(&jitter, attempt).await;
            }
            // Updates of one key through this store take turns: they never race each
            // other, only writers elsewhere (another process, a plain put).
            let store = self.store.clone();
            let turn = store.update_turn(&self.key).await;
            let result = self.attempt().await;
            drop(turn);
            match result {
                Err(e) if e.is_conflict() => conflict = Some(e),
                done => return done,
            }
        }
        Err(conflict.unwrap_or_else(|| Error::conflict(&self.key, Condition::Absent, None)))
    }

    /// One read, apply and conditional write.
    async fn attempt(&mut self) -> Result<Option<T>> {
        let (record, _) = self.store.read(&self.key, None).await?;
        let (current, head) = match record {
            Some(record) => {
                let bytes = into_bytes(record.value).await?;
                (Some((self.decode)(bytes)?), Some(record.head))
            }
            None => (None, None),
        };
        let condition = match &head {
            Some(head) => Condition::Version(head.version),
            None => Condition::Absent,
        };
        let Some(new) = (self.f)(current) else {
            if head.is_some() {
                self.store.remove(&self.key, condition).await?;
            }
            return Ok(None);
        };
        let bytes = (self.encode)(&new)?;
        self.store.check_value_size(bytes.len() as u64)?;
        let expiration = match self.expiration {
            Some(expiration) => {
                Some(expiration.resolve(self.store.now(), self.store.config().min_ttl)?)
            }
            None => head.as_ref().and_then(|h| h.expiration),
        };
        let record = NewRecord::new(self.key.clone(), Payload::Bytes(bytes))
            .with_expiration(expiration)
            .with_metadata(head.and_then(|h| h.metadata))
            .with_condition(condition);
        self.store.write(record).await?;
        Ok(Some(new))
    }
}

/// Waits a random number of scheduler turns, up to `2^attempt` (capped at 1024), so
/// that writers racing for one key spread out. Yielding rather than sleeping works on
/// any executor, with or without a timer.
async fn backoff(jitter: &RandomState, attempt: u32) {
    let ceiling = 1u64 << attempt.min(10);
    let turns = jitter.hash_one(attempt) % ceiling + 1;
    for _ in 0..turns {
        tokio::task::yield_now().await;
    }
}

impl<T, F> IntoFuture for UpdateRequest<T, F>
where
    T: Send + 'static,
    F: FnMut(Option<T>) -> Option<T> + Send + 'static,
{
    type Output = Result<Option<T>>;
    type IntoFuture = BoxFuture<'static, Result<Option<T>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// How many keys' updates can run at once on one store: updates of keys in the same
/// stripe take turns.
const UPDATE_STRIPES: usize = 64;

/// The turns of a store's updates, striped by key.
pub(crate) struct UpdateTurns {
    stripes: Box<[tokio::sync::Mutex<()>]>,
    hasher: RandomState,
}

impl UpdateTurns {
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..UPDATE_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            hasher: RandomState::new(),
        }
    }

    /// Waits for `key`'s turn.
    pub(crate) async fn turn(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let index = self.hasher.hash_one(key) as usize % self.stripes.len();
        self.stripes[index].lock().await
    }
}
