-- heartbeat.lua: the agent's console is connected. Presence is taken from
-- heartbeats with a grace period (presence.lua), not from socket state, so a
-- flapping connection does not flip the agent's state. An agent set offline
-- only because heartbeats stopped gets its previous state back.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the agent hash
-- ARGV[4] agent id
-- Returns {0, offers made} | {8} no such agent
local aid = ARGV[4]
local a = redis.call('HMGET', KEYS[2], 'state', 'reason', 'prev_state')
if not a[1] then return {8} end
if a[1] ~= 'offline' then
  redis.call('ZADD', KSEEN, NOW, aid)
  return {0, 0}
end
if a[2] ~= 'heartbeat lost' then return {0, 0} end
local prev = a[3] or 'available'
set_state(aid, prev, 'heartbeat back')
redis.call('ZADD', KSEEN, NOW, aid)
if prev == 'available' then return {0, serve_agent(aid)} end
return {0, 0}
