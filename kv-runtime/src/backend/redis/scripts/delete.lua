-- delete / delete_many: ARGV[6] the condition ('a', 'n', 'v'; one key only unless
-- 'a'), ARGV[7] the version required, ARGV[8..] the keys. Returns {'ok', how many
-- live records went, the last change number taken} or {'conflict', 0, current
-- version or nil}.
local cond = ARGV[6]
if cond ~= 'a' then
  local r = redis.call('HMGET', rec_key(ARGV[8]), 'ver', 'e')
  local current = false
  if r[1] and live(r[2]) then current = r[1] end
  if (cond == 'n' and current) or (cond == 'v' and current ~= ARGV[7]) then
    return {'conflict', 0, current}
  end
end
local removed = 0
for j = 8, #ARGV do
  local key = ARGV[j]
  if remove(key) then
    removed = removed + 1
    publish('d', next_number(), key)
  end
end
return {'ok', removed, last_number}
