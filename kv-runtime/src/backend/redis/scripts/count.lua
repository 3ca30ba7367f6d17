-- count: ARGV[6], ARGV[7] the ZRANGEBYLEX bounds of the prefix, ARGV[8] the prefix.
-- The index entries in range, less those expired at `now` and not purged yet.
local prefix = ARGV[8]
local total = redis.call('ZLEXCOUNT', idx_key, ARGV[6], ARGV[7])
if total == 0 then return 0 end
local expired = redis.call('ZRANGEBYSCORE', exp_key, '-inf', ARGV[3])
for _, m in ipairs(expired) do
  if string.sub(m, 1, #prefix) == prefix then total = total - 1 end
end
return total
