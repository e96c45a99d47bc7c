-- abandon.lua: the conversation leaves routing before anyone served it: the
-- customer left, or staff closed it from the queue. It leaves its queue (or
-- the agent it was offered to) and is recorded.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the conversation hash
-- ARGV[4] conversation id   ARGV[5] cause, "customer" or "closed" (the event's
--         cause field; statistics and webhooks tell the two apart)
-- Returns {0, offers made} | {1} no such conversation | {7} already active or finished
local id = ARGV[4]
local c = conv_get(id)
if not c then return {1} end
if c.state ~= 'waiting' and c.state ~= 'offered' then return {7} end
local aid = c.agent
unqueue(c)
redis.call('ZREM', KOFFERS, id)
finish(c, 'abandoned', true)
if c.state == 'offered' then release(c, aid) end
emit('abandoned', {'conv', id, 'agent', aid, 'queue', c.queue, 'channel', c.channel,
  'wait_ms', itoa(NOW - num(c.enq)), 'reason', c.state, 'cause', ARGV[5]})
if c.state == 'offered' then return {0, serve_agent(aid)} end
return {0, 0}
