-- lease_release.lua: give our lease up (a clean shutdown).
-- KEYS[1] lease   ARGV[1] token
-- Returns 1.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
