-- A webhook delivery attempt starts: counted before its POST, so an attempt a crash cut short counts too.
-- KEYS[1] the job hash; ARGV: the attempts field, then field, value pairs to set (the event, the time).
-- Returns the attempt's number (from 1), or 0 when the hash is gone (an expired job is not recreated).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
