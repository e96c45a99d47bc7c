-- retry.lua: schedule another attempt of a delivery that failed for now.
-- KEYS[1] delivery hash   KEYS[2] due zset   KEYS[3] outcome log stream
-- ARGV[1] member   ARGV[2] lease token   ARGV[3] next attempt (ms)
-- ARGV[4] log cap   ARGV[5] "log" to add a log entry, else ""
-- ARGV[6] event id   ARGV[7..] field/value pairs
-- Returns 1 scheduled, 0 the lease is no longer ours (nothing written).
local d, due, log = KEYS[1], KEYS[2], KEYS[3]
if redis.call('HGET', d, 'lease') ~= ARGV[2] then return 0 end
redis.call('ZADD', due, ARGV[3], ARGV[1])
local entry = {'event', ARGV[6]}
for i = 7, #ARGV, 2 do
  redis.call('HSET', d, ARGV[i], ARGV[i + 1])
  entry[#entry + 1] = ARGV[i]
  entry[#entry + 1] = ARGV[i + 1]
end
redis.call('HSET', d, 'lease', '')
if ARGV[5] == 'log' then
  redis.call('XADD', log, 'MAXLEN', '~', ARGV[4], '*', unpack(entry))
end
return 1
