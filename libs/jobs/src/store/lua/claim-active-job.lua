-- Claims a slot for a job in the owner's set of active jobs: first drops members whose job hash is
-- gone or terminal (so finished, failed and cancelled jobs free their slot however they ended),
-- then adds the job unless the set is full.
-- KEYS[1] the owner's active set; ARGV[1] job hash prefix, ARGV[2] limit, ARGV[3] job id, ARGV[4] now.
-- Returns -1 when added, else the active count.
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  local s = redis.call('HGET', ARGV[1] .. id, 'status')
  if (not s) or s == 'completed' or s == 'failed' or s == 'cancelled' then redis.call('ZREM', KEYS[1], id) end
end
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return n end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], 2592000000)
return -1
