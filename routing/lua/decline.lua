-- decline.lua: an agent declines an offer; the conversation goes back to its
-- place and is offered to the next agent, and the agent's freed slot is filled.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the conversation hash
-- ARGV[4] conversation id               ARGV[5] agent id
-- Returns {0, offers made} | {1} no such conversation | {2} not offered to this agent
local id, aid = ARGV[4], ARGV[5]
local c = conv_get(id)
if not c then return {1} end
if c.state ~= 'offered' or c.agent ~= aid then return {2} end
redis.call('HSET', kagent(aid), 'missed', '0')
requeue(c, 'declined', 'declined')
local n = serve_conv(id)
return {0, serve_agent(aid, n)}
