-- close.lua: the agent finished the conversation. With wrap-up configured the
-- agent keeps the slot (and gets no call) for the queue's wrap-up time;
-- otherwise the slot is freed and refilled at once.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the conversation hash
-- ARGV[4] conversation id               ARGV[5] agent id, "" for whoever holds it
-- Returns {0, offers made, the accept the handling time counts from (unix ms)}
--   | {1} no such conversation | {3} not assigned to this agent
local id, aid = ARGV[4], ARGV[5]
local c = conv_get(id)
if not c then return {1} end
if c.state ~= 'active' or (aid ~= '' and c.agent ~= aid) then return {3} end
aid = c.agent
local acc = num(c.accepted_at)
push_sample(khandles(c.queue), NOW - acc)
local qc = qcfg(c.queue)
local wrap = qc and num(qc.wrap) or 0
if wrap > 0 then
  redis.call('HSET', KEYS[2], 'state', 'wrapup', 'closed_at', itoa(NOW))
  local wu = NOW + wrap
  if num(redis.call('HGET', kagent(aid), 'wrap_until')) < wu then
    redis.call('HSET', kagent(aid), 'wrap_until', itoa(wu))
  end
  agent_dirty(aid)
  redis.call('ZADD', KWRAP, wu, id)
  refresh(aid)
  emit('closed', {'conv', id, 'agent', aid, 'queue', c.queue, 'channel', c.channel,
    'handle_ms', itoa(NOW - acc), 'reason', 'wrapup', 'until', itoa(wu)})
  return {0, serve_agent(aid), acc}
end
finish(c, 'closed', true)
release(c, aid)
emit('closed', {'conv', id, 'agent', aid, 'queue', c.queue, 'channel', c.channel,
  'handle_ms', itoa(NOW - acc)})
return {0, serve_agent(aid), acc}
