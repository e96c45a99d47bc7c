-- enqueue.lua: queue one event for one endpoint, behind the earlier events
-- of the same ordering key.
-- KEYS[1] delivery hash   sb:{ws}:wh:d:<ep>:<event id>
-- KEYS[2] ordering list   sb:{ws}:wh:o:<ep>:<key>
-- KEYS[3] due zset        sb:{ws}:wh:due
-- ARGV[1] member "<ep>|<event id>"   ARGV[2] event id   ARGV[3] now (ms)
-- ARGV[4] TTL of the delivery hash (s)
-- ARGV[5] "replay" to queue an event again that was finished, else ""
-- ARGV[6..] field/value pairs of the delivery hash
-- Returns 1 queued, 0 already known (a second fan-out after a crash),
-- 2 still queued (a replay of an event not yet finished).
local d, o, due = KEYS[1], KEYS[2], KEYS[3]
local exists = redis.call('EXISTS', d) == 1
if exists then
  if ARGV[5] ~= 'replay' then return 0 end
  if redis.call('LPOS', o, ARGV[2]) then return 2 end
end
for i = 6, #ARGV, 2 do redis.call('HSET', d, ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', d, ARGV[4])
redis.call('RPUSH', o, ARGV[2])
redis.call('EXPIRE', o, ARGV[4])
if redis.call('LLEN', o) == 1 then
  redis.call('ZADD', due, ARGV[3], ARGV[1])
end
return 1
