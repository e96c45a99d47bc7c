-- enqueue.lua: put a new conversation in its queue and try to offer it at once.
-- KEYS[1]  events stream (see lib.lua)    KEYS[2]  the conversation hash
-- ARGV[4]  conversation id                ARGV[5]  queue
-- ARGV[6]  channel                        ARGV[7]  customer id
-- ARGV[8]  priority, boosts included (the queue's own priority is added here)
-- ARGV[9]  required skills "a,b" (request and queue merged)
-- ARGV[10] enqueue time, unix ms (kept for ordering through requeues and transfers)
-- ARGV[11] customer's last agent or ""     ARGV[12] when that agent last served, unix ms
-- ARGV[13] a skill preferred among agents after the last agent, or ""
-- Returns {0, offers made} | {4} queue not configured | {5} conversation already live
local id, q, ch = ARGV[4], ARGV[5], ARGV[6]
local qc = qcfg(q)
if not qc then return {4} end
local st = redis.call('HGET', KEYS[2], 'state')
if st and st ~= 'closed' and st ~= 'abandoned' then return {5} end
if st then
  -- A finished conversation coming back (the customer wrote again): start afresh.
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KOVFDUE, id)
end
local prio = num(ARGV[8]) + num(qc.prio)
local enq = num(ARGV[10])
local score = score_of(prio, enq)
redis.call('HSET', KEYS[2], 'state', 'waiting', 'queue', q, 'channel', ch, 'customer', ARGV[7],
  'prio', itoa(prio), 'skills', ARGV[9], 'enq', itoa(enq), 'score', score,
  'last_agent', ARGV[11], 'last_served', ARGV[12], 'pref', ARGV[13] or '', 'created_at', itoa(NOW))
redis.call('ZADD', kq(q, ch), score, id)
if (qc.ovf or '') ~= '' then redis.call('ZADD', KOVFDUE, enq + num(qc.ovf_after), id) end
emit('enqueued', {'conv', id, 'queue', q, 'channel', ch, 'prio', itoa(prio), 'enq', itoa(enq),
  'customer', ARGV[7], 'skills', ARGV[9]})
-- The conversation as conv_get would read it, to spare the read.
local c = {id = id, state = 'waiting', queue = q, channel = ch, skills = ARGV[9], score = score,
  enq = itoa(enq), agent = '', last_agent = ARGV[11], last_served = ARGV[12], decl_agent = '',
  decl_until = '', ovfq = '', customer = ARGV[7], prio = itoa(prio), accepted_at = '', pref = ARGV[13] or '',
  est_low = '', est_high = '', deadline = ''}
return {0, serve_conv(id, c)}
