-- A worker starts a shard, in one round trip: checks the job is not over, reads the shard's
-- texts, and only when they are all there marks the job running (queued -> running) and counts
-- the run. KEYS[1] job hash, KEYS[2] docs hash, KEYS[3] runs hash.
-- ARGV[1] now (ms), ARGV[2] shard number, ARGV[3..] flat document indices.
-- Returns {'gone'}, {'<terminal status>'}, {'missing'}, or {'ok', text, text, ...} in ARGV order.
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return {'gone'} end
if s == 'completed' or s == 'failed' or s == 'cancelled' then return {s} end
local out = {'ok'}
local n = #ARGV
-- HMGET in chunks: unpack of many thousands of arguments overflows Lua's C stack.
for first = 3, n, 1000 do
  local part = redis.call('HMGET', KEYS[2], unpack(ARGV, first, math.min(n, first + 999)))
  for i = 1, #part do
    if not part[i] then return {'missing'} end
    out[#out + 1] = part[i]
  end
end
if s == 'queued' then redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1]) end
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
return out
