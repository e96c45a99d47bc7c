-- finish.lua: the claimer of a due promise records what it did, if its
-- claim is still the latest (else another gateway took over: write nothing).
-- KEYS[1] the promise hash  KEYS[2] due zset  KEYS[3] parked hash  KEYS[4] events stream
-- ARGV[1] id  ARGV[2] claim token  ARGV[3] next fire time (ms), "" to leave the due set
-- ARGV[4] where the conversation went ("agent", "queue", "held", "gone") or "" when it has
--         not gone anywhere yet   ARGV[5] now (ms)   ARGV[6] events cap
-- Returns 1 | 0 the claim was superseded
local id = ARGV[1]
if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], id)
else
  redis.call('ZADD', KEYS[2], ARGV[3], id)
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'returned', ARGV[4], 'returned_at', ARGV[5], 'pending', '0')
  local f = redis.call('HMGET', KEYS[1], 'conv', 'agent', 'state', 'due')
  local conv = f[1]
  if redis.call('HGET', KEYS[3], conv) == id then redis.call('HDEL', KEYS[3], conv) end
  -- state: a pending promise kept before its due time comes back too.
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'type', 'returned', 'promise', id,
    'conv', conv, 'to', ARGV[4], 'agent', f[2] or '', 'state', f[3] or '', 'due', f[4] or '')
end
return 1
