-- HSET on a hash that still exists: an expired job is not recreated as a stub without a TTL.
-- KEYS[1] the hash; ARGV field, value pairs. Returns 1 when written, 0 when the hash is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
