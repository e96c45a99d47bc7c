-- lib.lua: helpers shared by every routing script. It is not a script of its
-- own: scripts.go prepends the key segments from keys.go and this file to each
-- operation's file, so every script is self-contained on the server.
--
-- Conventions shared by all scripts:
--   KEYS[1]   sb:{ws}:events, the event stream. Its prefix sb:{ws}: names
--             every other key, so all keys a script touches share the
--             workspace's hash slot (valid on Redis Cluster).
--   ARGV[1]   now, unix milliseconds, from the calling gateway's clock
--   ARGV[2]   MAXLEN of the event stream (approximate trimming)
--   ARGV[3]   how long a finished conversation's hash is kept, milliseconds
--   ARGV[4..] the operation's own arguments
-- Every script returns an array whose first element is a code:
--   0 ok                      5 conversation already live (enqueue)
--   1 conversation not found  6 agent cannot take it now (transfer)
--   2 not offered to agent    7 conversation in the wrong state
--   3 not assigned to agent   8 agent not found
--   4 queue not configured (the gateway writes its queue config and retries)

local P = string.sub(KEYS[1], 1, #KEYS[1] - #S_EVENTS)
-- Scripts derive most keys from P instead of declaring them. That is valid
-- on Redis Cluster because they share one slot, except while the slot
-- migrates: the source node then refuses any key it does not hold with
-- "non local key", and Redis keeps whatever the script wrote before. A key
-- that never exists is refused there and served everywhere else, so
-- touching it first stops such a script before it writes anything, and
-- the gateway runs it again (Engine.call, errSlotMoving).
redis.call('EXISTS', P .. S_PROBE)
local NOW = tonumber(ARGV[1])
local MAXLEN = ARGV[2]
local RETAIN = tonumber(ARGV[3])
-- CHANNELS (every channel, in order) and EXCLUSIVE (the channel that takes
-- an agent whole) come from scripts.go, which has them from internal/channel.
-- Scans of a sorted set stop after this many entries: a head full of
-- conversations nobody can serve must not make every decision slow.
local SCAN = 64
-- Scans read this many entries first and the rest of their bound only when
-- those do not decide: the head almost always does, and every entry read
-- (with its score formatted as text and parsed back) costs Redis time.
local FIRST = 4
-- Longest-idle search reads at most this many agents of one set.
local AGENTSCAN = 1024
-- Bound on offers one script call makes, so a script never runs long.
local MAXOFFERS = 16

local function kconv(id) return P .. S_CONV .. id end
local function kagent(id) return P .. S_AGENT .. id end
local function kaconvs(id) return P .. S_AGENT .. id .. S_CONVS end
local function kq(q, ch) return P .. S_QUEUE .. q .. ':' .. ch end
local function kovf(q, ch) return P .. S_OVERFLOW .. q .. ':' .. ch end
local function kavail(q, ch) return P .. S_AVAIL .. q .. ':' .. ch end
local function konline(q) return P .. S_ONLINE .. q end
local function kqcfg(q) return P .. S_QCFG .. q end
local function kwaits(q) return P .. S_WAITS .. q end
local function khandles(q) return P .. S_HANDLES .. q end
local KOFFERS = P .. S_OFFERS
local KWRAP = P .. S_WRAPUPS
local KSEEN = P .. S_SEEN
local KOVFDUE = P .. S_OVFDUE
local KAGENTS = P .. S_AGENTS
local LIVE = P .. S_LIVE
-- How many recent waits and handle times are kept per queue for estimates.
local SAMPLES = 200

local function itoa(x) return string.format('%d', x) end
local function num(x) return tonumber(x) or 0 end

-- score orders a queue: higher priority first, then earlier enqueue time.
-- Priority is clamped to 0..99 so the score stays an exact double.
local function score_of(prio, enq)
  if prio < 0 then prio = 0 end
  if prio > 99 then prio = 99 end
  return (99 - prio) * 1e13 + enq
end

-- emit appends an event to the capped stream and publishes it live. kv is a
-- flat list of field, value; empty values are left out.
local function emit(typ, kv)
  local args = {'XADD', KEYS[1], 'MAXLEN', '~', MAXLEN, '*', 'type', typ, 'at', itoa(NOW)}
  local obj = {type = typ, at = itoa(NOW)}
  for i = 1, #kv, 2 do
    local v = kv[i + 1]
    if v ~= nil and v ~= false and v ~= '' then
      args[#args + 1] = kv[i]
      args[#args + 1] = v
      obj[kv[i]] = v
    end
  end
  obj.id = redis.call(unpack(args))
  redis.call('PUBLISH', LIVE, cjson.encode(obj))
end

-- qcfg reads a queue's settings written by the gateway (see config.go),
-- once per script call.
local QC = {}
local function qcfg(q)
  if q == nil or q == '' then return nil end
  if QC[q] ~= nil then return QC[q] or nil end
  local raw = redis.call('HGETALL', kqcfg(q))
  if #raw == 0 then QC[q] = false; return nil end
  local c = {}
  for i = 1, #raw, 2 do c[raw[i]] = raw[i + 1] end
  QC[q] = c
  return c
end

local function split(s)
  local out = {}
  if s then for x in string.gmatch(s, '[^,]+') do out[#out + 1] = x end end
  return out
end

-- has_skills: every skill the conversation needs ("a,b") is among the
-- agent's (",a,b,", commas around each so find is exact).
local function has_skills(as, cs)
  if cs == nil or cs == false or cs == '' then return true end
  for s in string.gmatch(cs, '[^,]+') do
    if not string.find(as or '', ',' .. s .. ',', 1, true) then return false end
  end
  return true
end

-- Agents are read once per script call with every field routing needs and
-- kept in AG; any write to an agent's hash drops its entry (agent_dirty).
local AF = {'state', 'queues', 'skills', 'excl', 'wrap_until', 'listed', 'onl'}
for _, ch in ipairs(CHANNELS) do
  AF[#AF + 1] = 'idle:' .. ch
  AF[#AF + 1] = 'load:' .. ch
  AF[#AF + 1] = 'cap:' .. ch
end

-- idle_all is the field/value list that makes an agent idle since t on
-- every channel.
local function idle_all(t)
  local kv = {}
  for _, ch in ipairs(CHANNELS) do
    kv[#kv + 1] = 'idle:' .. ch
    kv[#kv + 1] = t
  end
  return kv
end
local AG = {}
local function agent_get(aid)
  local a = AG[aid]
  if a then return a end
  local v = redis.call('HMGET', kagent(aid), unpack(AF))
  a = {}
  for i, f in ipairs(AF) do a[f] = v[i] end
  AG[aid] = a
  return a
end
local function agent_dirty(aid) AG[aid] = nil end

-- agent_hset writes fields of an agent (flat list) and keeps AG current.
local function agent_hset(aid, kv)
  redis.call('HSET', kagent(aid), unpack(kv))
  local a = AG[aid]
  if a then
    for i = 1, #kv, 2 do a[kv[i]] = tostring(kv[i + 1]) end
  end
end

-- agent_take returns the agent's skills when the agent may get an offer on
-- channel ch now, nil otherwise. This is the one capacity rule.
local function agent_take(aid, ch)
  local a = agent_get(aid)
  if a.state ~= 'available' then return nil end
  if num(a['load:' .. ch]) >= num(a['cap:' .. ch]) then return nil end
  -- Voice is exclusive: an agent on a call gets nothing else.
  if ch ~= EXCLUSIVE and a.excl == '1' and num(a['load:' .. EXCLUSIVE]) > 0 then return nil end
  -- Wrap-up: no call is offered until the agent has finished notes.
  if ch == EXCLUSIVE and num(a.wrap_until) > NOW then return nil end
  return a.skills or ''
end

-- refresh recomputes where an agent appears: the per queue and channel sets
-- of agents able to take an offer now, scored by the agent's idle-since on
-- that channel (its last offer there, or becoming available), so the lowest
-- score is the longest idle; and the per queue set of agents online. The
-- agent's hash remembers where it is listed ('listed', 'onl'), so only
-- changes are written. rescore is true (every channel) or a channel whose
-- idle-since moved.
local function refresh(aid, rescore)
  local a = agent_get(aid)
  if not a.queues then return end
  local online = a.state == 'available'
  local want, prev = {}, {}
  local listed = {}
  for _, ch in ipairs(CHANNELS) do
    if online and agent_take(aid, ch) ~= nil then
      want[ch] = true
      listed[#listed + 1] = ch
    end
  end
  for ch in string.gmatch(a.listed or '', '[^,]+') do prev[ch] = true end
  local onl = online and '1' or '0'
  local queues = split(a.queues)
  for _, q in ipairs(queues) do
    if onl ~= (a.onl or '0') then
      if online then redis.call('SADD', konline(q), aid) else redis.call('SREM', konline(q), aid) end
    end
    for _, ch in ipairs(CHANNELS) do
      if want[ch] then
        -- Already listed with the same idle-since: nothing to write.
        if rescore == true or rescore == ch or not prev[ch] then
          redis.call('ZADD', kavail(q, ch), num(a['idle:' .. ch]), aid)
        end
      elseif prev[ch] then
        redis.call('ZREM', kavail(q, ch), aid)
      end
    end
  end
  local l = table.concat(listed, ',')
  if l ~= (a.listed or '') or onl ~= (a.onl or '0') then
    agent_hset(aid, {'listed', l, 'onl', onl})
  end
end

-- unlist removes an agent from every availability set of the given queues
-- (used before the agent's queue list changes).
local function unlist(aid, queues)
  for _, q in ipairs(split(queues)) do
    redis.call('SREM', konline(q), aid)
    for _, ch in ipairs(CHANNELS) do redis.call('ZREM', kavail(q, ch), aid) end
  end
  redis.call('HSET', kagent(aid), 'listed', '', 'onl', '0')
  agent_dirty(aid)
end

local CONV_FIELDS = {'state', 'queue', 'channel', 'skills', 'score', 'enq', 'agent',
  'last_agent', 'last_served', 'decl_agent', 'decl_until', 'ovfq', 'customer', 'prio',
  'accepted_at', 'est_low', 'est_high', 'deadline', 'pref'}

local function conv_get(id)
  local v = redis.call('HMGET', kconv(id), unpack(CONV_FIELDS))
  if not v[1] then return nil end
  local c = {id = id}
  for i, f in ipairs(CONV_FIELDS) do c[f] = v[i] or '' end
  return c
end

-- unqueue takes a waiting conversation out of its queue (and the overflow
-- queue it also waits in, if any).
local function unqueue(c)
  redis.call('ZREM', kq(c.queue, c.channel), c.id)
  if c.ovfq ~= '' then redis.call('ZREM', kovf(c.ovfq, c.channel), c.id) end
end

-- enqueue_at puts a conversation back at its place: its score keeps its
-- original enqueue time, so a requeued conversation is not sent to the back.
local function enqueue_at(c)
  redis.call('ZADD', kq(c.queue, c.channel), c.score, c.id)
  if c.ovfq ~= '' then redis.call('ZADD', kovf(c.ovfq, c.channel), c.score, c.id) end
end

local function timeout_of(q, ch)
  local qc = qcfg(q)
  if qc and qc['to:' .. ch] then return num(qc['to:' .. ch]) end
  return 30000
end

-- push_sample keeps the last SAMPLES values, trimming in batches.
local function push_sample(key, v)
  if redis.call('LPUSH', key, itoa(v)) > SAMPLES + 50 then
    redis.call('LTRIM', key, 0, SAMPLES - 1)
  end
end

-- accept_now makes an offered conversation active.
local function accept_now(c, aid, reason)
  redis.call('ZREM', KOFFERS, c.id)
  local wait = NOW - num(c.enq)
  redis.call('HSET', kconv(c.id), 'state', 'active', 'accepted_at', itoa(NOW), 'deadline', '')
  redis.call('HSET', kagent(aid), 'missed', '0')
  push_sample(kwaits(c.queue), wait)
  emit('accepted', {'conv', c.id, 'agent', aid, 'queue', c.queue, 'channel', c.channel,
    'wait_ms', itoa(wait), 'reason', reason or '', 'est_low_ms', c.est_low, 'est_high_ms', c.est_high})
end

-- offer hands conversation c to agent aid: it leaves the queue, the agent's
-- load rises, the offer gets a deadline in the offers set, and the event is
-- recorded, all in the calling script, so no other gateway can see half of it.
local function offer(c, aid, reason)
  unqueue(c)
  local deadline = NOW + timeout_of(c.queue, c.channel)
  redis.call('HSET', kconv(c.id), 'state', 'offered', 'agent', aid, 'offered_at', itoa(NOW),
    'deadline', itoa(deadline), 'decl_agent', '', 'decl_until', '')
  local a = agent_get(aid)
  agent_hset(aid, {'load:' .. c.channel, num(a['load:' .. c.channel]) + 1, 'idle_since', itoa(NOW),
    'idle:' .. c.channel, itoa(NOW)})
  redis.call('SADD', kaconvs(aid), c.id)
  redis.call('ZADD', KOFFERS, deadline, c.id)
  refresh(aid, c.channel)
  emit('offered', {'conv', c.id, 'agent', aid, 'queue', c.queue, 'channel', c.channel,
    'wait_ms', itoa(NOW - num(c.enq)), 'deadline', itoa(deadline), 'reason', reason or ''})
  local qc = qcfg(c.queue)
  if qc and qc['aa:' .. c.channel] == '1' then
    accept_now(c, aid, 'auto')
  end
end

-- release gives back the agent's slot for conversation c.
local function release(c, aid)
  if aid == nil or aid == '' then return end
  local a = agent_get(aid)
  agent_hset(aid, {'load:' .. c.channel, math.max(num(a['load:' .. c.channel]) - 1, 0)})
  redis.call('SREM', kaconvs(aid), c.id)
  refresh(aid)
end

-- requeue returns an offered conversation to its place and records why
-- (typ is 'declined' or 'expired'). The agent it was offered to is not
-- offered it again until the cooldown passes, so it goes to someone else.
local function requeue(c, typ, reason)
  local aid = c.agent
  redis.call('ZREM', KOFFERS, c.id)
  local cool = NOW + timeout_of(c.queue, c.channel)
  redis.call('HSET', kconv(c.id), 'state', 'waiting', 'agent', '', 'deadline', '',
    'decl_agent', aid, 'decl_until', itoa(cool))
  c.state, c.agent, c.decl_agent, c.decl_until = 'waiting', '', aid, itoa(cool)
  release(c, aid)
  enqueue_at(c)
  emit(typ, {'conv', c.id, 'agent', aid, 'queue', c.queue, 'channel', c.channel,
    'reason', reason or '', 'until', itoa(cool)})
end

local function declined_by(c, aid)
  return c.decl_agent == aid and num(c.decl_until) > NOW
end

local function sticky_agent(c)
  if c.last_agent == '' then return nil end
  local qc = qcfg(c.queue)
  local win = qc and num(qc.sticky) or -1
  if win < 0 or NOW - num(c.last_served) > win then return nil end
  if declined_by(c, c.last_agent) then return nil end
  local sk = agent_take(c.last_agent, c.channel)
  if sk and has_skills(sk, c.skills) then return c.last_agent end
  return nil
end

-- longest_idle finds the longest-idle agent able to take conversation c:
-- from its queue's agents and, once it overflowed, the overflow queue's.
local function longest_idle(c)
  local sets = {kavail(c.queue, c.channel)}
  if c.ovfq ~= '' then sets[2] = kavail(c.ovfq, c.channel) end
  local best, bestScore = nil, nil
  for _, set in ipairs(sets) do
    local start, n = 0, FIRST
    local done = false
    while not done do
      local r = redis.call('ZRANGE', set, start, start + n - 1, 'WITHSCORES')
      for i = 1, #r, 2 do
        local aid, sc = r[i], tonumber(r[i + 1])
        if bestScore and sc >= bestScore then done = true; break end
        if not declined_by(c, aid) then
          local sk = agent_take(aid, c.channel)
          if sk and has_skills(sk, c.skills) then
            best, bestScore = aid, sc
            done = true
            break
          end
        end
      end
      -- A short read means the set has no more entries.
      if #r < 2 * n then break end
      start = start + n
      n = math.min(SCAN, AGENTSCAN - start)
      if n <= 0 then break end
    end
  end
  return best
end

-- pick_for_agent finds the best waiting conversation for agent aid over every
-- channel it has room on (or only channel only, if given) and every queue it
-- serves (plus conversations that overflowed into those queues): the lowest
-- score, meaning highest priority, then longest waiting. Returns the
-- conversation table or nil.
local function pick_for_agent(aid, only, known)
  local a = agent_get(aid)
  if a.state ~= 'available' or not a.queues then return nil end
  local queues = split(a.queues)
  -- Gather the sets worth reading; one EXISTS tells whether any holds
  -- anything (after a close there usually is nothing waiting).
  local sets, skills = {}, {}
  for _, ch in ipairs(only and {only} or CHANNELS) do
    local sk = agent_take(aid, ch)
    if sk then
      for _, q in ipairs(queues) do
        sets[#sets + 1] = kq(q, ch)
        skills[#sets] = sk
        local qc = qcfg(q)
        if qc and qc.ovf_in == '1' then
          sets[#sets + 1] = kovf(q, ch)
          skills[#sets] = sk
        end
      end
    end
  end
  if #sets == 0 then return nil end
  -- No multi-key EXISTS shortcut here: while Redis Cluster moves the
  -- workspace's slot, the importing node refuses a multi-key command whose
  -- keys are not all there (empty queues never are), which would stop the
  -- script after its writes. ZRANGE of a missing set costs the same.
  local best, bestScore = nil, nil
  for si, set in ipairs(sets) do
    -- The first SCAN entries at most, FIRST of them first.
    local start, n = 0, FIRST
    while n > 0 do
      local r = redis.call('ZRANGE', set, start, start + n - 1, 'WITHSCORES')
      local decided = false
      for i = 1, #r, 2 do
        local sc = tonumber(r[i + 1])
        if bestScore and sc >= bestScore then decided = true; break end
        local c
        if known and r[i] == known.id then c = known else c = conv_get(r[i]) end
        if c and c.state == 'waiting' and not declined_by(c, aid) and has_skills(skills[si], c.skills) then
          best, bestScore = c, sc
          decided = true
          break
        end
      end
      if decided or #r < 2 * n then break end
      start = start + n
      n = SCAN - start
    end
  end
  return best
end

-- serve_agent offers agent aid the best conversations for it until it is
-- full or nothing fits. A conversation whose customer's last agent is free
-- within the sticky window goes to that agent instead. Returns offers made.
local function serve_agent(aid, n)
  n = n or 0
  while n < MAXOFFERS do
    local c = pick_for_agent(aid)
    if not c then break end
    local st = sticky_agent(c)
    if st and st ~= aid then
      offer(c, st, 'sticky')
    else
      offer(c, aid, st and 'sticky' or '')
    end
    n = n + 1
  end
  return n
end

-- serve_conv finds an agent for waiting conversation id. The customer's last
-- agent wins within the sticky window; otherwise the longest-idle able agent
-- is found, and that agent takes the best conversation for it, which is this
-- one unless an older or more urgent one waits for the same agent (FIFO).
-- Returns the number of offers made.
local function serve_conv(id, known)
  local n = 0
  while n < MAXOFFERS do
    local c = known or conv_get(id)
    known = nil
    if not c or c.state ~= 'waiting' then return n end
    local st = sticky_agent(c)
    if st then
      offer(c, st, 'sticky')
      return n + 1
    end
    -- A preferred skill (service recovery) picks among agents who have it
    -- first, then anyone able.
    local aid
    if c.pref ~= '' then
      local sk = c.skills
      c.skills = (sk == '' and c.pref) or (sk .. ',' .. c.pref)
      aid = longest_idle(c)
      c.skills = sk
    end
    aid = aid or longest_idle(c)
    if not aid then return n end
    -- Only the same channel matters for fairness; other channels have
    -- their own capacity.
    local best = pick_for_agent(aid, c.channel, c)
    if not best or best.id == id then
      offer(c, aid, '')
      return n + 1
    end
    local st2 = sticky_agent(best)
    offer(best, st2 or aid, st2 and 'sticky' or '')
    n = n + 1
  end
  return n
end

-- requeue_agent_offers sends every open offer of an agent back to its place
-- (the agent went away or offline) and tries to place them elsewhere.
local function requeue_agent_offers(aid, reason)
  local back = {}
  for _, id in ipairs(redis.call('SMEMBERS', kaconvs(aid))) do
    local c = conv_get(id)
    if c and c.state == 'offered' and c.agent == aid then
      requeue(c, 'expired', reason)
      back[#back + 1] = id
    end
  end
  for _, id in ipairs(back) do serve_conv(id) end
  return #back
end

-- finish marks a conversation closed or abandoned and lets its hash expire;
-- closed stamps closed_at (a wrap-up's end keeps the time the agent closed).
local function finish(c, state, closed)
  local kv = {'state', state, 'agent', '', 'deadline', '', 'ended_at', itoa(NOW)}
  if closed then kv[#kv + 1] = 'closed_at'; kv[#kv + 1] = itoa(NOW) end
  redis.call('HSET', kconv(c.id), unpack(kv))
  local qc = qcfg(c.queue)
  if qc and (qc.ovf or '') ~= '' then redis.call('ZREM', KOVFDUE, c.id) end
  if RETAIN > 0 then redis.call('PEXPIRE', kconv(c.id), RETAIN) end
end

-- set_state changes an agent's state and records it.
local function set_state(aid, st, reason)
  local prev = redis.call('HGET', kagent(aid), 'state')
  redis.call('HSET', kagent(aid), 'state', st, 'reason', reason or '', 'state_since', itoa(NOW))
  if st == 'available' and prev ~= 'available' then
    local t = itoa(NOW)
    redis.call('HSET', kagent(aid), 'idle_since', t, 'missed', '0', unpack(idle_all(t)))
  end
  agent_dirty(aid)
  if st == 'offline' then redis.call('ZREM', KSEEN, aid) end
  if st ~= 'offline' and prev == 'offline' then redis.call('ZADD', KSEEN, NOW, aid) end
  refresh(aid, true)
  emit('agent_state', {'agent', aid, 'state', st, 'reason', reason or '', 'prev', prev or ''})
end
