-- recover.lua: requeue every offer whose deadline passed, whichever gateway
-- made it (this is how a dead gateway loses nothing). Each miss counts
-- against the agent; after the agent's limit of consecutive misses the
-- agent is set away with reason "missed offers" and supervisors are told.
-- KEYS[1] events stream (see lib.lua)
-- ARGV[4] most offers to handle in this call
-- Returns {0, offers requeued, offers made}
local due = redis.call('ZRANGEBYSCORE', KOFFERS, '-inf', '(' .. NOW, 'LIMIT', 0, num(ARGV[4]))
local back, agents = {}, {}
for _, id in ipairs(due) do
  local c = conv_get(id)
  if not c or c.state ~= 'offered' then
    redis.call('ZREM', KOFFERS, id)
  else
    local aid = c.agent
    requeue(c, 'expired', 'timeout')
    back[#back + 1] = id
    local missed = redis.call('HINCRBY', kagent(aid), 'missed', 1)
    local limit = num(redis.call('HGET', kagent(aid), 'max_missed'))
    if limit > 0 and missed >= limit and redis.call('HGET', kagent(aid), 'state') == 'available' then
      set_state(aid, 'away', 'missed offers')
      emit('agent_away_missed_offers', {'agent', aid, 'missed', itoa(missed)})
      requeue_agent_offers(aid, 'agent away')
    end
    agents[aid] = true
  end
end
local offers = 0
for _, id in ipairs(back) do offers = offers + serve_conv(id) end
for aid, _ in pairs(agents) do offers = offers + serve_agent(aid) end
return {0, #back, offers}
