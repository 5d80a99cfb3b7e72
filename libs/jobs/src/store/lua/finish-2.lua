-- A job to a terminal status unless it is in one already; the change ends the job's event log.
-- KEYS[1] job hash, KEYS[2] its event log (stream); ARGV[1] status, ARGV[2..] field, value pairs.
-- Returns 1 when this call changed it, 0 when it was terminal, -1 when the job is gone.
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -1 end
if s == 'completed' or s == 'failed' or s == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], unpack(ARGV, 2))
redis.call('XADD', KEYS[2], '*', 'k', 'end', 's', ARGV[1])
return 1
