//! Where a store's data lives in Redis: the shards of a namespace, their hash tags and
//! key names, and which shard a key belongs to.

/// Slots of a Redis Cluster.
const SLOTS: u32 = 16_384;

/// One shard of a store: every Redis key of the shard starts with `base`, whose hash
/// tag puts them all in one cluster slot.
#[derive(Debug, Clone)]
pub(super) struct Shard {
    /// The shard's number, 0 to `shards - 1`.
    pub(super) number: u16,
    /// `kv:{<namespace>:<number>:<salt>}:`.
    pub(super) base: String,
}

impl Shard {
    /// The sorted set of the shard's keys (score 0, member = key), read by `ZRANGEBYLEX`.
    /// Scripts take it as `KEYS[1]`, which routes them to the shard's node.
    pub(super) fn index(&self) -> String {
        format!("{}i", self.base)
    }

    /// The shard's change counter: every change takes its next number.
    pub(super) fn counter(&self) -> String {
        format!("{}v", self.base)
    }

    /// The hash holding `key`'s record.
    pub(super) fn record(&self, key: &str) -> String {
        format!("{}r:{key}", self.base)
    }

    /// Chunk `n` of blob `blob`.
    pub(super) fn chunk(&self, blob: &str, n: u64) -> String {
        format!("{}c:{blob}:{n}", self.base)
    }
}

/// A store's shards, its change channel and its meta key.
#[derive(Debug)]
pub(super) struct Layout {
    pub(super) namespace: String,
    pub(super) shards: Vec<Shard>,
    /// The pub/sub channel every write of the store publishes on.
    pub(super) channel: String,
    /// Records the store's shard count, so that runtimes configured differently refuse
    /// to share a namespace.
    pub(super) meta: String,
}

impl Layout {
    /// The layout of `namespace` (which holds no braces) in `shards` shards.
    ///
    /// Shard `s`'s hash tag is `<namespace>:<s>:<salt>`, with the smallest salt that puts
    /// its slot near the middle of the `s`-th of `shards` equal parts of the slot space
    /// (within its middle quarter, for up to 64 shards): a cluster whose masters own
    /// ranges of slots (as `redis-cli --cluster create` assigns them) then serves a
    /// sharded store from as many of them as it can — 4 shards on 3 masters use all 3.
    pub(super) fn new(namespace: &str, shards: u16) -> Self {
        let count = u32::from(shards.max(1));
        let shards = (0..count)
            .map(|s| {
                let (low, high) = (s * SLOTS / count, (s + 1) * SLOTS / count);
                let quarter = (high - low) / 4;
                let target = if count <= 64 && quarter > 0 {
                    let middle = low + (high - low) / 2;
                    middle - quarter / 2..middle + quarter / 2 + 1
                } else {
                    low..high
                };
                let salt = (0..1_000_000u32)
                    .find(|salt| {
                        let tag = format!("{namespace}:{s}:{salt}");
                        target.contains(&u32::from(slot(tag.as_bytes())))
                    })
                    .unwrap_or(0);
                Shard {
                    number: u16::try_from(s).unwrap_or(0),
                    base: format!("kv:{{{namespace}:{s}:{salt}}}:"),
                }
            })
            .collect();
        Self {
            namespace: namespace.to_owned(),
            shards,
            channel: format!("kv:{namespace}:changes"),
            meta: format!("kv:{{{namespace}}}:meta"),
        }
    }

    /// The shard that holds `key`: FNV-1a of its bytes, modulo the shard count (stable
    /// across processes and versions).
    pub(super) fn shard_of(&self, key: &str) -> &Shard {
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let n = self.shards.len().max(1) as u64;
        let index = usize::try_from(hash % n).unwrap_or(0);
        &self.shards[index.min(self.shards.len() - 1)]
    }
}

/// CRC16/XMODEM, a byte at a time.
const CRC16: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// The Redis Cluster slot of a hash tag's content: CRC16 (XMODEM) modulo 16384.
pub(super) fn slot(tag: &[u8]) -> u16 {
    let crc = tag.iter().fold(0u16, |crc, &byte| {
        (crc << 8) ^ CRC16[usize::from((crc >> 8) as u8 ^ byte)]
    });
    crc % SLOTS as u16
}

/// The smallest string greater than every string that starts with `prefix`, for an
/// exclusive upper bound of a `ZRANGEBYLEX`; `None` when there is none (all `0xff`).
pub(super) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// `ZRANGEBYLEX` bounds of the keys under `prefix` strictly after `after`.
pub(super) fn lex_range(prefix: &str, after: Option<&str>) -> (Vec<u8>, Vec<u8>) {
    let min = match after {
        Some(after) if after.as_bytes() >= prefix.as_bytes() => {
            [b"(".as_slice(), after.as_bytes()].concat()
        }
        _ if prefix.is_empty() => b"-".to_vec(),
        _ => [b"[".as_slice(), prefix.as_bytes()].concat(),
    };
    let max = match prefix_end(prefix.as_bytes()) {
        Some(end) if !prefix.is_empty() => [b"(".as_slice(), &end].concat(),
        _ => b"+".to_vec(),
    };
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // The CRC16/XMODEM check value, and slots `CLUSTER KEYSLOT` gives.
        assert_eq!(slot(b"123456789"), 0x31c3);
        assert_eq!(slot(b"t:0"), 6341);
    }

    #[test]
    fn shards_spread_over_the_slot_space() {
        let layout = Layout::new("app/s", 4);
        for (s, shard) in layout.shards.iter().enumerate() {
            let tag = &shard.base[4..shard.base.len() - 2];
            let slot = u32::from(slot(tag.as_bytes()));
            assert!(
                (s as u32 * 4096..(s as u32 + 1) * 4096).contains(&slot),
                "{tag}"
            );
        }
        let one = Layout::new("app/s", 1);
        assert!(one.shards[0].base.starts_with("kv:{app/s:0:"));
        assert_eq!(one.shard_of("anything").number, 0);
        let counts = (0..400).fold([0; 4], |mut c, i| {
            c[usize::from(layout.shard_of(&format!("k{i}")).number)] += 1;
            c
        });
        assert!(counts.iter().all(|&c| c > 50), "{counts:?}");
    }

    #[test]
    fn ranges() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
        assert_eq!(lex_range("", None), (b"-".to_vec(), b"+".to_vec()));
        assert_eq!(lex_range("a", None), (b"[a".to_vec(), b"(b".to_vec()));
        assert_eq!(
            lex_range("a", Some("ab")),
            (b"(ab".to_vec(), b"(b".to_vec())
        );
        assert_eq!(lex_range("b", Some("a")), (b"[b".to_vec(), b"(c".to_vec()));
    }
}
