-- delivery.lua: land a provider's delivery status on the message it names.
--
-- KEYS[1] provider id → message id   sb:{ws}:provmsg:<channel>:<provider id>
-- ARGV[1] prefix "sb:{ws}:"   ARGV[2] now (ms)   ARGV[3] status word
-- ARGV[4] status rank   ARGV[5] error code   ARGV[6] error text   ARGV[7] status time (ms)
--
-- Statuses only move forward (queued < sending < sent < delivered < read,
-- failed/undelivered last): providers deliver callbacks out of order, and a
-- late "sent" must not hide an earlier "delivered".
--
-- KEYS[2] early status  sb:{ws}:early:<channel>:<provider id>
-- ARGV[8] early-status ttl (s)
-- ARGV[9] cap of the event stream sb:{ws}:convevents (derived), which gets
--         message.delivery_status for every status recorded
--
-- A callback can beat finish.lua, which records the provider id right after
-- the provider answered: an unknown provider id's status is kept in KEYS[2]
-- for ARGV[8] seconds and finish.lua applies it.
--
-- Returns {code, stream id, conversation id, message id, reply entry id
-- (the reply's own transcript entry, which consoles know it by)}: 0 recorded,
-- 1 unknown provider id (kept as early status), 3 ignored (not newer than
-- what is recorded).
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local id = redis.call('GET', KEYS[1])
if not id then
  local prev = redis.call('GET', KEYS[2])
  local prank = prev and tonumber(string.match(prev, '^(%d+)|')) or -1
  if tonumber(ARGV[4]) > prank then
    redis.call('SET', KEYS[2], ARGV[4] .. '|' .. ARGV[3] .. '|' .. ARGV[7] .. '|' .. ARGV[5] .. '|' .. ARGV[6], 'EX', ARGV[8])
  end
  return {1, '', '', ''}
end
local mk = ARGV[1] .. 'msg:' .. id
local f = redis.call('HMGET', mk, 'conv', 'status_rank', 'channel', 'agent', 'provider_id', 'entry_id')
if not f[1] then return {1, '', '', ''} end
if tonumber(ARGV[4]) <= tonumber(f[2] or '0') then return {3, '', f[1], id} end
redis.call('HSET', mk, 'status', ARGV[3], 'status_rank', ARGV[4], 'status_at', ARGV[7])
local entry = {'type', 'status', 'id', id, 'at', ARGV[2], 'status', ARGV[3]}
if ARGV[5] ~= '' or ARGV[6] ~= '' then
  redis.call('HSET', mk, 'error_code', ARGV[5], 'error_text', ARGV[6])
  table.insert(entry, 'error_code'); table.insert(entry, ARGV[5])
  table.insert(entry, 'error_text'); table.insert(entry, ARGV[6])
end
local sid = redis.call('XADD', ARGV[1] .. 'conv:' .. f[1] .. ':log', '*', unpack(entry))
redis.call('XADD', ARGV[1] .. 'convevents', 'MAXLEN', '~', ARGV[9], '*', 'type', 'message.delivery_status',
  'conv', f[1], 'channel', f[3] or '', 'msg', id, 'entry', f[6] or '', 'agent', f[4] or '',
  'provider_id', f[5] or '', 'status', ARGV[3], 'error_code', ARGV[5], 'error_text', ARGV[6], 'at', ARGV[7])
return {0, sid, f[1], id, f[6] or ''}
