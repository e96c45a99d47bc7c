-- requeue.lua: an accepted conversation whose agent could not be reached (a
-- softphone that did not pick up) goes back to its original place in line,
-- counted as a missed offer of that agent, exactly as a lapsed offer is
-- (recover.lua): after the agent's limit of consecutive misses the agent is
-- set away. The event is 'expired' with reason 'missed'.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the conversation hash
-- ARGV[4] conversation id               ARGV[5] agent id
-- Returns {0, offers made} | {1} no such conversation | {3} not assigned to this agent
local id, aid = ARGV[4], ARGV[5]
local c = conv_get(id)
if not c then return {1} end
if c.state ~= 'active' or c.agent ~= aid then return {3} end
redis.call('HSET', KEYS[2], 'accepted_at', '')
requeue(c, 'expired', 'missed')
local missed = redis.call('HINCRBY', kagent(aid), 'missed', 1)
local limit = num(redis.call('HGET', kagent(aid), 'max_missed'))
if limit > 0 and missed >= limit and redis.call('HGET', kagent(aid), 'state') == 'available' then
  set_state(aid, 'away', 'missed offers')
  emit('agent_away_missed_offers', {'agent', aid, 'missed', itoa(missed)})
  requeue_agent_offers(aid, 'agent away')
end
local n = serve_conv(id)
return {0, serve_agent(aid, n)}
