-- Re-tags a tenant's waiting shards and records its new ones.
-- KEYS[1] the tenant's hash, KEYS[2] the queue's prioritized zset, KEYS[3] the queue's priority
-- counter (BullMQ's `pc`: equal priorities keep arrival order).
-- ARGV[1] BullMQ's job key prefix of the queue, ARGV[2] the hash's TTL (s), ARGV[3] the tag after the
-- tenant's sequence (recorded as `~finish`), ARGV[4] m, then m pairs (shard id, new priority) in run
-- order, then pairs (new shard id, entry) to record.
-- A shard no longer waiting (a worker took it meanwhile) is skipped and dropped from the hash.
-- Returns the number of shards re-tagged.
local P = 4294967296
local m = tonumber(ARGV[4])
local moved = 0
for i = 0, m - 1 do
  local id = ARGV[5 + 2 * i]
  local priority = tonumber(ARGV[6 + 2 * i])
  if redis.call('ZSCORE', KEYS[2], id) then
    local counter = redis.call('INCR', KEYS[3])
    redis.call('ZADD', KEYS[2], priority * P + counter % P, id)
    redis.call('HSET', ARGV[1] .. id, 'priority', priority)
    moved = moved + 1
  else
    redis.call('HDEL', KEYS[1], id)
  end
end
for i = 5 + 2 * m, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], '~finish', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return moved
