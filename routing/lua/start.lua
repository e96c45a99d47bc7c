-- start.lua: an agent starts a conversation to a customer (proactive
-- outbound). The conversation is active with that agent at once, holding a
-- slot of the agent's capacity like an accepted offer; it never waits in a
-- queue, so it adds no wait sample, and its handle time counts from now.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the conversation hash
-- ARGV[4] conversation id   ARGV[5] queue   ARGV[6] channel
-- ARGV[7] customer id       ARGV[8] agent id
-- Returns {0} | {4} queue not configured | {5} conversation already live
--   (started already by this agent: {0}, so a retry is safe)
--   | {6} the agent has no free capacity on the channel (or is on a call)
--   | {8} no such agent
local id, q, ch, cust, aid = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if not qcfg(q) then return {4} end
local st = redis.call('HGET', KEYS[2], 'state')
if st and st ~= 'closed' and st ~= 'abandoned' then
  if redis.call('HGET', KEYS[2], 'agent') == aid and redis.call('HGET', KEYS[2], 'started') == '1' then return {0} end
  return {5}
end
if redis.call('EXISTS', kagent(aid)) == 0 then return {8} end
local a = agent_get(aid)
-- The agent's own choice to reach out does not need them to be available
-- for offers, only room: capacity per channel, and voice taking them whole.
if num(a['load:' .. ch]) >= num(a['cap:' .. ch]) then return {6} end
if ch ~= EXCLUSIVE and a.excl == '1' and num(a['load:' .. EXCLUSIVE]) > 0 then return {6} end
if st then redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[2], 'state', 'active', 'queue', q, 'channel', ch, 'customer', cust,
  'agent', aid, 'prio', '0', 'skills', '', 'enq', itoa(NOW), 'score', score_of(0, NOW),
  'created_at', itoa(NOW), 'offered_at', itoa(NOW), 'accepted_at', itoa(NOW), 'started', '1')
agent_hset(aid, {'load:' .. ch, num(a['load:' .. ch]) + 1})
redis.call('SADD', kaconvs(aid), id)
refresh(aid)
emit('started', {'conv', id, 'agent', aid, 'queue', q, 'channel', ch, 'customer', cust})
return {0}
