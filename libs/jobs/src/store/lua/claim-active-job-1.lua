-- Claims a slot for a job in the tenant's set of active jobs: first drops the members the caller
-- found ended or gone (it reads their statuses itself: in a Redis Cluster the job hashes live in
-- other slots, so this script touches the set alone), then adds the job unless the set is full.
-- KEYS[1] the tenant's active set; ARGV[1] limit, ARGV[2] job id, ARGV[3] now, ARGV[4] the set's
-- TTL (ms), ARGV[5..] ended ids. Returns -1 when added, else the active count.
for i = 5, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then return n end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return -1
