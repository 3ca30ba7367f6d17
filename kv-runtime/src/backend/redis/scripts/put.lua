-- put / put_many: ARGV[6..] are records of 10 fields: key, condition ('a' always,
-- 'n' absent, 'v' version), the version required, expiration ('' none), has
-- metadata ('0'/'1'), metadata, kind ('i' inline, 'b' blob), the value or the blob id,
-- the value's length, its chunk count.
-- Checks every condition, then that every blob's chunks are all there, then writes
-- everything: all or nothing. Returns {'ok', {versions}}, {'conflict', item, current
-- version or nil} or {'missing', item}.
local S = 10
-- Every field a record may have but `ver`, which every record has.
local RECORD_FIELDS = {'e', 'm', 'b', 'n', 'c', 'v'}
local n = (#ARGV - 5) / S
for i = 0, n - 1 do
  local a = 5 + i * S
  local cond = ARGV[a + 2]
  if cond ~= 'a' then
    local r = redis.call('HMGET', rec_key(ARGV[a + 1]), 'ver', 'e')
    local current = false
    if r[1] and live(r[2]) then current = r[1] end
    if (cond == 'n' and current) or (cond == 'v' and current ~= ARGV[a + 3]) then
      return {'conflict', i, current}
    end
  end
end
for i = 0, n - 1 do
  local a = 5 + i * S
  if ARGV[a + 7] == 'b' then
    for c = 0, tonumber(ARGV[a + 10]) - 1 do
      if redis.call('EXISTS', chunk_key(ARGV[a + 8], c)) == 0 then
        return {'missing', i}
      end
    end
  end
end
local versions = {}
for i = 0, n - 1 do
  local a = 5 + i * S
  local key = ARGV[a + 1]
  local rk = rec_key(key)
  local old = redis.call('HMGET', rk, 'b', 'c', 'e', 'ver')
  if old[1] then retire_chunks(old[1], old[2]) end
  local existed = old[4] ~= false
  local number = next_number()
  local version = version_of(number)
  local e = ARGV[a + 4]
  local fields = {'ver', version}
  if e ~= '' then
    fields[#fields + 1] = 'e'
    fields[#fields + 1] = e
  end
  if ARGV[a + 5] == '1' then
    fields[#fields + 1] = 'm'
    fields[#fields + 1] = ARGV[a + 6]
  end
  local blob = false
  if ARGV[a + 7] == 'b' then
    blob = ARGV[a + 8]
    fields[#fields + 1] = 'b'
    fields[#fields + 1] = blob
    fields[#fields + 1] = 'n'
    fields[#fields + 1] = ARGV[a + 9]
    fields[#fields + 1] = 'c'
    fields[#fields + 1] = ARGV[a + 10]
  else
    fields[#fields + 1] = 'v'
    fields[#fields + 1] = ARGV[a + 8]
  end
  -- The record is updated in place (recreating the hash costs Redis several times as
  -- much as updating it): the new fields, then the old record's others removed.
  redis.call('HSET', rk, unpack(fields))
  local set = {}
  for f = 1, #fields, 2 do set[fields[f]] = true end
  local stale = {}
  for _, f in ipairs(RECORD_FIELDS) do
    if not set[f] then stale[#stale + 1] = f end
  end
  if existed then
    redis.call('HDEL', rk, unpack(stale))
  else
    -- A record and its index entry come and go together (`remove` drops both), so
    -- only a new record needs one.
    redis.call('ZADD', idx_key, 0, key)
  end
  local en = nil
  if e ~= '' then
    en = tonumber(e)
    redis.call('ZADD', exp_key, e, key)
  elseif old[3] then
    -- Only a record that had an expiration is in the expiry index.
    redis.call('ZREM', exp_key, key)
  end
  -- A new record has no TTL to remove.
  if en or existed then backstop(rk, en) end
  if blob then backstop_chunks(blob, tonumber(ARGV[a + 10]), en) end
  versions[#versions + 1] = version
  if e == '' then e = '-' end
  publish('p', number, e .. ' ' .. key)
end
return {'ok', versions}
