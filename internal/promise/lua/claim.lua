-- claim.lua: take up to a batch of due promises for this gateway. Each is
-- pushed a lease ahead in the due set, so if this gateway dies before
-- finishing it, another claims it when the lease lapses; the returned token
-- (the promise's claim count) lets only the latest claimer finish it.
-- KEYS[1] due zset
-- ARGV[1] key prefix (sb:{ws}:prom:)  ARGV[2] now (ms)  ARGV[3] lease (ms)  ARGV[4] batch
-- Returns {id1, token1, id2, token2, ...}
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local k = ARGV[1] .. id
  if redis.call('EXISTS', k) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
    local tok = redis.call('HINCRBY', k, 'claim', 1)
    redis.call('HSETNX', k, 'first_due', ARGV[2])
    out[#out + 1] = id
    out[#out + 1] = tostring(tok)
  end
end
return out
