-- update.lua: change a conversation record and append a system event to its
-- transcript in one step. Used for everything routing reports (offered,
-- accepted, transferred, closed, abandoned) and for routing hand-off.
--
-- KEYS[1] conversation hash  sb:{ws}:conv:<id>
-- KEYS[2] transcript stream  sb:{ws}:conv:<id>:log
-- KEYS[3] unrouted zset      sb:{ws}:unrouted
--
-- ARGV[1] prefix "sb:{ws}:"
-- ARGV[2] conversation id
-- ARGV[3] flags, any of:
--           o  refuse when the conversation is closed or abandoned (code 2)
--           c  this closes the conversation: no-op (code 3) when already
--              closed, else release the customer's open-conversation slot
--           a  record ARGV[4] as the customer's last agent, at ARGV[5]
--           r  routing has the conversation: drop it from the unrouted set;
--              no-op (code 3) when it was marked routed already
--           q  silent: change the record, append nothing
--           g  return the record as this change left it (after the id)
--           k  with g: also what a console shows beside the record, the
--              customer (followed through merges) and the transcript lines
--              it shows, so an offer or an assignment reads nothing more
-- ARGV[4] agent id   ARGV[5] now (ms)
-- ARGV[6] n1, then n1 field/value pairs to HSET
-- then    n2, then n2 field/value pairs to set only when the field is empty
-- then    n3, then n3 field/value pairs for the transcript entry
-- then    with flag k: how many of the transcript's last entries to look
--         through for the lines a console shows
--
-- Returns {code, stream id}: 0 ok, 1 no such conversation, 2 closed,
-- 3 nothing to do (already closed); with flag g and code 0, followed by
-- the record's field/value pairs, so the caller need not read it again.
-- With flags g and k, the record's pairs are counted first, and the
-- customer follows: {code, stream id, n, record pairs..., customer id, n,
-- customer pairs..., n, identities..., n, tags..., lines}: lines are the
-- newest customer message and the newest line a customer or an agent
-- wrote (one entry when that is the same message, none when neither is
-- among the entries looked through), newest first, shaped as XREVRANGE
-- gives entries.
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local ck = KEYS[1]
local flags = ARGV[3]
local state = redis.call('HGET', ck, 'state')
if not state then return {1, ''} end
local closed = state == 'closed' or state == 'abandoned'
if closed and string.find(flags, 'c', 1, true) then return {3, ''} end
if closed and string.find(flags, 'o', 1, true) then return {2, ''} end
if string.find(flags, 'r', 1, true) and redis.call('HGET', ck, 'routed') == '1' then return {3, ''} end

local i = 6
local n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local set = {}
  for j = 0, n - 1 do
    table.insert(set, ARGV[i + 2 * j]); table.insert(set, ARGV[i + 2 * j + 1])
  end
  redis.call('HSET', ck, unpack(set))
  -- Every agent a conversation was offered or assigned to finds it in their
  -- own index, by creation time (internal/conversation/list.go).
  for j = 1, #set, 2 do
    if set[j] == 'agent' and set[j + 1] ~= '' then
      redis.call('ZADD', ARGV[1] .. 'convs:agent:' .. set[j + 1],
        redis.call('HGET', ck, 'created_at') or ARGV[5], ARGV[2])
    end
  end
end
-- updated_at only moves forward: a routing event handled late must not make
-- the record look older than a message it already holds.
if tonumber(ARGV[5]) > tonumber(redis.call('HGET', ck, 'updated_at') or '0') then
  redis.call('HSET', ck, 'updated_at', ARGV[5])
end
i = i + 2 * n
n = tonumber(ARGV[i]); i = i + 1
for j = 0, n - 1 do
  local f, v = ARGV[i + 2 * j], ARGV[i + 2 * j + 1]
  if (redis.call('HGET', ck, f) or '') == '' then redis.call('HSET', ck, f, v) end
end
i = i + 2 * n

local p = ARGV[1]
local conv = ARGV[2]
if string.find(flags, 'c', 1, true) then
  local f = redis.call('HMGET', ck, 'customer', 'channel')
  local ok = p .. 'open:' .. (f[1] or '') .. ':' .. (f[2] or '')
  if redis.call('GET', ok) == conv then redis.call('DEL', ok) end
  redis.call('ZREM', KEYS[3], conv)
end
if string.find(flags, 'r', 1, true) then
  redis.call('ZREM', KEYS[3], conv)
end
if string.find(flags, 'a', 1, true) and ARGV[4] ~= '' then
  local cust = redis.call('HGET', ck, 'customer')
  if cust then
    redis.call('HSET', p .. 'cust:' .. cust, 'last_agent', ARGV[4], 'last_agent_at', ARGV[5])
  end
end

local out = {0, ''}
n = tonumber(ARGV[i]); i = i + 1
if not string.find(flags, 'q', 1, true) then
  local entry = {}
  for j = 0, 2 * n - 1 do table.insert(entry, ARGV[i + j]) end
  out[2] = redis.call('XADD', KEYS[2], '*', unpack(entry))
end
i = i + 2 * n
local function append(list, counted)
  if counted then table.insert(out, #list) end
  for _, v in ipairs(list) do table.insert(out, v) end
end
if string.find(flags, 'g', 1, true) then
  local beside = string.find(flags, 'k', 1, true)
  append(redis.call('HGETALL', ck), beside)
  if beside then
    local cust = resolve_customer(p, redis.call('HGET', ck, 'customer') or '')
    local cp = p .. 'cust:' .. cust
    table.insert(out, cust)
    append(redis.call('HGETALL', cp), true)
    append(redis.call('SMEMBERS', cp .. ':idents'), true)
    append(redis.call('SMEMBERS', cp .. ':tags'), true)
    -- Only those two lines leave Redis: an offer previews the customer's
    -- message, an assignment shows the last thing said, and the system
    -- lines between them (offered, accepted…) are most of a transcript's
    -- tail. A customer's message is also a line said, so finding it ends
    -- the search.
    local lines, said = {}, false
    for _, e in ipairs(redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', tonumber(ARGV[i]))) do
      local t
      for j = 1, #e[2], 2 do
        if e[2][j] == 'type' then t = e[2][j + 1]; break end
      end
      if t == 'customer' or (t == 'agent' and not said) then
        table.insert(lines, e)
        said = true
      end
      if t == 'customer' then break end
    end
    table.insert(out, lines)
  end
end
return out
