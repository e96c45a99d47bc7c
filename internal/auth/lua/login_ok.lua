-- login_ok.lua: take back the count of an attempt that succeeded.
--
-- KEYS[1] account counter  sb:{ws}:lf:acct:<id>
-- KEYS[2] IP counter       sb:{ws}:lf:ip:<ip>
--
-- The account's failures are forgotten: its owner has just proved who they
-- are. The IP keeps its other failures, since one right password does not
-- make an address that guessed at many accounts trustworthy.
redis.call('DEL', KEYS[1])
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if n > 1 then
  redis.call('DECR', KEYS[2])
elseif n == 1 then
  redis.call('DEL', KEYS[2])
end
return 0
