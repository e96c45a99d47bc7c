-- claim.lua: take surveys that are due, for this gateway, for a lease.
-- KEYS[1] the due sorted set
-- ARGV[1] now, unix ms    ARGV[2] lease, ms    ARGV[3] at most this many
-- ARGV[4] the survey hash key prefix ("sb:{ws}:survey:")
-- Each claimed survey's due time moves to now + lease, so no other gateway
-- takes it while this one sends; one that dies sending loses nothing: the
-- survey is due again when the lease ends. Returns {id, attempt, ...}.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], now + lease, id)
  local n = redis.call('HINCRBY', ARGV[4] .. id, 'attempts', 1)
  out[#out + 1] = id
  out[#out + 1] = tostring(n)
end
return out
