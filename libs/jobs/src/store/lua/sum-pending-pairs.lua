-- Sums the pairs of unfinished jobs and drops the entries of jobs that ended or are gone (a job
-- leaves the gauge when its status is terminal, whoever made it so; no counter to drift).
-- KEYS[1] the pending-pairs hash; ARGV[1] job hash prefix. Returns the sum.
local entries = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #entries, 2 do
  local s = redis.call('HGET', ARGV[1] .. entries[i], 'status')
  if (not s) or s == 'completed' or s == 'failed' or s == 'cancelled' then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    sum = sum + tonumber(entries[i + 1])
  end
end
return sum
