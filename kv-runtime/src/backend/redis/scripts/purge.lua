-- purge_expired: ARGV[6] the batch size. Removes up to a batch of records whose
-- expiration is at or before `now`, reporting each as expired; repairs index entries
-- that disagree with their record. Returns {removed, entries looked at, the last
-- change number taken}.
local members = redis.call('ZRANGEBYSCORE', exp_key, '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[6]))
local removed = 0
for _, m in ipairs(members) do
  local rk = rec_key(m)
  local r = redis.call('HMGET', rk, 'ver', 'e')
  if r[1] and r[2] and live(r[2]) then
    redis.call('ZADD', exp_key, r[2], m)
  elseif r[1] and not r[2] then
    redis.call('ZREM', exp_key, m)
  else
    -- Expired, or already dropped by its backstop TTL.
    remove(m)
    removed = removed + 1
    publish('x', next_number(), m)
  end
end
return {removed, #members, last_number}
