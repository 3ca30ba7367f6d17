//! The change messages the scripts publish, as the watch task reads them.

use crate::change::Change;
use crate::version::Version;

/// One published change: its shard, its number in the shard, the numbers of other
/// shards' changes the writer had seen (with several shards), and the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Published {
    pub(super) shard: u16,
    pub(super) number: u64,
    pub(super) deps: Option<Vec<u64>>,
    pub(super) change: Change,
}

/// Parses `<kind> <shard> <number> <deps> <rest>`: `p … <expiration or -> <key>` (a
/// put or touch), `d … <key>` (deleted) or `x … <key>` (purged after expiring); deps
/// are `-` or `n0,n1,...`.
pub(super) fn parse(payload: &[u8]) -> Option<Published> {
    let text = std::str::from_utf8(payload).ok()?;
    let (kind, rest) = text.split_once(' ')?;
    let (shard, rest) = rest.split_once(' ')?;
    let (number, rest) = rest.split_once(' ')?;
    let (deps, rest) = rest.split_once(' ')?;
    let (shard, number): (u16, u64) = (shard.parse().ok()?, number.parse().ok()?);
    let deps = match deps {
        "-" => None,
        list => Some(
            list.split(',')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<u64>>>()?,
        ),
    };
    let change = match kind {
        "p" => {
            let (expiration, key) = rest.split_once(' ')?;
            let expiration = match expiration {
                "-" => None,
                e => Some(e.parse().ok()?),
            };
            let version = number.checked_mul(1024)?.checked_add(u64::from(shard))?;
            Change::put(key, Version::from_u64(version), expiration)
        }
        "d" => Change::delete(rest),
        "x" => Change::expired(rest),
        _ => return None,
    };
    Some(Published {
        shard,
        number,
        deps,
        change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse() {
        let put = parse(b"p 1 1 - - room:1 a b").unwrap();
        assert_eq!((put.shard, put.number, put.deps), (1, 1, None));
        assert_eq!(
            put.change,
            Change::put("room:1 a b", Version::from_u64(1025), None)
        );
        let put = parse(b"p 0 7 0,3 1700000060 k").unwrap();
        assert_eq!(put.deps, Some(vec![0, 3]));
        assert_eq!(
            put.change,
            Change::put("k", Version::from_u64(7 * 1024), Some(1_700_000_060))
        );
        assert_eq!(parse(b"d 3 9 - a b").unwrap().change, Change::delete("a b"));
        assert_eq!(parse(b"x 0 2 - k").unwrap().change, Change::expired("k"));
        assert_eq!(parse(b"p 0 x - - k"), None);
        assert_eq!(parse(b"p 0 1 1,x - k"), None);
        assert_eq!(parse(b"?"), None);
    }
}
