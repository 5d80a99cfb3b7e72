-- A tenant's shards still waiting in a model's shard queue, and the queue's virtual time.
-- KEYS[1] the tenant's hash (BullMQ shard id -> "cost factor queuedAt"), KEYS[2] the queue's
-- BullMQ prioritized zset (score = priority * 2^32 + arrival counter, BullMQ 5's layout).
-- Entries no longer in the prioritized set (taken by a worker, removed, retrying) are dropped.
-- The hash's field `~finish` is the tag after the tenant's last sequence (fair-queue.ts).
-- Returns {head priority or -1, finish or -1, id1, entry1, priority1, id2, ...}.
local P = 4294967296
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local head = -1
if first[2] then head = math.floor(tonumber(first[2]) / P) end
local finish = -1
local out = {head, finish}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] == '~finish' then
    finish = tonumber(all[i + 1])
  else
    local score = redis.call('ZSCORE', KEYS[2], all[i])
    if score then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
      out[#out + 1] = math.floor(tonumber(score) / P)
    else
      redis.call('HDEL', KEYS[1], all[i])
    end
  end
end
out[2] = finish
return out
