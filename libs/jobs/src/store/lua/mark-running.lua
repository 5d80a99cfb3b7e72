-- queued -> running. KEYS[1] job hash; ARGV[1] now (ms). Returns 1 when this call made the change.
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1])
  return 1
end
return 0
