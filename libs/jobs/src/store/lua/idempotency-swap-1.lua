-- An Idempotency-Key's compare-and-set.
-- KEYS[1] the key; ARGV[1] the value it must hold ('' : none), ARGV[2] 1 when a free key is taken too,
-- ARGV[3] the new value ('' : delete the key), ARGV[4] its TTL in seconds.
-- Returns {1} when set (or deleted), else {0, the value it holds or ''}.
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[2] == '1') or (cur ~= false and cur == ARGV[1]) then
  if ARGV[3] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
  end
  return {1}
end
return {0, cur or ''}
