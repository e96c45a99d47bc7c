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
--              closed, else release the customer's open-conversation slot;
--              a close to state closed also writes conversation.closed to
--              the event stream, with the disposition it recorded and the
--              addresses and thread a survey goes by; a close
--              from the queue before anyone had it sets closed_from
--              (waiting, offered) among its HSET pairs, as the caller read
--              routing's state, which the record may not have caught up with
--           h  with c: the caller set agent to routing's holder (and
--              accepted_at to that agent's accept, when routing had one,
--              so handle_ms counts from it); a close of a record not
--              active (it never heard of that agent's accept) makes that
--              agent the customer's last agent, served at that accept
--              (at the close when none was given), unless the customer's
--              last_agent_at is no older than that and newer than this
--              record's own last accept (as it was before the close)
--           a  record ARGV[4] as the customer's last agent, at ARGV[5],
--              unless the customer's last_agent_at is newer
--           r  routing has the conversation: drop it from the unrouted set;
--              no-op (code 3) when it was marked routed already
--           q  silent: change the record, append nothing
--           w  refuse while a close's mark (field closing_until, set by
--              MarkClosing) ends after ARGV[5]: code 4, nothing changed;
--              checked after c and o, so a closed record gives 3 or 2
--           g  return the record as this change left it (after the id)
--           k  with g: also what a console shows beside the record, the
--              customer (followed through merges) and the transcript lines
--              it shows, so an offer or an assignment reads nothing more
-- ARGV[4] agent id   ARGV[5] now (ms)
-- ARGV[6] cap of the event stream (approximate MAXLEN)
-- ARGV[7] n1, then n1 field/value pairs to HSET
-- then    n2, then n2 field/value pairs to set only when the field is empty
-- then    n3, then n3 field/value pairs for the transcript entry
-- then    with flag k: how many of the transcript's last entries to look
--         through for the lines a console shows
--
-- Returns {code, stream id}: 0 ok, 1 no such conversation, 2 closed,
-- 3 nothing to do (already closed), 4 a close is under way (flag w); with flag g and code 0, followed by
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
local function has(f) return string.find(flags, f, 1, true) ~= nil end
local p = ARGV[1]
local conv = ARGV[2]
local now = ARGV[5]

-- Every field this script decides on is read in one HMGET and every change
-- written in one HSET: each redis.call costs Redis a few microseconds of
-- Lua on top of the command, and this script runs several times for every
-- contact. cur is the record as the changes leave it.
local i = 7
local n1 = tonumber(ARGV[i])
local n2at = i + 1 + 2 * n1
local n2 = tonumber(ARGV[n2at])
local want = {'state', 'routed', 'created_at', 'updated_at', 'customer', 'channel', 'closing_until'}
if has('c') then
  -- What a close's event tells, read only by closes.
  for _, f in ipairs({'queue', 'enqueued_at', 'accepted_at', 'agent', 'answered_at', 'reopened_at',
      'customer_address', 'our_address', 'thread_hint'}) do
    want[#want + 1] = f
  end
end
for j = 1, n2 do want[#want + 1] = ARGV[n2at + 2 * j - 1] end
local got = redis.call('HMGET', ck, unpack(want))
local state = got[1]
if not state then return {1, ''} end
local closed = state == 'closed' or state == 'abandoned'
if closed and has('c') then return {3, ''} end
if closed and has('o') then return {2, ''} end
if has('r') and got[2] == '1' then return {3, ''} end
if has('w') and (tonumber(got[7]) or 0) > tonumber(now) then return {4, ''} end
local cur = {}
for j, f in ipairs(want) do cur[f] = got[j] or '' end
-- The record's own last accept, before a close's pairs may set the
-- holder's (one the record never heard of): flag h tells the two apart.
local own_accept = cur['accepted_at']

-- record_service makes agent the customer's last agent, served at at,
-- when wins says so of the customer's last service (ms, 0 for none).
local function record_service(agent, at, wins)
  local k = p .. 'cust:' .. cur['customer']
  if wins(tonumber(redis.call('HGET', k, 'last_agent_at')) or 0) then
    redis.call('HSET', k, 'last_agent', agent, 'last_agent_at', at)
  end
end

local write = {}
local function put(f, v)
  write[#write + 1] = f; write[#write + 1] = v
  cur[f] = v
end
for j = 1, n1 do
  local f, v = ARGV[i + 2 * j - 1], ARGV[i + 2 * j]
  put(f, v)
  -- Every agent a conversation was offered or assigned to finds it in their
  -- own index, by creation time (internal/conversation/list.go).
  if f == 'agent' and v ~= '' then
    redis.call('ZADD', p .. 'convs:agent:' .. v, cur['created_at'] ~= '' and cur['created_at'] or now, conv)
  end
end
-- updated_at only moves forward: a routing event handled late must not make
-- the record look older than a message it already holds.
if tonumber(now) > (tonumber(cur['updated_at']) or 0) then put('updated_at', now) end
for j = 1, n2 do
  local f, v = ARGV[n2at + 2 * j - 1], ARGV[n2at + 2 * j]
  if cur[f] == '' then put(f, v) end
end
if #write > 0 then redis.call('HSET', ck, unpack(write)) end
i = n2at + 1 + 2 * n2

if has('c') then
  local ok = p .. 'open:' .. cur['customer'] .. ':' .. cur['channel']
  if redis.call('GET', ok) == conv then redis.call('DEL', ok) end
  redis.call('ZREM', KEYS[3], conv)
  if cur['state'] == 'closed' then
    -- The close and its event are one step, so a webhook's
    -- conversation.closed carries the disposition just recorded, whichever
    -- gateway fans it out and however late. A close from the queue tells
    -- where it was and how long it waited (closed_from is never read from
    -- the record, so cur holds it only when this close set it); any
    -- other, who had it (the record's agent, which the caller may have
    -- just set from routing's holder) and for how long since the last
    -- accept (absent when none is recorded since it was created or
    -- reopened).
    local ev = {'type', 'conversation.closed', 'conv', conv, 'cust', cur['customer'], 'channel', cur['channel'],
      'queue', cur['queue'], 'by', ARGV[4], 'disposition', cur['disposition'] or '', 'at', now,
      'cust_addr', cur['customer_address'], 'our_addr', cur['our_address']}
    if cur['thread_hint'] ~= '' then ev[#ev + 1] = 'thread'; ev[#ev + 1] = cur['thread_hint'] end
    local from, took, since = cur['closed_from'], 'handle_ms', tonumber(cur['accepted_at'])
    if from then
      ev[#ev + 1] = 'from'; ev[#ev + 1] = from
      took, since = 'wait_ms', tonumber(cur['enqueued_at'])
    else
      if cur['agent'] ~= '' then ev[#ev + 1] = 'agent'; ev[#ev + 1] = cur['agent'] end
      if has('h') and state ~= 'active' and cur['customer'] ~= '' then
        -- The close beat the record's accept (its first, or one after a
        -- transfer, a promise's return or a missed offer, all of which
        -- leave the record queued or offered), and a closed record will
        -- refuse that accept: the agent routing had it with served this
        -- customer, and is the one to give back next time, unless someone
        -- served them since. Time alone cannot say so when the last
        -- service is this record's own earlier accept (before a transfer,
        -- say): in the same millisecond, or stamped by a gateway whose
        -- clock runs ahead of this one's. That accept came before this
        -- close, whatever the clocks say; another conversation's accept
        -- in the same millisecond keeps its agent.
        --
        -- The service is dated by its accept, as flag a dates it, when the
        -- caller named routing's (accepted_at changed above); by the close
        -- otherwise. So another conversation's accept that came after this
        -- one's, recorded late, still takes the place.
        local served = now
        if cur['accepted_at'] ~= '' and cur['accepted_at'] ~= own_accept then served = cur['accepted_at'] end
        record_service(cur['agent'], served, function(last)
          return last < tonumber(served) or last <= (tonumber(own_accept) or -1)
        end)
      end
      if not since and cur['reopened_at'] == '' then
        -- Accepted before accepted_at was kept, and never reopened: the
        -- first accept is the last one, unless it was transferred.
        since = tonumber(cur['answered_at'])
      end
    end
    if since and tonumber(now) >= since then
      ev[#ev + 1] = took; ev[#ev + 1] = string.format('%d', tonumber(now) - since)
    end
    redis.call('XADD', p .. 'convevents', 'MAXLEN', '~', ARGV[6], '*', unpack(ev))
  end
end
if has('r') then
  redis.call('ZREM', KEYS[3], conv)
end
if has('a') and ARGV[4] ~= '' and cur['customer'] ~= '' then
  -- The newest service wins, not the last one told: an accept handled
  -- late (a gateway's reactor behind) must not hand the customer back to
  -- an agent who served them before the one recorded since.
  record_service(ARGV[4], now, function(last) return last <= tonumber(now) end)
end

local out = {0, ''}
local n = tonumber(ARGV[i]); i = i + 1
if not has('q') then
  local entry = {}
  for j = 0, 2 * n - 1 do entry[#entry + 1] = ARGV[i + j] end
  out[2] = redis.call('XADD', KEYS[2], '*', unpack(entry))
end
i = i + 2 * n
local function append(list, counted)
  if counted then out[#out + 1] = #list end
  for _, v in ipairs(list) do out[#out + 1] = v end
end
if has('g') then
  local beside = has('k')
  append(redis.call('HGETALL', ck), beside)
  if beside then
    local cust = resolve_customer(p, cur['customer'])
    local cp = p .. 'cust:' .. cust
    out[#out + 1] = cust
    append(redis.call('HGETALL', cp), true)
    append(redis.call('SMEMBERS', cp .. ':idents'), true)
    append(redis.call('SMEMBERS', cp .. ':tags'), true)
    -- Only those two lines leave Redis: an offer previews the customer's
    -- message, an assignment shows the last thing said, and the system
    -- lines between them (offered, accepted…) are most of a transcript's
    -- tail. A customer's message is also a line said, so finding it ends
    -- the search.
    --
    -- The lines are read a few at a time: the customer's message is nearly
    -- always among the newest four (an offer or an acceptance, perhaps a
    -- note, then the message), and every entry read becomes a Lua table of
    -- strings, which cost more Redis time than the rest of this script.
    local lines, said, found = {}, false, false
    local left, from, batch = tonumber(ARGV[i]), '+', 4
    while left > 0 and not found do
      local got = redis.call('XREVRANGE', KEYS[2], from, '-', 'COUNT', math.min(batch, left))
      for _, e in ipairs(got) do
        local t
        for j = 1, #e[2], 2 do
          if e[2][j] == 'type' then t = e[2][j + 1]; break end
        end
        if t == 'customer' or (t == 'agent' and not said) then
          lines[#lines + 1] = e
          said = true
        end
        if t == 'customer' then found = true; break end
      end
      if #got < math.min(batch, left) then break end
      left = left - #got
      from = '(' .. got[#got][1]
      batch = left
    end
    out[#out + 1] = lines
  end
end
return out
