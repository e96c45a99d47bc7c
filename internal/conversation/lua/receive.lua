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
--
-- Returns {status, conv, msg, cust, stream id, returning, routed, vip,
--          last agent, last agent at (ms)}
--   status "dup": the provider id was seen; conv/msg/cust are the stored ones,
--                 stream id is empty, routed says whether routing has it.
--   status "new": a conversation was opened (and must be enqueued).
--   status "join": the message joined an open conversation.
local p = ARGV[1]
local ch, from, to, pid, hint, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[8]

-- Follow merges: a merged customer keeps merged_into pointing at the winner.
local function resolve(id)
  for _ = 1, 32 do
    local m = redis.call('HGET', p .. 'cust:' .. id, 'merged_into')
    if not m or m == '' then return id end
    id = m
  end
  return id
end

if pid ~= '' then
  local seen = redis.call('GET', KEYS[1])
  if seen then
    local conv, msg, cust = string.match(seen, '^([^|]*)|([^|]*)|([^|]*)$')
    local routed = redis.call('HGET', p .. 'conv:' .. conv, 'routed') or '1'
    return {'dup', conv, msg, resolve(cust), '', '0', routed, '0', '', ''}
  end
end

local cust = redis.call('GET', KEYS[2])
if cust then
  cust = resolve(cust)
  if ARGV[13] ~= '' and (redis.call('HGET', p .. 'cust:' .. cust, 'name') or '') == '' then
    redis.call('HSET', p .. 'cust:' .. cust, 'name', ARGV[13])
  end
else
  cust = ARGV[10]
  redis.call('HSET', p .. 'cust:' .. cust, 'id', cust, 'name', ARGV[13], 'created_at', now)
  redis.call('SADD', p .. 'cust:' .. cust .. ':idents', ARGV[7] .. ':' .. from)
  redis.call('SET', KEYS[2], cust)
end

-- usable: the conversation exists, is still open and belongs to this customer.
local function usable(conv)
  if not conv then return false end
  local f = redis.call('HMGET', p .. 'conv:' .. conv, 'state', 'customer', 'channel')
  if not f[1] or f[1] == 'closed' or f[1] == 'abandoned' then return false end
  if f[3] ~= ch then return false end
  return resolve(f[2]) == cust
end

local conv = nil
if hint ~= '' then
  local c = redis.call('GET', p .. 'thread:' .. ch .. ':' .. hint)
  if usable(c) then conv = c end
end
if not conv and (hint == '' or ARGV[17] ~= '1') then
  local c = redis.call('GET', p .. 'open:' .. cust .. ':' .. ch)
  if usable(c) then conv = c end
end

local status = 'join'
local returning = '0'
local routed = '1'
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
  if hint ~= '' then
    redis.call('SET', p .. 'thread:' .. ch .. ':' .. hint, conv, 'EX', ARGV[18])
  end
else
  returning = redis.call('HGET', p .. 'conv:' .. conv, 'returning') or '0'
  routed = redis.call('HGET', p .. 'conv:' .. conv, 'routed') or '1'
end

local ck = p .. 'conv:' .. conv
local fields = {'type', 'customer', 'id', ARGV[11], 'author', cust, 'channel', ch, 'at', now}
if ARGV[14] ~= '' then table.insert(fields, 'text'); table.insert(fields, ARGV[14]) end
if ARGV[15] ~= '' then table.insert(fields, 'attachments'); table.insert(fields, ARGV[15]) end
if pid ~= '' then table.insert(fields, 'provider_id'); table.insert(fields, pid) end
local sid = redis.call('XADD', ck .. ':log', '*', unpack(fields))

redis.call('HINCRBY', ck, 'message_count', 1)
redis.call('HSET', ck, 'last_message_at', now, 'updated_at', now)
if pid ~= '' then
  redis.call('HSET', ck, 'last_inbound_provider_id', pid)
  -- A later In-Reply-To naming this message finds the conversation.
  redis.call('SET', p .. 'thread:' .. ch .. ':' .. pid, conv, 'EX', ARGV[18])
  redis.call('SET', KEYS[1], conv .. '|' .. ARGV[11] .. '|' .. cust, 'EX', ARGV[16])
end
-- What routing needs about the customer, saving the caller a round trip.
local cf = redis.call('HMGET', p .. 'cust:' .. cust, 'last_agent', 'last_agent_at')
local vip = tostring(redis.call('SISMEMBER', p .. 'cust:' .. cust .. ':tags', ARGV[20]))
return {status, conv, ARGV[11], cust, sid, returning, routed, vip, cf[1] or '', cf[2] or ''}
