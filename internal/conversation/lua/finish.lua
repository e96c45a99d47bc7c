-- finish.lua: record the outcome of one send attempt.
--
-- KEYS[1] outbox zset   KEYS[2] message hash
-- ARGV[1] prefix "sb:{ws}:"   ARGV[2] now (ms)   ARGV[3] attempt that finished
-- ARGV[4] outcome: "sent", "later" (busy: put off unsent), "retry" or "failed"
-- ARGV[5] next attempt (ms, later and retry only)
-- ARGV[6] provider id (sent)   ARGV[7] status word   ARGV[8] status rank
-- ARGV[9] error code   ARGV[10] error text   ARGV[11] provider-id ttl (s)
-- ARGV[12] early-status key prefix "sb:{ws}:early:<channel>:" (a delivery
--          callback that arrived before this success is applied here)
-- ARGV[13] cap of the event stream sb:{ws}:convevents (derived): a send
--          writes message.sent (and message.delivery_status for an early
--          status applied here), a final failure message.delivery_status
-- ARGV[14] the attempt, counting only claims the provider tried (not those
--          put off as busy), for the transcript and the events
-- ARGV[15] "1": the channel's customers answer a message by naming it
--          (email's In-Reply-To), so the provider id finds the conversation
--          for the provider-id ttl (thread:<channel>:<provider id>)
--
-- A retry or failure from an attempt that is no longer the latest (its lease
-- lapsed and another process claimed the message) is ignored: the newer
-- attempt decides. A success is always recorded: the message did go out.
--
-- Returns {code, stream id, conversation id, reply entry id, entry
-- fields...}: 0 recorded (the fields are those of the last transcript entry
-- written; the reply entry id is the reply's own transcript entry, which
-- consoles know it by), 1 no such message, 3 ignored (stale attempt or
-- already final), 4 put off (later).
--
-- "later" is a send the provider turned away unsent because it was busy:
-- the message goes back into the outbox with the claim counted as a
-- deferral, not an attempt, and nothing is written to the transcript or
-- the event stream, since nothing happened that anyone needs to see.
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local mk = KEYS[2]
local f = redis.call('HMGET', mk, 'attempts', 'conv', 'channel', 'status', 'id', 'agent', 'entry_id')
if not f[1] then return {1, '', ''} end
local outcome = ARGV[4]
local final = f[4] == 'failed' or (redis.call('HGET', mk, 'sent_at') or '') ~= ''
if outcome ~= 'sent' and (tonumber(f[1]) ~= tonumber(ARGV[3]) or final) then
  return {3, '', f[2]}
end
local p, now, id, conv, ch = ARGV[1], ARGV[2], f[5], f[2], f[3]
local tries = ARGV[14]
local function event(typ, status, pid, code, text)
  redis.call('XADD', p .. 'convevents', 'MAXLEN', '~', ARGV[13], '*', 'type', typ, 'conv', conv,
    'channel', ch, 'msg', id, 'entry', f[7] or '', 'agent', f[6] or '', 'provider_id', pid,
    'status', status, 'error_code', code, 'error_text', text, 'attempt', tries, 'at', now)
end

-- advance lets the conversation's next waiting reply into the outbox once
-- this one is done (sent or failed for good); see reply.lua.
local function advance()
  local ck = p .. 'conv:' .. conv
  if redis.call('HGET', ck, 'outbox_head') ~= id then return end
  local nxt = redis.call('LPOP', ck .. ':outq')
  if nxt then
    redis.call('HSET', ck, 'outbox_head', nxt)
    redis.call('ZADD', KEYS[1], now, nxt)
  else
    redis.call('HDEL', ck, 'outbox_head')
  end
end
if outcome == 'later' then
  redis.call('ZADD', KEYS[1], ARGV[5], id)
  redis.call('HINCRBY', mk, 'deferrals', 1)
  redis.call('HSETNX', mk, 'busy_since', now)
  redis.call('HSET', mk, 'status', 'pending', 'error_code', '', 'error_text', ARGV[10], 'next_attempt_at', ARGV[5])
  return {4, '', conv}
end
local entry = {'type', 'status', 'id', id, 'at', now, 'attempt', tries}
if outcome == 'sent' then
  redis.call('ZREM', KEYS[1], id)
  if final then
    -- Recorded already by an earlier success: keep the first provider id.
    advance()
    return {3, '', conv}
  end
  redis.call('HSET', mk, 'status', ARGV[7], 'status_rank', ARGV[8], 'sent_at', now,
    'provider_id', ARGV[6], 'error_code', '', 'error_text', '')
  if ARGV[6] ~= '' then
    redis.call('SET', p .. 'provmsg:' .. ch .. ':' .. ARGV[6], id, 'EX', ARGV[11])
    if ARGV[15] == '1' then
      -- The customer's answer to this message (In-Reply-To) finds the conversation.
      redis.call('SET', p .. 'thread:' .. ch .. ':' .. ARGV[6], conv, 'EX', ARGV[11])
    end
    table.insert(entry, 'provider_id'); table.insert(entry, ARGV[6])
  end
  table.insert(entry, 'status'); table.insert(entry, ARGV[7])
  event('message.sent', ARGV[7], ARGV[6], '', '')
  if ARGV[6] ~= '' then
    local early = redis.call('GET', ARGV[12] .. ARGV[6])
    if early then
      redis.call('DEL', ARGV[12] .. ARGV[6])
      local rank, st, at, code, text = string.match(early, '^(%d+)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
      if rank and tonumber(rank) > tonumber(ARGV[8]) then
        -- The send's own entry first, then the status that overtook it.
        redis.call('XADD', p .. 'conv:' .. conv .. ':log', '*', unpack(entry))
        redis.call('HSET', mk, 'status', st, 'status_rank', rank, 'status_at', at,
          'error_code', code, 'error_text', text)
        entry = {'type', 'status', 'id', id, 'at', now, 'status', st}
        event('message.delivery_status', st, ARGV[6], code, text)
        if code ~= '' or text ~= '' then
          table.insert(entry, 'error_code'); table.insert(entry, code)
          table.insert(entry, 'error_text'); table.insert(entry, text)
        end
      end
    end
  end
elseif outcome == 'retry' then
  redis.call('ZADD', KEYS[1], ARGV[5], id)
  redis.call('HSET', mk, 'status', 'retrying', 'error_code', ARGV[9], 'error_text', ARGV[10],
    'next_attempt_at', ARGV[5])
  table.insert(entry, 'status'); table.insert(entry, 'retrying')
  table.insert(entry, 'error_text'); table.insert(entry, ARGV[10])
else
  redis.call('ZREM', KEYS[1], id)
  redis.call('HSET', mk, 'status', 'failed', 'status_rank', '9', 'failed_at', now,
    'error_code', ARGV[9], 'error_text', ARGV[10])
  table.insert(entry, 'status'); table.insert(entry, 'failed')
  event('message.delivery_status', 'failed', '', ARGV[9], ARGV[10])
  if ARGV[9] ~= '' then table.insert(entry, 'error_code'); table.insert(entry, ARGV[9]) end
  table.insert(entry, 'error_text'); table.insert(entry, ARGV[10])
end
local sid = redis.call('XADD', p .. 'conv:' .. conv .. ':log', '*', unpack(entry))
if outcome ~= 'retry' then advance() end
return {0, sid, conv, redis.call('HGET', mk, 'entry_id') or '', unpack(entry)}
