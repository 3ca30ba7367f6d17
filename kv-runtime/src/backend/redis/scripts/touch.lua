-- touch: ARGV[6] the key, ARGV[7] its new expiration ('' none). A new version, the
-- value and metadata untouched. Returns the version, or nil if no record is live.
local key = ARGV[6]
local e = ARGV[7]
local rk = rec_key(key)
local r = redis.call('HMGET', rk, 'ver', 'e', 'b', 'c')
if not r[1] or not live(r[2]) then return false end
local number = next_number()
local version = version_of(number)
redis.call('HSET', rk, 'ver', version)
local en = nil
if e ~= '' then
  en = tonumber(e)
  redis.call('HSET', rk, 'e', e)
  redis.call('ZADD', exp_key, e, key)
else
  redis.call('HDEL', rk, 'e')
  redis.call('ZREM', exp_key, key)
  e = '-'
end
backstop(rk, en)
if r[3] then backstop_chunks(r[3], tonumber(r[4]), en) end
publish('p', number, e .. ' ' .. key)
return version
