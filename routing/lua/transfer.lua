-- transfer.lua: move a live conversation to another queue or to a named
-- agent. The original enqueue time is kept, so it does not lose its place.
-- A previous agent's slot is freed (no wrap-up) and refilled.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the conversation hash
-- ARGV[4] conversation id   ARGV[5] target queue, "" keeps the current one
-- ARGV[6] target agent, "" to queue it
-- Returns {0, offers made} | {1} no such conversation | {4} queue not configured
--   | {6} target agent cannot take it now | {7} conversation finished | {8} no such agent
local id, tq, ta = ARGV[4], ARGV[5], ARGV[6]
local c = conv_get(id)
if not c then return {1} end
if c.state ~= 'waiting' and c.state ~= 'offered' and c.state ~= 'active' then return {7} end
if tq == '' then tq = c.queue end
local qc = qcfg(tq)
if not qc then return {4} end
if ta ~= '' then
  if redis.call('EXISTS', kagent(ta)) == 0 then return {8} end
  if ta ~= c.agent and not agent_take(ta, c.channel) then return {6} end
end
local from, fromq = c.agent, c.queue
if c.state == 'waiting' then
  unqueue(c)
else
  redis.call('ZREM', KOFFERS, id)
  release(c, from)
end
local prio = num(redis.call('HGET', KEYS[2], 'prio')) - num((qcfg(fromq) or {}).prio) + num(qc.prio)
c.score = score_of(prio, num(c.enq))
c.queue, c.ovfq, c.state, c.agent, c.decl_agent, c.decl_until = tq, '', 'waiting', '', '', ''
redis.call('HSET', KEYS[2], 'state', 'waiting', 'queue', tq, 'agent', '', 'ovfq', '', 'prio', itoa(prio),
  'score', c.score, 'decl_agent', '', 'decl_until', '', 'deadline', '')
redis.call('ZREM', KOVFDUE, id)
if (qc.ovf or '') ~= '' then redis.call('ZADD', KOVFDUE, num(c.enq) + num(qc.ovf_after), id) end
emit('transferred', {'conv', id, 'queue', tq, 'channel', c.channel, 'agent', ta,
  'from_queue', fromq, 'from_agent', from, 'prio', itoa(prio), 'enq', c.enq})
local n = 0
if ta ~= '' then
  offer(c, ta, 'transfer')
  n = 1
else
  enqueue_at(c)
  n = serve_conv(id)
end
if from ~= '' and from ~= ta then n = serve_agent(from, n) end
return {0, n}
