//! The Lua scripts every write and listing runs as, one atomic step per shard. Each is
//! `scripts/common.lua` (key names, liveness at the runtime's `now`, versions, backstop
//! TTLs) followed by its own file; redis-rs runs them with `EVALSHA` and loads them on
//! `NOSCRIPT`.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("scripts/common.lua"),
                include_str!(concat!("scripts/", $file))
            ))
        })
    };
}

/// `put` and `put_many`: conditions, chunk checks, records, index, expiry, versions.
pub(super) static PUT: LazyLock<Script> = script!("put.lua");
/// `touch`: a new expiration and version.
pub(super) static TOUCH: LazyLock<Script> = script!("touch.lua");
/// `delete` and `delete_many`.
pub(super) static DELETE: LazyLock<Script> = script!("delete.lua");
/// A page of live keys.
pub(super) static LIST: LazyLock<Script> = script!("list.lua");
/// Live keys under a prefix.
pub(super) static COUNT: LazyLock<Script> = script!("count.lua");
/// A batch of expired records.
pub(super) static PURGE: LazyLock<Script> = script!("purge.lua");
/// A batch of keys under a prefix.
pub(super) static DELETE_PREFIX: LazyLock<Script> = script!("delete_prefix.lua");
/// Records a store's shard count once.
pub(super) static INIT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/init.lua")));
