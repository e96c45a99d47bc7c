-- lease_acquire.lua: take a mailbox's lease if nobody holds it (or we do).
-- KEYS[1] lease   sb:{ws}:email:lease:<mailbox>
-- ARGV[1] token   ARGV[2] ttl (ms)
-- Returns 1 when held by us, 0 when another gateway holds it.
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
