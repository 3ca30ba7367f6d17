-- delete_prefix: ARGV[5], ARGV[6] the ZRANGEBYLEX bounds, ARGV[7] the batch size.
-- Removes up to a batch of keys in range. Returns {live records removed, entries
-- looked at, the last one or nil}.
local members = redis.call('ZRANGEBYLEX', idx_key, ARGV[5], ARGV[6], 'LIMIT', 0, tonumber(ARGV[7]))
local removed = 0
local last = false
for _, m in ipairs(members) do
  last = m
  if remove(m) then
    removed = removed + 1
    publish('d', next_number(), m)
  end
end
return {removed, #members, last}
