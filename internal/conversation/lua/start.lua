-- start.lua: store a conversation an agent started to a customer, with the
-- agent's first message written and queued in the outbox, all or nothing
-- (as reply.lua does for later replies). Routing already holds the
-- conversation for the agent (Router Start), so it is active and routed.
--
-- KEYS[1] ident key   sb:{ws}:ident:<kind>:<address>
-- KEYS[2] conversation hash   KEYS[3] transcript stream
-- KEYS[4] message hash        KEYS[5] outbox zset
-- Other keys are derived from the prefix and share its hash tag.
--
-- ARGV[1] prefix "sb:{ws}:"   ARGV[2] channel   ARGV[3] customer address
-- ARGV[4] identity kind       ARGV[5] customer id to create when the address
--                                     is unknown
-- ARGV[6] our address         ARGV[7] queue     ARGV[8] agent id
-- ARGV[9] conversation id     ARGV[10] message id
-- ARGV[11] text               ARGV[12] subject (may be empty)
-- ARGV[13] now (ms)           ARGV[14] system line text
-- ARGV[15] cap of the event stream sb:{ws}:convevents (derived): a new
--          customer is announced there (customer.created), then the
--          conversation (conversation.started: created, and held by the
--          agent); the message's message.sent follows when the outbox has
--          sent it
--
-- Returns {0, customer, system entry id, message entry id, returning}
--   | {3, open conversation id}: the customer has an open conversation on
--     this channel; nothing is written.
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local p, ch, addr, now = ARGV[1], ARGV[2], ARGV[3], ARGV[13]
local conv, msg, agent = ARGV[9], ARGV[10], ARGV[8]

local cust, created = customer_at(p, KEYS[1], ARGV[4], addr, ARGV[5], '', now, ch, conv, ARGV[15])
if not created then
  local open = redis.call('GET', p .. 'open:' .. cust .. ':' .. ch)
  if open then
    local st = redis.call('HGET', p .. 'conv:' .. open, 'state')
    if st and st ~= 'closed' and st ~= 'abandoned' then return {3, open} end
  end
end

local returning = '0'
if redis.call('ZCARD', p .. 'cust:' .. cust .. ':convs') > 0 then returning = '1' end
redis.call('HSET', KEYS[2],
  'id', conv, 'channel', ch, 'customer', cust, 'customer_address', addr,
  'our_address', ARGV[6], 'queue', ARGV[7], 'state', 'active', 'agent', agent,
  'thread_hint', '', 'skills', '', 'created_at', now, 'enqueued_at', now,
  'answered_at', now, 'accepted_at', now, 'first_reply_at', now, 'routed', '1', 'returning', returning,
  'message_count', '1', 'started_by', agent, 'subject', ARGV[12],
  'last_message_at', now, 'updated_at', now, 'outbox_head', msg)
redis.call('SET', p .. 'open:' .. cust .. ':' .. ch, conv)
redis.call('ZADD', p .. 'cust:' .. cust .. ':convs', now, conv)
redis.call('ZADD', p .. 'convs', now, conv)
redis.call('ZADD', p .. 'convs:agent:' .. agent, now, conv)
redis.call('HSET', p .. 'cust:' .. cust, 'last_agent', agent, 'last_agent_at', now)

local sys = redis.call('XADD', KEYS[3], '*', 'type', 'system', 'event', 'started',
  'agent', agent, 'at', now, 'text', ARGV[14])
redis.call('HSET', KEYS[4], 'id', msg, 'conv', conv, 'channel', ch,
  'from', ARGV[6], 'to', addr, 'text', ARGV[11], 'attachments', '', 'subject', ARGV[12],
  'thread_hint', '', 'agent', agent, 'status', 'pending', 'status_rank', '0',
  'attempts', '0', 'created_at', now)
redis.call('ZADD', KEYS[5], now, msg)
local sid = redis.call('XADD', KEYS[3], '*', 'type', 'agent', 'id', msg, 'author', agent,
  'at', now, 'text', ARGV[11], 'status', 'pending')
redis.call('HSET', KEYS[4], 'entry_id', sid)
-- Announced here, with the record, and not by routing's start: routing
-- holds the conversation before this script runs, and lets it go again
-- when this script refuses (or never runs), so only a stored start is one.
redis.call('XADD', p .. 'convevents', 'MAXLEN', '~', ARGV[15], '*', 'type', 'conversation.started',
  'conv', conv, 'cust', cust, 'channel', ch, 'agent', agent, 'queue', ARGV[7], 'at', now)
return {0, cust, sys, sid, returning}
