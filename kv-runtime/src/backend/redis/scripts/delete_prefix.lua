-- delete_prefix: ARGV[6], ARGV[7] the ZRANGEBYLEX bounds, ARGV[8] the batch size.
-- Removes up to a batch of keys in range. Returns {live records removed, entries
-- looked at, the last change number taken, the last entry or nil}.
local members = redis.call('ZRANGEBYLEX', idx_key, ARGV[6], ARGV[7], 'LIMIT', 0, tonumber(ARGV[8]))
local removed = 0
local last = false
for _, m in ipairs(members) do
  last = m
  if remove(m) then
    removed = removed + 1
    publish('d', next_number(), m)
  end
end
return {removed, #members, last_number, last}
