-- reply.lua: append an agent reply or an internal note to the transcript;
-- a reply is also written as an outbound message and queued in the outbox,
-- in the same step, so a reply is never in the transcript without being
-- queued nor queued without being in the transcript.
--
-- KEYS[1] conversation hash  KEYS[2] transcript stream
-- KEYS[3] message hash       KEYS[4] outbox zset
-- (the conversation's waiting replies, list KEYS[1] .. ':outq' =
-- sb:{ws}:conv:<id>:outq, is derived and shares the hash tag)
--
-- ARGV[1] kind: "agent" (reply to the customer) or "note" (internal)
-- ARGV[2] message id   ARGV[3] agent id   ARGV[4] text
-- ARGV[5] attachments (JSON, may be empty)   ARGV[6] now (ms)
-- ARGV[7] lease deadline (ms), or "0": when the caller holds a free send
-- worker, a reply that enters the outbox is claimed for it at once, as
-- claim.lua would (leased, attempt 1), which saves the claim's round trip.
-- ARGV[8] prefix "sb:{ws}:", for the customer's opt-out key
--
-- Returns {code, stream id}: 0 ok, 1 no such conversation,
-- 2 conversation closed (replies only; notes may be added after close).
-- A reply claimed here returns {0, stream id, conversation id, channel,
-- from, to, thread hint, opted out}: what its send needs besides what the
-- caller wrote; opted out is "1" when the customer opted out of the channel
-- (optout:<channel>:<to>), as claim.lua reads it.
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', KEYS[1] .. ':' .. 'slot-probe')
local f = redis.call('HMGET', KEYS[1], 'state', 'channel', 'our_address',
  'customer_address', 'thread_hint', 'last_inbound_provider_id')
if not f[1] then return {1, ''} end
local kind, id, agent, text, att, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local entry = {'type', kind, 'id', id, 'author', agent, 'at', now}
local claimed
if text ~= '' then table.insert(entry, 'text'); table.insert(entry, text) end
if att ~= '' then table.insert(entry, 'attachments'); table.insert(entry, att) end

if kind == 'agent' then
  if f[1] == 'closed' or f[1] == 'abandoned' then return {2, ''} end
  local ch = f[2]
  -- Email answers the customer's last message (In-Reply-To); other channels
  -- keep the conversation's own thread (chat session, call).
  local thread = f[5] or ''
  if ch == 'email' and (f[6] or '') ~= '' then thread = f[6] end
  local conv = redis.call('HGET', KEYS[1], 'id')
  redis.call('HSET', KEYS[3], 'id', id, 'conv', conv, 'channel', ch,
    'from', f[3] or '', 'to', f[4] or '', 'text', text, 'attachments', att,
    'thread_hint', thread, 'agent', agent, 'status', 'pending', 'status_rank', '0',
    'attempts', '0', 'created_at', now)
  -- One reply per conversation is in the outbox at a time, so a customer
  -- gets replies in the order agents wrote them even when sends retry or
  -- run on several gateways; the others wait in the conversation's queue.
  if (redis.call('HGET', KEYS[1], 'outbox_head') or '') == '' then
    redis.call('HSET', KEYS[1], 'outbox_head', id)
    if ARGV[7] ~= '0' then
      redis.call('ZADD', KEYS[4], ARGV[7], id)
      redis.call('HSET', KEYS[3], 'attempts', '1', 'status', 'sending', 'claimed_at', now)
      claimed = {conv, ch, f[3] or '', f[4] or '', thread, opted_out(ARGV[8], ch, f[4])}
    else
      redis.call('ZADD', KEYS[4], now, id)
    end
  else
    redis.call('RPUSH', KEYS[1] .. ':outq', id)
  end
  if (redis.call('HGET', KEYS[1], 'first_reply_at') or '') == '' then
    redis.call('HSET', KEYS[1], 'first_reply_at', now)
  end
  table.insert(entry, 'status'); table.insert(entry, 'pending')
end
redis.call('HSET', KEYS[1], 'last_message_at', now, 'updated_at', now)
redis.call('HINCRBY', KEYS[1], 'message_count', 1)
local sid = redis.call('XADD', KEYS[2], '*', unpack(entry))
-- The reply's transcript position, so status updates can name the entry
-- consoles know it by.
if kind == 'agent' then redis.call('HSET', KEYS[3], 'entry_id', sid) end
if claimed then return {0, sid, unpack(claimed)} end
return {0, sid}
