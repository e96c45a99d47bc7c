-- make.lua: record a new promise.
-- KEYS[1] the promise hash   KEYS[2] due zset     KEYS[3] remind zset   KEYS[4] open zset
-- KEYS[5] agent's zset       KEYS[6] conv's zset  KEYS[7] parked hash   KEYS[8] events stream
-- ARGV[1] id  ARGV[2] conversation  ARGV[3] customer  ARGV[4] agent  ARGV[5] queue
-- ARGV[6] channel  ARGV[7] what  ARGV[8] due (ms)  ARGV[9] created (ms)
-- ARGV[10] pending "1" or "0"  ARGV[11] reminder time (ms) or ""  ARGV[12] events cap
-- Returns 1 | 2 the conversation already waits for another promise
local id, conv = ARGV[1], ARGV[2]
if ARGV[10] == '1' and redis.call('HEXISTS', KEYS[7], conv) == 1 then return 2 end
redis.call('HSET', KEYS[1], 'id', id, 'conv', conv, 'customer', ARGV[3], 'agent', ARGV[4],
  'queue', ARGV[5], 'channel', ARGV[6], 'what', ARGV[7], 'due', ARGV[8], 'created', ARGV[9],
  'pending', ARGV[10], 'state', 'open', 'claim', '0')
redis.call('ZADD', KEYS[2], ARGV[8], id)
if ARGV[11] ~= '' then redis.call('ZADD', KEYS[3], ARGV[11], id) end
redis.call('ZADD', KEYS[4], ARGV[8], id)
redis.call('ZADD', KEYS[5], ARGV[8], id)
redis.call('ZADD', KEYS[6], ARGV[9], id)
if ARGV[10] == '1' then redis.call('HSET', KEYS[7], conv, id) end
redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[12], '*', 'type', 'made', 'promise', id,
  'conv', conv, 'agent', ARGV[4], 'queue', ARGV[5], 'due', ARGV[8])
return 1
