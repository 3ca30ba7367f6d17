-- delete / delete_many: ARGV[5] the condition ('a', 'n', 'v'; one key only unless
-- 'a'), ARGV[6] the version required, ARGV[7..] the keys. Returns {'ok', how many
-- live records went} or {'conflict', 0, current version or nil}.
local cond = ARGV[5]
if cond ~= 'a' then
  local r = redis.call('HMGET', rec_key(ARGV[7]), 'ver', 'e')
  local current = false
  if r[1] and live(r[2]) then current = r[1] end
  if (cond == 'n' and current) or (cond == 'v' and current ~= ARGV[6]) then
    return {'conflict', 0, current}
  end
end
local removed = 0
for j = 7, #ARGV do
  local key = ARGV[j]
  if remove(key) then
    removed = removed + 1
    publish('d', next_number(), key)
  end
end
return {'ok', removed}
