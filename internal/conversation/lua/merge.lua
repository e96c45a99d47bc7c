-- merge.lua: merge customer ARGV[3] (the loser) into ARGV[2] (the winner).
-- Both histories are kept: the loser's identities, tags, conversations and
-- open-conversation slots move to the winner, and the loser's record stays
-- with merged_into set, so ids handed out earlier still resolve.
--
-- KEYS[1] winner hash  sb:{ws}:cust:<winner>
-- KEYS[2] loser hash   sb:{ws}:cust:<loser>
-- ARGV[1] prefix "sb:{ws}:"   ARGV[2] winner id   ARGV[3] loser id   ARGV[4] now (ms)
-- ARGV[5] cap of the event stream sb:{ws}:convevents (derived), which
--         gets customer.merged
-- ARGV[6..] channel names (for the open-conversation slots)
--
-- Returns 0 merged, 1 a customer does not exist, 2 one of them was merged
-- already, 4 both are the same customer.
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local p, w, l = ARGV[1], ARGV[2], ARGV[3]
if w == l then return 4 end
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return 1 end
if (redis.call('HGET', KEYS[1], 'merged_into') or '') ~= '' or
   (redis.call('HGET', KEYS[2], 'merged_into') or '') ~= '' then return 2 end

local wk, lk = p .. 'cust:' .. w, p .. 'cust:' .. l
for _, ident in ipairs(redis.call('SMEMBERS', lk .. ':idents')) do
  redis.call('SET', p .. 'ident:' .. ident, w)
end
redis.call('SUNIONSTORE', wk .. ':idents', wk .. ':idents', lk .. ':idents')
redis.call('SUNIONSTORE', wk .. ':tags', wk .. ':tags', lk .. ':tags')
local convs = redis.call('ZRANGE', lk .. ':convs', 0, -1, 'WITHSCORES')
for j = 1, #convs, 2 do
  redis.call('ZADD', wk .. ':convs', convs[j + 1], convs[j])
  redis.call('HSET', p .. 'conv:' .. convs[j], 'customer', w, 'updated_at', ARGV[4])
end
for j = 6, #ARGV do
  local lslot, wslot = p .. 'open:' .. l .. ':' .. ARGV[j], p .. 'open:' .. w .. ':' .. ARGV[j]
  local c = redis.call('GET', lslot)
  if c then
    -- The winner's open conversation on that channel stays the one new
    -- messages join; the loser's stays open until an agent closes it.
    if redis.call('EXISTS', wslot) == 0 then redis.call('SET', wslot, c) end
    redis.call('DEL', lslot)
  end
end

local wf = redis.call('HMGET', KEYS[1], 'name', 'notes', 'last_agent_at')
local lf = redis.call('HMGET', KEYS[2], 'name', 'notes', 'last_agent', 'last_agent_at')
if (wf[1] or '') == '' and (lf[1] or '') ~= '' then redis.call('HSET', KEYS[1], 'name', lf[1]) end
if (lf[2] or '') ~= '' then
  if (wf[2] or '') == '' then
    redis.call('HSET', KEYS[1], 'notes', lf[2])
  else
    redis.call('HSET', KEYS[1], 'notes', wf[2] .. '\n\n' .. lf[2])
  end
end
if (lf[3] or '') ~= '' and tonumber(lf[4] or '0') > tonumber(wf[3] or '0') then
  redis.call('HSET', KEYS[1], 'last_agent', lf[3], 'last_agent_at', lf[4])
end
redis.call('DEL', lk .. ':idents', lk .. ':tags', lk .. ':convs')
redis.call('HSET', KEYS[2], 'merged_into', w, 'merged_at', ARGV[4])
redis.call('XADD', p .. 'convevents', 'MAXLEN', '~', ARGV[5], '*', 'type', 'customer.merged',
  'cust', w, 'merged', l, 'at', ARGV[4])
return 0
