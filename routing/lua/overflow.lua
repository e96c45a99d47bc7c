-- overflow.lua: conversations that waited past their queue's limit become
-- eligible for the overflow queue's agents too (they keep their place in
-- their own queue and join the overflow queue's overflow set with the same
-- score).
-- KEYS[1] events stream (see lib.lua)
-- ARGV[4] most conversations per call
-- Returns {0, conversations overflowed, offers made}
local due = redis.call('ZRANGEBYSCORE', KOVFDUE, '-inf', NOW, 'LIMIT', 0, num(ARGV[4]))
local n, offers = 0, 0
for _, id in ipairs(due) do
  redis.call('ZREM', KOVFDUE, id)
  local c = conv_get(id)
  if c and c.ovfq == '' and (c.state == 'waiting' or c.state == 'offered' or c.state == 'active') then
    local qc = qcfg(c.queue)
    local to = qc and qc.ovf or ''
    if to ~= '' then
      redis.call('HSET', kconv(id), 'ovfq', to)
      c.ovfq = to
      if c.state == 'waiting' then redis.call('ZADD', kovf(to, c.channel), c.score, id) end
      emit('overflowed', {'conv', id, 'queue', c.queue, 'channel', c.channel, 'to_queue', to,
        'wait_ms', itoa(NOW - num(c.enq))})
      n = n + 1
      if c.state == 'waiting' then offers = offers + serve_conv(id) end
    end
  end
end
return {0, n, offers}
