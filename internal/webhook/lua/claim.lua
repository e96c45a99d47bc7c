-- claim.lua: take due deliveries under a lease. A worker whose lease lapsed
-- (a dead gateway) writes nothing; the delivery is claimed again.
-- KEYS[1] due zset   sb:{ws}:wh:due
-- ARGV[1] now (ms)   ARGV[2] lease (ms)   ARGV[3] at most this many
-- ARGV[4] key prefix "sb:{ws}:wh:"
-- Returns a flat list: member, lease token, member, lease token, …
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[4] .. 'slot-probe')
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
local token = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, m in ipairs(items) do
  local ep, evt = string.match(m, '^([^|]+)|(.+)$')
  redis.call('ZADD', KEYS[1], token, m)
  if ep then
    redis.call('HSET', ARGV[4] .. 'd:' .. ep .. ':' .. evt, 'lease', tostring(token))
  end
  out[#out + 1] = m
  out[#out + 1] = tostring(token)
end
return out
