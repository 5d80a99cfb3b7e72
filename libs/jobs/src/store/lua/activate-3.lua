-- A job whose shards are queued becomes visible; it stays until it ends (a job that ended keeps its expiry).
-- KEYS[1] job hash, KEYS[2] layout, KEYS[3] document ids.
-- Returns {tenant, created_at}, or nothing when the job is gone.
local h = redis.call('HMGET', KEYS[1], 'owner', 'created_at', 'status')
if not h[1] then return nil end
redis.call('HDEL', KEYS[1], 'pending')
if h[3] == 'queued' or h[3] == 'running' then
  for i = 1, 3 do redis.call('PERSIST', KEYS[i]) end
end
return {h[1], h[2]}
