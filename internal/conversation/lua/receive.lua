-- receive.lua: store one inbound message, all or nothing.
--
-- KEYS[1] dedup key   sb:{ws}:dedup:<channel>:<provider id> (ignored when ARGV[5] is empty)
-- KEYS[2] ident key   sb:{ws}:ident:<kind>:<address>
-- KEYS[3] unrouted    sb:{ws}:unrouted
-- Other keys are derived from the prefix and share its hash tag.
--
-- ARGV[1]  prefix "sb:{ws}:"
-- ARGV[2]  channel            ARGV[3]  customer address   ARGV[4]  our address
-- ARGV[5]  provider id        ARGV[6]  thread hint
-- ARGV[7]  identity kind (phone, email, chat)             ARGV[8]  now (ms)
-- ARGV[9]  new conversation id (used only if one is opened)
-- ARGV[10] new customer id (used only if the address is unknown)
-- ARGV[11] message id         ARGV[12] queue              ARGV[13] display name
-- ARGV[14] text               ARGV[15] attachments (JSON, may be empty)
-- ARGV[16] dedup ttl (s)      ARGV[17] "1": a thread hint that matches nothing opens
--                                      a new conversation (voice: every call is its own)
-- ARGV[18] thread ttl (s)     ARGV[19] skills (comma separated)
-- ARGV[20] the VIP tag
-- ARGV[21] "1": a thread hint naming a closed conversation of this customer
--          reopens it (email: a reply days later belongs to its thread)
-- ARGV[22] cap of the event stream sb:{ws}:convevents (derived), which gets
--          message.received, and customer.created / customer.updated when
--          the customer is new or gave a name first
-- ARGV[23] "1": the channel's customers answer a message by naming it
--          (email's In-Reply-To): the message's provider id finds the
--          conversation for the thread ttl. Other channels keep no key per
--          message (thread:<channel>:<provider id>), which would only fill
--          Redis for the thread ttl
--
-- The thread hint is a list of keys separated by spaces, most telling first
-- (email: In-Reply-To, the reply-address key, then References newest first).
-- Each key is looked up as thread:<channel>:<key>; a key "conv:<id>" names a
-- conversation directly (the per-conversation reply address). Either way the
-- conversation must belong to this customer, so a key never threads another
-- customer's mail. A conversation opened with a hint claims the keys nobody
-- claimed yet (SET NX): a stranger quoting someone's Message-ID cannot take
-- that thread over.
--
-- Returns {status, conv, msg, cust, stream id, returning, routed, vip,
--          last agent, last agent at (ms), name, parked once, opted out,
--          n, identity... (n of them), tag...}: the customer's name and
--          identities name them on the console (identities only when
--          the customer has no name); their tags are for routing's rules
--          that depend on them (only with "new" and "reopen", the
--          statuses that route); vip likewise; parked once is "1" when a
--          pending promise parked the conversation at some time (field
--          parked_once), so a promise may wait for this message; opted
--          out is "1" when the customer opted out of this channel (key
--          optout:<channel>:<address>, see keys.go), so the channel's
--          acknowledgement need not look it up. "dup" stops after last
--          agent at.
--   status "dup": the provider id was seen; conv/msg/cust are the stored ones,
--                 stream id is empty, routed says whether routing has it.
--   status "new": a conversation was opened (and must be enqueued).
--   status "join": the message joined an open conversation.
--   status "reopen": the message reopened a closed conversation (queued
--                 again, and must be enqueued like a new one).
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local p = ARGV[1]
local ch, from, to, pid, hint, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[8]
local function event(...)
  redis.call('XADD', p .. 'convevents', 'MAXLEN', '~', ARGV[22], '*', ...)
end

if pid ~= '' then
  local seen = redis.call('GET', KEYS[1])
  if seen then
    local conv, msg, cust = string.match(seen, '^([^|]*)|([^|]*)|([^|]*)$')
    local routed = redis.call('HGET', p .. 'conv:' .. conv, 'routed') or '1'
    return {'dup', conv, msg, resolve_customer(p, cust), '', '0', routed, '0', '', ''}
  end
end

local cust, created = customer_at(p, KEYS[2], ARGV[7], from, ARGV[10], ARGV[13], now, ch, ARGV[9], ARGV[22])
if not created and ARGV[13] ~= '' and (redis.call('HGET', p .. 'cust:' .. cust, 'name') or '') == '' then
  redis.call('HSET', p .. 'cust:' .. cust, 'name', ARGV[13])
  event('type', 'customer.updated', 'cust', cust, 'changes', 'name', 'at', now)
end

-- owned: the conversation exists, is on this channel and belongs to this
-- customer; returns its state.
local function owned(conv)
  if not conv then return nil end
  local f = redis.call('HMGET', p .. 'conv:' .. conv, 'state', 'customer', 'channel')
  if not f[1] or f[3] ~= ch then return nil end
  if resolve_customer(p, f[2]) ~= cust then return nil end
  return f[1]
end
local function finished(state) return state == 'closed' or state == 'abandoned' end
-- usable: owned and still open.
local function usable(conv)
  local st = owned(conv)
  return st ~= nil and not finished(st)
end

local tokens = {}
for tok in string.gmatch(hint, '%S+') do table.insert(tokens, tok) end

local conv = nil
local reopen = false
for _, tok in ipairs(tokens) do
  local c
  if string.sub(tok, 1, 5) == 'conv:' then
    c = string.sub(tok, 6)
  else
    c = redis.call('GET', p .. 'thread:' .. ch .. ':' .. tok)
  end
  local st = owned(c)
  if st and not finished(st) then conv = c; break end
  if st and ARGV[21] == '1' then conv = c; reopen = true; break end
end
if not conv and (hint == '' or ARGV[17] ~= '1') then
  local c = redis.call('GET', p .. 'open:' .. cust .. ':' .. ch)
  if usable(c) then conv = c end
end

local status = 'join'
local returning = '0'
local routed = '1'
local parked = '0'
if not conv then
  status = 'new'
  conv = ARGV[9]
  local earlier = redis.call('ZCARD', p .. 'cust:' .. cust .. ':convs')
  if earlier > 0 then returning = '1' end
  routed = '0'
  redis.call('HSET', p .. 'conv:' .. conv,
    'id', conv, 'channel', ch, 'customer', cust, 'customer_address', from,
    'our_address', to, 'queue', ARGV[12], 'state', 'queued', 'thread_hint', hint,
    'skills', ARGV[19], 'created_at', now, 'enqueued_at', now, 'routed', '0',
    'returning', returning, 'message_count', '0')
  redis.call('SET', p .. 'open:' .. cust .. ':' .. ch, conv)
  redis.call('ZADD', p .. 'cust:' .. cust .. ':convs', now, conv)
  redis.call('ZADD', p .. 'convs', now, conv)
  redis.call('ZADD', KEYS[3], now, conv)
  for _, tok in ipairs(tokens) do
    if string.sub(tok, 1, 5) ~= 'conv:' then
      redis.call('SET', p .. 'thread:' .. ch .. ':' .. tok, conv, 'EX', ARGV[18], 'NX')
    end
  end
elseif reopen then
  status = 'reopen'
  returning = '1'
  routed = '0'
  local ck = p .. 'conv:' .. conv
  redis.call('HSET', ck, 'state', 'queued', 'enqueued_at', now, 'routed', '0', 'returning', '1',
    'agent', '', 'accepted_at', '', 'closed_at', '', 'disposition', '', 'closed_from', '', 'reopened_at', now)
  redis.call('SET', p .. 'open:' .. cust .. ':' .. ch, conv)
  redis.call('ZADD', KEYS[3], now, conv)
  redis.call('XADD', ck .. ':log', '*', 'type', 'system', 'event', 'reopened', 'at', now,
    'text', 'reopened by a reply from the customer')
else
  local f = redis.call('HMGET', p .. 'conv:' .. conv, 'returning', 'routed', 'parked_once')
  returning, routed, parked = f[1] or '0', f[2] or '1', f[3] or '0'
end

local ck = p .. 'conv:' .. conv
local fields = {'type', 'customer', 'id', ARGV[11], 'author', cust, 'channel', ch, 'at', now}
if ARGV[14] ~= '' then table.insert(fields, 'text'); table.insert(fields, ARGV[14]) end
if ARGV[15] ~= '' then table.insert(fields, 'attachments'); table.insert(fields, ARGV[15]) end
if pid ~= '' then table.insert(fields, 'provider_id'); table.insert(fields, pid) end
local sid = redis.call('XADD', ck .. ':log', '*', unpack(fields))
local opened = '0'
if status == 'new' then opened = '1' end
event('type', 'message.received', 'conv', conv, 'cust', cust, 'channel', ch, 'msg', ARGV[11],
  'entry', sid, 'provider_id', pid, 'new', opened, 'at', now)

redis.call('HINCRBY', ck, 'message_count', 1)
if pid ~= '' then
  redis.call('HSET', ck, 'last_message_at', now, 'updated_at', now, 'last_inbound_provider_id', pid)
  if ARGV[23] == '1' then
    -- A later In-Reply-To naming this message finds the conversation.
    redis.call('SET', p .. 'thread:' .. ch .. ':' .. pid, conv, 'EX', ARGV[18])
  end
  redis.call('SET', KEYS[1], conv .. '|' .. ARGV[11] .. '|' .. cust, 'EX', ARGV[16])
else
  redis.call('HSET', ck, 'last_message_at', now, 'updated_at', now)
end
-- What routing needs about the customer, and what the console names them
-- by, saving the caller round trips.
local cf = redis.call('HMGET', p .. 'cust:' .. cust, 'last_agent', 'last_agent_at', 'name')
-- Only what the caller will use: tags when it routes the conversation (it
-- opened or reopened), identities when the customer has no name (a console
-- names them by an address then). Most messages join a conversation of a
-- named customer and need neither; every string a script reads costs
-- Redis more Lua time than the command itself.
local tags, idents = {}, {}
if status == 'new' or status == 'reopen' then
  tags = redis.call('SMEMBERS', p .. 'cust:' .. cust .. ':tags')
end
if (cf[3] or '') == '' then
  idents = redis.call('SMEMBERS', p .. 'cust:' .. cust .. ':idents')
end
local vip = '0'
for _, t in ipairs(tags) do
  if t == ARGV[20] then vip = '1' end
end
local out = {status, conv, ARGV[11], cust, sid, returning, routed, vip, cf[1] or '', cf[2] or '',
  cf[3] or '', parked, opted_out(p, ch, from), tostring(#idents)}
for _, v in ipairs(idents) do table.insert(out, v) end
for _, t in ipairs(tags) do table.insert(out, t) end
return out
