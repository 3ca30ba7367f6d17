-- Shared by every script of the redis backend (prepended to each).
-- KEYS[1] is the shard's index (it routes the script to the shard's node); ARGV[1] the
-- shard's key prefix `kv:{tag}:`, ARGV[2] its number, ARGV[3] the runtime's `now`
-- (Unix seconds: the only clock that decides expiry), ARGV[4] the change channel,
-- ARGV[5] the changes of other shards the writer had seen ("n0,n1,..."; "-" with one
-- shard), published with each change so that watchers can keep causal order across
-- shards. Script arguments start at ARGV[6].
-- Numbers are formatted with int(): tostring() would print 1e+15.
local base = ARGV[1]
local shard = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local channel = ARGV[4]
local deps = ARGV[5]
local idx_key = KEYS[1]
local exp_key = base .. 'x'
local ctr_key = base .. 'v'
-- How long the chunks of a replaced or removed value stay, for reads in progress.
local GRACE = 60
-- How long after its expiration (by the runtime's clock) Redis drops a record by
-- itself, should no runtime purge it: a clean-up backstop, relative, generous.
local MARGIN = 3600

local function int(n) return string.format('%.0f', n) end
local function rec_key(key) return base .. 'r:' .. key end
local function chunk_key(blob, n) return base .. 'c:' .. blob .. ':' .. int(n) end
-- Whether a record whose expiration field is `e` (a decimal string, or false) is live.
local function live(e) return (not e) or tonumber(e) > now end
-- Every change takes the next number of the shard's counter and is published with
-- it: `<kind> <shard> <number> <deps> <rest>`. Watchers drop what was published
-- before they subscribed, and count what a lost connection missed. A put's or touch's
-- version is `number * 1024 + shard`: unique in the store, below 2^53. `last_number`
-- is the last one this script took (0: none), which scripts that remove return.
local last_number = 0
local function next_number()
  last_number = redis.call('INCR', ctr_key)
  return last_number
end
local function version_of(number) return int(number * 1024 + shard) end
local function publish(kind, number, rest)
  redis.call('PUBLISH', channel,
    kind .. ' ' .. int(shard) .. ' ' .. int(number) .. ' ' .. deps .. ' ' .. rest)
end
-- The backstop TTL of a key for expiration `e` (a number, or nil: none).
local function backstop(key, e)
  if e then
    local ttl = e - now + MARGIN
    if ttl >= 1 and ttl < 2 ^ 40 then
      redis.call('EXPIRE', key, int(math.ceil(ttl)))
      return
    end
  end
  redis.call('PERSIST', key)
end
local function backstop_chunks(blob, count, e)
  for n = 0, count - 1 do backstop(chunk_key(blob, n), e) end
end
-- Leaves a replaced value's chunks to expire after GRACE seconds.
local function retire_chunks(blob, count)
  for n = 0, tonumber(count) - 1 do redis.call('EXPIRE', chunk_key(blob, n), GRACE) end
end
-- Removes key's record (if any) and its index entries; returns whether it was live.
-- Publishing the removal is the caller's.
local function remove(key)
  local rk = rec_key(key)
  local r = redis.call('HMGET', rk, 'ver', 'e', 'b', 'c')
  local was_live = false
  if r[1] then
    if r[3] then retire_chunks(r[3], r[4]) end
    redis.call('DEL', rk)
    was_live = live(r[2])
  end
  redis.call('ZREM', idx_key, key)
  redis.call('ZREM', exp_key, key)
  return was_live
end
