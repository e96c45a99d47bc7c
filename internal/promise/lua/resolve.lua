-- resolve.lua: keep or cancel an open promise. Kept when resolved by its due
-- time, late after it; a cancelled open promise is broken. A conversation
-- still waiting for the promise (pending) is made due at once, so it comes
-- back to its agent instead of waiting for a promise that is settled.
-- KEYS[1] the promise hash  KEYS[2] due zset  KEYS[3] remind zset  KEYS[4] open zset
-- KEYS[5] done zset         KEYS[6] parked hash  KEYS[7] events stream
-- ARGV[1] key prefix (sb:{ws}:prom:)  ARGV[2] id  ARGV[3] "keep" or "cancel"
-- ARGV[4] now (ms)  ARGV[5] how it was kept (reply, call, note) or ""  ARGV[6] events cap
-- Returns {1, state, lateness ms} | {0, state} already resolved | {-1} no such promise
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local id, now = ARGV[2], tonumber(ARGV[4])
local f = redis.call('HMGET', KEYS[1], 'state', 'due', 'agent', 'conv', 'queue', 'pending', 'returned')
if not f[1] then return {-1} end
if f[1] ~= 'open' then return {0, f[1]} end
local due = tonumber(f[2])
local state, late = 'broken', 0
if ARGV[3] == 'keep' then
  if now <= due then state = 'kept' else state, late = 'late', now - due end
end
redis.call('HSET', KEYS[1], 'state', state, 'resolved', ARGV[4], 'via', ARGV[5], 'late_ms', tostring(late))
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('ZREM', ARGV[1] .. 'agent:' .. f[3], id)
redis.call('ZADD', KEYS[5], now, id)
if f[6] == '1' and (f[7] or '') == '' then
  redis.call('ZADD', KEYS[2], now, id)
else
  redis.call('ZREM', KEYS[2], id)
end
redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[6], '*', 'type', state, 'promise', id,
  'conv', f[4], 'agent', f[3], 'queue', f[5], 'due', f[2], 'late_ms', tostring(late), 'via', ARGV[5])
return {1, state, late}
