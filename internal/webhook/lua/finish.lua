-- finish.lua: record a delivery's final outcome (delivered, failed, dead,
-- dropped) and make the next event of its ordering key due.
-- KEYS[1] delivery hash   KEYS[2] ordering list   KEYS[3] due zset
-- KEYS[4] outcome log stream
-- ARGV[1] member   ARGV[2] event id   ARGV[3] now (ms)   ARGV[4] lease token
-- ARGV[5] TTL of the delivery hash (s)   ARGV[6] log cap   ARGV[7] ep id
-- ARGV[8] "log" to add a log entry, else ""
-- ARGV[9..] field/value pairs, set on the hash and copied to the log
-- Returns 1 done, 0 the lease is no longer ours (nothing written).
local d, o, due, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('HGET', d, 'lease') ~= ARGV[4] then return 0 end
if redis.call('LINDEX', o, 0) == ARGV[2] then
  redis.call('LPOP', o)
else
  redis.call('LREM', o, 1, ARGV[2])
end
redis.call('ZREM', due, ARGV[1])
local entry = {'event', ARGV[2]}
for i = 9, #ARGV, 2 do
  redis.call('HSET', d, ARGV[i], ARGV[i + 1])
  entry[#entry + 1] = ARGV[i]
  entry[#entry + 1] = ARGV[i + 1]
end
redis.call('HSET', d, 'lease', '')
redis.call('EXPIRE', d, ARGV[5])
if ARGV[8] == 'log' then
  redis.call('XADD', log, 'MAXLEN', '~', ARGV[6], '*', unpack(entry))
end
local nxt = redis.call('LINDEX', o, 0)
if nxt then
  redis.call('ZADD', due, ARGV[3], ARGV[7] .. '|' .. nxt)
end
return 1
