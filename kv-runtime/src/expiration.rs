//! Turning `expiration_ttl` / `expiration` into an absolute Unix time, with Workers KV's checks.

use crate::error::{Error, Result};

/// When a key expires, as the caller said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiration {
    /// Seconds from now.
    Ttl(u64),
    /// Absolute Unix seconds.
    At(u64),
}

impl Expiration {
    /// Resolves to an absolute Unix time, checking the store's floor `min_ttl`.
    ///
    /// A TTL must be at least `min_ttl`; an absolute time must be at least `min_ttl`
    /// seconds after `now`.
    pub(crate) fn resolve(self, now: u64, min_ttl: u64) -> Result<u64> {
        match self {
            Self::Ttl(ttl) => {
                if ttl < min_ttl {
                    return Err(Error::ExpirationTtlTooShort { ttl, min: min_ttl });
                }
                now.checked_add(ttl)
                    .ok_or(Error::ExpirationOverflow { ttl, now })
            }
            Self::At(at) => {
                // Past the end of the clock, nothing is `min_ttl` in the future.
                if now
                    .checked_add(min_ttl)
                    .is_none_or(|earliest| at < earliest)
                {
                    return Err(Error::ExpirationTooSoon { at, min: min_ttl });
                }
                Ok(at)
            }
        }
    }
}

/// Expiry is inclusive: a key whose expiration is `now` is gone.
pub(crate) fn is_expired(expiration: Option<u64>, now: u64) -> bool {
    expiration.is_some_and(|at| at <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_floor_and_overflow() {
        assert_eq!(Expiration::Ttl(60).resolve(1000, 60).unwrap(), 1060);
        assert!(matches!(
            Expiration::Ttl(59).resolve(1000, 60),
            Err(Error::ExpirationTtlTooShort { ttl: 59, min: 60 })
        ));
        assert!(matches!(
            Expiration::Ttl(u64::MAX).resolve(1000, 60),
            Err(Error::ExpirationOverflow { .. })
        ));
    }

    #[test]
    fn absolute_floor() {
        assert_eq!(Expiration::At(1060).resolve(1000, 60).unwrap(), 1060);
        assert!(matches!(
            Expiration::At(1059).resolve(1000, 60),
            Err(Error::ExpirationTooSoon { at: 1059, min: 60 })
        ));
        assert!(Expiration::At(u64::MAX).resolve(u64::MAX - 1, 60).is_err());
    }

    #[test]
    fn expiry_is_inclusive() {
        assert!(is_expired(Some(10), 10));
        assert!(!is_expired(Some(11), 10));
        assert!(!is_expired(None, u64::MAX));
    }
}
