-- list.lua: one page of List, newest first by (creation time, id).
--
-- KEYS[1] the index to walk: sb:{ws}:convs, sb:{ws}:convs:agent:<id> or
--         sb:{ws}:cust:<id>:convs (all scored by creation time in ms)
--
-- ARGV[1] prefix "sb:{ws}:"
-- ARGV[2] cursor score ("+inf" to start)   ARGV[3] cursor id ("" to start)
-- ARGV[4] limit (matches to return)        ARGV[5] scan budget (entries to look at)
-- ARGV[6] states ",queued,active," or ""   ARGV[7] queue or ""
-- ARGV[8] channel or ""                    ARGV[9] agent or ""
-- ARGV[10] customer or ""                  ARGV[11] updated since (ms) or "0"
--
-- The position (score, id) of an entry never changes, so the cursor is a
-- place in a fixed order, not an offset: writes during paging move
-- nothing across it. Entries at the cursor's score sort by id (Redis orders
-- equal scores by member); in this reverse walk, those with an id >= the
-- cursor's were returned already.
--
-- Returns {next score, next id, id1, id2, ...}; next score "" means the
-- index is exhausted.
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local p = ARGV[1]
local cscore, cid = ARGV[2], ARGV[3]
local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5])
local states, queue, channel, agent, customer = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local since = tonumber(ARGV[11])

local out = {}
local scanned, offset, batch = 0, 0, 100
local last_score, last_id = nil, nil
local exhausted = false
while #out < limit and scanned < budget do
  local rows = redis.call('ZREVRANGEBYSCORE', KEYS[1], cscore, '-inf', 'WITHSCORES', 'LIMIT', offset, batch)
  if #rows == 0 then exhausted = true; break end
  offset = offset + #rows / 2
  for j = 1, #rows, 2 do
    local id, score = rows[j], rows[j + 1]
    if not (cid ~= '' and score == cscore and id >= cid) then
      scanned = scanned + 1
      last_score, last_id = score, id
      local f = redis.call('HMGET', p .. 'conv:' .. id, 'state', 'queue', 'channel', 'agent', 'customer', 'updated_at')
      if f[1] and
         (states == '' or string.find(states, ',' .. f[1] .. ',', 1, true)) and
         (queue == '' or f[2] == queue) and
         (channel == '' or f[3] == channel) and
         (agent == '' or f[4] == agent) and
         (customer == '' or f[5] == customer) and
         (since == 0 or tonumber(f[6] or '0') >= since) then
        table.insert(out, id)
        if #out >= limit then break end
      end
      if scanned >= budget then break end
    end
  end
  if #rows < 2 * batch and #out < limit and scanned < budget then exhausted = true; break end
end
if exhausted or not last_score then
  table.insert(out, 1, '')
  table.insert(out, 1, '')
  return out
end
table.insert(out, 1, last_id)
table.insert(out, 1, last_score)
return out
