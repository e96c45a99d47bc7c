-- enqueue.lua: queue one event for one endpoint, in its place among the
-- waiting events of the same ordering key.
-- KEYS[1] delivery hash   sb:{ws}:wh:d:<ep>:<event id>
-- KEYS[2] ordering list   sb:{ws}:wh:o:<ep>:<key>
-- KEYS[3] due zset        sb:{ws}:wh:due
-- ARGV[1] member "<ep>|<event id>"   ARGV[2] event id   ARGV[3] now (ms)
-- ARGV[4] TTL of the delivery hash (s)
-- ARGV[5] "replay" to queue an event again that was finished, else ""
-- ARGV[6] hold (ms): a new head of the list is due this much later, so an
--         earlier event of the key that another gateway is still fanning
--         out can take its place first
-- ARGV[7] key prefix "sb:{ws}:wh:"   ARGV[8] endpoint id
-- ARGV[9..] field/value pairs of the delivery hash
--
-- Place: event ids carry the stream id they came from ("evt_<ms>-<seq>…");
-- the list stays sorted by it, so two gateways fanning out consecutive
-- events of one conversation at once still queue them in order. The head
-- is never passed while a gateway holds its lease (it is being sent).
-- Ids without a stream id (pings) go to the end.
-- Returns 1 queued, 0 already known (a second fan-out after a crash),
-- 2 still queued (a replay of an event not yet finished).
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[7] .. 'slot-probe')
local d, o, due = KEYS[1], KEYS[2], KEYS[3]
local exists = redis.call('EXISTS', d) == 1
if exists then
  if ARGV[5] ~= 'replay' then return 0 end
  if redis.call('LPOS', o, ARGV[2]) then return 2 end
end
for i = 9, #ARGV, 2 do redis.call('HSET', d, ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', d, ARGV[4])

-- seq returns the stream id of an event id as two numbers, or nil.
local function seq(id)
  local ms, n = string.match(id, '(%d+)%-(%d+)')
  if not ms then return nil end
  return tonumber(ms), tonumber(n)
end
-- after: is event a strictly later than b? Unknown ids are latest.
local function after(a, b)
  local am, an = seq(a)
  local bm, bn = seq(b)
  if not am then return bm ~= nil end
  if not bm then return false end
  return am > bm or (am == bm and an > bn)
end

local id, now = ARGV[2], tonumber(ARGV[3])
local tail = redis.call('LINDEX', o, -1)
if not tail then
  redis.call('RPUSH', o, id)
  redis.call('ZADD', due, now + tonumber(ARGV[6]), ARGV[1])
elseif not after(tail, id) then
  redis.call('RPUSH', o, id)
else
  -- Rare: a later event of the key was queued first. Find the first
  -- waiting event later than this one and go before it.
  local items = redis.call('LRANGE', o, 0, -1)
  local headLeased = (redis.call('HGET', ARGV[7] .. 'd:' .. ARGV[8] .. ':' .. items[1], 'lease') or '') ~= ''
  local placed = false
  for i, other in ipairs(items) do
    if after(other, id) and (i > 1 or not headLeased) then
      redis.call('LINSERT', o, 'BEFORE', other, id)
      if i == 1 then
        -- The new head takes the old one's turn.
        local old = ARGV[8] .. '|' .. other
        local score = redis.call('ZSCORE', due, old) or (now + tonumber(ARGV[6]))
        redis.call('ZREM', due, old)
        redis.call('ZADD', due, score, ARGV[1])
      end
      placed = true
      break
    end
  end
  if not placed then redis.call('RPUSH', o, id) end
end
redis.call('EXPIRE', o, ARGV[4])
return 1
