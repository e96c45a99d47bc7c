-- login_failed.lua: count one failed login against an account and an IP.
--
-- KEYS[1] account counter  sb:{ws}:lf:acct:<id>
-- KEYS[2] IP counter       sb:{ws}:lf:ip:<ip>
-- ARGV[1] window (ms)
--
-- The window starts at the first failure: the expiry is set only when a
-- counter is created, in the same step, so a counter can never outlive it.
-- Returns {account count, IP count}.
local out = {}
for i = 1, 2 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
  out[i] = n
end
return out
