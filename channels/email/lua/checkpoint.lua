-- checkpoint.lua: record the last UID stored, for the lease holder only and
-- only forward (within one UIDVALIDITY).
-- KEYS[1] lease             sb:{ws}:email:lease:<mailbox>
-- KEYS[2] checkpoint hash   sb:{ws}:email:ckpt:<mailbox> (uidvalidity, uid)
-- ARGV[1] token   ARGV[2] uidvalidity   ARGV[3] uid
-- Returns 1 written (or already there), 0 lease lost.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local f = redis.call('HMGET', KEYS[2], 'uidvalidity', 'uid')
if f[1] == ARGV[2] and tonumber(f[2] or '0') >= tonumber(ARGV[3]) then return 1 end
redis.call('HSET', KEYS[2], 'uidvalidity', ARGV[2], 'uid', ARGV[3])
return 1
