-- list: ARGV[6], ARGV[7] the ZRANGEBYLEX bounds, ARGV[8] how many live keys are
-- wanted, ARGV[9] how many index entries to look at, at most. Returns {done, last
-- entry looked at or nil, {{key, version, expiration, metadata}, ...}}: done is 1 when
-- the range holds nothing after `last`.
local min = ARGV[6]
local max = ARGV[7]
local want = tonumber(ARGV[8])
local budget = tonumber(ARGV[9])
local out = {}
local scanned = 0
local last = false
while #out < want and scanned < budget do
  local batch = math.min(budget - scanned, math.max(want - #out, 64))
  local members = redis.call('ZRANGEBYLEX', idx_key, min, max, 'LIMIT', 0, batch)
  for _, m in ipairs(members) do
    scanned = scanned + 1
    last = m
    local r = redis.call('HMGET', rec_key(m), 'ver', 'e', 'm')
    if r[1] and live(r[2]) then
      out[#out + 1] = {m, r[1], r[2], r[3]}
      if #out >= want then return {0, last, out} end
    end
  end
  if #members < batch then return {1, last, out} end
  min = '(' .. last
end
return {0, last, out}
