-- presence.lua: agents whose last heartbeat is older than the grace period
-- go offline, and their unanswered offers go back to the queue.
-- KEYS[1] events stream (see lib.lua)
-- ARGV[4] cutoff, unix ms (now minus the grace period)   ARGV[5] most agents per call
-- Returns {0, agents set offline}
local due = redis.call('ZRANGEBYSCORE', KSEEN, '-inf', '(' .. ARGV[4], 'LIMIT', 0, num(ARGV[5]))
local n = 0
for _, aid in ipairs(due) do
  redis.call('ZREM', KSEEN, aid)
  local st = redis.call('HGET', kagent(aid), 'state')
  if st and st ~= 'offline' then
    redis.call('HSET', kagent(aid), 'prev_state', st)
    set_state(aid, 'offline', 'heartbeat lost')
    requeue_agent_offers(aid, 'agent offline')
    n = n + 1
  end
end
return {0, n}
