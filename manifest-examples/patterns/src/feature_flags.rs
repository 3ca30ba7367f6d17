//! [`FeatureFlags`]: flags stored as JSON, with an allow-list and a percentage rollout.
//!
//! The guide's `FeatureFlagManager`, with three of its bugs fixed: a rollout of 0 %
//! enables nobody (the guide's `if (flag.rolloutPercentage)` treats 0 as "no rollout"
//! and enables everyone); the bucket has 10,000 values rather than the first byte of a
//! SHA-256 divided by 255 (256 values, and a byte of 255 is never below any threshold);
//! and flag and user are hashed with a separator, so `("ab", "c")` and `("a", "bc")`
//! land in different buckets.

use kv_runtime::{Json, KvStore};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The key prefix of flags in their store: flag `new-ui` lives under `flag:new-ui`.
pub const FLAG_PREFIX: &str = "flag:";

/// Number of rollout buckets: a user's bucket is in `0..ROLLOUT_BUCKETS`, and a rollout
/// of `p` % enables the buckets below `p * ROLLOUT_BUCKETS / 100`.
pub const ROLLOUT_BUCKETS: u32 = 10_000;

/// One feature flag, as stored: JSON in the guide's shape,
/// `{"enabled": true, "rolloutPercentage": 25, "allowedUsers": ["u1"]}`.
///
/// Evaluated by [`FeatureFlag::is_enabled_for`]:
/// 1. a disabled flag is off for everyone, allow-list included (a kill switch);
/// 2. users on the allow-list have it;
/// 3. with a rollout percentage, users whose [`rollout_bucket`] falls below it have it
///    (`0` enables nobody, `100` everybody); anonymous users never do, since they have
///    no stable bucket;
/// 4. without one, everybody has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FeatureFlag {
    /// Whether the flag is on at all.
    pub enabled: bool,
    /// Share of users who get the flag, 0 to 100; `None` means everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_percentage: Option<u8>,
    /// Users who get the flag whatever the rollout says (while it is enabled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_users: Vec<String>,
    /// Free-form data for the application (owner, ticket, description, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

impl FeatureFlag {
    /// A flag that is on for everyone.
    pub fn on() -> Self {
        Self {
            enabled: true,
            ..Self::default()
        }
    }

    /// A flag that is off for everyone.
    pub fn off() -> Self {
        Self::default()
    }

    /// An enabled flag rolled out to `percentage` % of users (0 to 100).
    pub fn rollout(percentage: u8) -> Self {
        Self {
            enabled: true,
            rollout_percentage: Some(percentage),
            ..Self::default()
        }
    }

    /// This flag with `users` on its allow-list.
    #[must_use]
    pub fn allow<I, S>(mut self, users: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_users.extend(users.into_iter().map(Into::into));
        self
    }

    /// This flag with `metadata` attached.
    #[must_use]
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Whether flag `name` (this flag) is on for `user_id` (`None` for an anonymous user).
    /// See [`FeatureFlag`] for the rules.
    pub fn is_enabled_for(&self, name: &str, user_id: Option<&str>) -> bool {
        if !self.enabled {
            return false;
        }
        if let Some(user) = user_id
            && self.allowed_users.iter().any(|u| u == user)
        {
            return true;
        }
        match (self.rollout_percentage, user_id) {
            (None, _) => true,
            (Some(percentage), _) if percentage >= 100 => true,
            (Some(_), None) => false,
            (Some(percentage), Some(user)) => {
                rollout_bucket(name, user) < u32::from(percentage) * (ROLLOUT_BUCKETS / 100)
            }
        }
    }

    fn validate(&self, name: &str) -> Result<()> {
        match self.rollout_percentage {
            Some(percentage) if percentage > 100 => Err(Error::Invalid {
                what: format!("feature flag {name:?}"),
                reason: format!("rollout percentage of {percentage} is over 100"),
            }),
            _ => Ok(()),
        }
    }
}

/// The rollout bucket of `user_id` for flag `flag`, in `0..ROLLOUT_BUCKETS`.
///
/// Deterministic and stable across processes, platforms and releases (64-bit FNV-1a
/// over `flag`, a NUL byte and `user_id`, then MurmurHash3's 64-bit finalizer for
/// avalanche), so a user keeps their answer, and raising a rollout only adds users.
/// Each flag buckets users independently: the 10 % of one flag are not the 10 % of
/// another.
pub fn rollout_bucket(flag: &str, user_id: &str) -> u32 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = flag
        .as_bytes()
        .iter()
        .chain(&[0u8])
        .chain(user_id.as_bytes());
    let mut hash = bytes.fold(FNV_OFFSET, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    });
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    // The modulo's bias is below 2^-50: negligible.
    u32::try_from(hash % u64::from(ROLLOUT_BUCKETS)).unwrap_or(0)
}

/// Feature flags kept in a [`KvStore`], one JSON value per flag under `flag:<name>`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> patterns::Result<()> {
/// use patterns::{Env, FeatureFlag, FeatureFlags};
///
/// let env = Env::in_memory();
/// let flags = FeatureFlags::new(env.FLAGS.clone());
/// flags.set("new-ui", &FeatureFlag::rollout(25).allow(["qa-1"])).await?;
///
/// assert!(flags.is_enabled("new-ui", "qa-1").await?);      // allow-list
/// assert!(!flags.is_enabled("beta", "qa-1").await?);       // unknown flag: off
/// let some_user = flags.is_enabled("new-ui", "user-42").await?;
/// assert_eq!(flags.is_enabled("new-ui", "user-42").await?, some_user); // stable
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FeatureFlags {
    store: KvStore,
    cache_ttl: Option<u64>,
}

impl FeatureFlags {
    /// Flags kept in `store`, read from it on every evaluation.
    pub fn new(store: KvStore) -> Self {
        Self {
            store,
            cache_ttl: None,
        }
    }

    /// Serves flag reads from the runtime's local read cache for `secs` seconds (at
    /// least 30), as `get(..).cache_ttl(secs)` does: flags are read on every request and
    /// written rarely. A [`set`](Self::set) through the same runtime is seen at once;
    /// one made elsewhere, within `secs`.
    #[must_use]
    pub fn cache_ttl(mut self, secs: u64) -> Self {
        self.cache_ttl = Some(secs);
        self
    }

    /// The flag called `name`, if it exists.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] if the stored value is not a flag; [`Error::Store`] if the
    /// name makes an invalid key or the store fails (or for a `cache_ttl` under 30).
    pub async fn get(&self, name: &str) -> Result<Option<FeatureFlag>> {
        let key = flag_key(name);
        let mut read = self.store.get(key.clone());
        if let Some(secs) = self.cache_ttl {
            read = read.cache_ttl(secs);
        }
        let Some(bytes) = read.bytes().await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::Corrupt { key, source })
    }

    /// Whether flag `name` is on for `user_id`: pass a user id, or `None` for an
    /// anonymous user. An unknown flag is off. See [`FeatureFlag`] for the rules.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get): a flag that cannot be read is an error, not silently off.
    pub async fn is_enabled<'u>(
        &self,
        name: &str,
        user_id: impl Into<Option<&'u str>>,
    ) -> Result<bool> {
        let user_id = user_id.into();
        Ok(self
            .get(name)
            .await?
            .is_some_and(|flag| flag.is_enabled_for(name, user_id)))
    }

    /// Stores `flag` as flag `name`, replacing any earlier version.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a rollout percentage over 100 (nothing is written);
    /// [`Error::Store`] if the name makes an invalid key or the store fails.
    pub async fn set(&self, name: &str, flag: &FeatureFlag) -> Result<()> {
        flag.validate(name)?;
        self.store.put(flag_key(name), Json(flag)).await?;
        Ok(())
    }

    /// Removes flag `name`; it is off for everyone from then on. Removing a missing
    /// flag succeeds.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the name makes an invalid key or the store fails.
    pub async fn remove(&self, name: &str) -> Result<()> {
        Ok(self.store.delete(flag_key(name)).await?)
    }

    /// The names of all flags, in byte order.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    pub async fn names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut cursor = None;
        loop {
            let mut list = self.store.list().prefix(FLAG_PREFIX);
            if let Some(cursor) = cursor.take() {
                list = list.cursor(cursor);
            }
            let page = list.await?;
            names.extend(
                page.keys
                    .into_iter()
                    .filter_map(|key| key.name.strip_prefix(FLAG_PREFIX).map(str::to_owned)),
            );
            match page.cursor {
                Some(next) if !page.list_complete => cursor = Some(next),
                _ => return Ok(names),
            }
        }
    }
}

fn flag_key(name: &str) -> String {
    format!("{FLAG_PREFIX}{name}")
}
