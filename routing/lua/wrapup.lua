-- wrapup.lua: end every wrap-up whose time has come: the conversation is
-- closed for good, the agent's slot is freed and refilled.
-- KEYS[1] events stream (see lib.lua)
-- ARGV[4] most conversations to handle in this call
-- Returns {0, wrap-ups ended, offers made}
local due = redis.call('ZRANGEBYSCORE', KWRAP, '-inf', NOW, 'LIMIT', 0, num(ARGV[4]))
local n, offers = 0, 0
for _, id in ipairs(due) do
  redis.call('ZREM', KWRAP, id)
  local c = conv_get(id)
  if c and c.state == 'wrapup' then
    local aid = c.agent
    finish(c, 'closed')
    release(c, aid)
    emit('wrapup_done', {'conv', id, 'agent', aid, 'queue', c.queue, 'channel', c.channel})
    offers = offers + serve_agent(aid)
    n = n + 1
  end
end
return {0, n, offers}
