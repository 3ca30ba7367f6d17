-- Records a store's layout (ARGV[1]) under KEYS[1] the first time; returns the one
-- recorded, so that runtimes configured with other shard counts refuse the store.
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
