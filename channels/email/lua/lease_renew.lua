-- lease_renew.lua: extend our lease.
-- KEYS[1] lease   ARGV[1] token   ARGV[2] ttl (ms)
-- Returns 1 when still ours, 0 when lost (lapsed and taken by another).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
