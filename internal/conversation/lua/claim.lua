-- claim.lua: lease due outbound messages to this process.
--
-- KEYS[1] outbox zset (member: message id, score: next attempt, ms)
-- ARGV[1] prefix "sb:{ws}:"   ARGV[2] now (ms)   ARGV[3] lease deadline (ms)
-- ARGV[4] at most this many
--
-- Each claimed message gets its score moved to the lease deadline, so a
-- process that dies mid-send leaves it to be claimed again once the lease
-- lapses, and its attempts counter is incremented. Returns a flat list
-- {id, attempt, n, field, value, ... (n pairs), id, ...}: each message with
-- the fields of its hash a send needs, so the sender reads nothing more,
-- and the pseudo-field opted_out, "1" when the customer opted out of the
-- message's channel (optout:<channel>:<to>), so the channel need not ask.
-- Ids whose message hash is gone are dropped.
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local mk = ARGV[1] .. 'msg:' .. id
  if redis.call('EXISTS', mk) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    local n = redis.call('HINCRBY', mk, 'attempts', 1)
    redis.call('HSET', mk, 'status', 'sending', 'claimed_at', ARGV[2])
    table.insert(out, id)
    table.insert(out, tostring(n))
    local names = {'conv', 'channel', 'from', 'to', 'text', 'thread_hint', 'subject', 'attachments',
      'deferrals', 'busy_since'}
    local f = redis.call('HMGET', mk, unpack(names))
    local pairs_out = {}
    for i, name in ipairs(names) do
      if f[i] then
        table.insert(pairs_out, name)
        table.insert(pairs_out, f[i])
      end
    end
    table.insert(pairs_out, 'opted_out')
    table.insert(pairs_out, opted_out(ARGV[1], f[2], f[4]))
    table.insert(out, tostring(#pairs_out / 2))
    for _, v in ipairs(pairs_out) do table.insert(out, v) end
  end
end
return out
