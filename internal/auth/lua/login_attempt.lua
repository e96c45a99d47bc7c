-- login_attempt.lua: admit a login attempt, or refuse it for recent failures.
--
-- KEYS[1] account counter  sb:{ws}:lf:acct:<id>
-- KEYS[2] IP counter       sb:{ws}:lf:ip:<ip>
-- ARGV[1] max failures     ARGV[2] window (ms)
--
-- An admitted attempt is counted as a failure before the password is
-- checked, in the same step as the check of the limit, so a burst of
-- parallel guesses gets no more tries than a sequence would. A successful
-- login takes its count back (login_ok). The window starts at the first
-- failure: the expiry is set when a counter is created, in this step, so a
-- counter never outlives it.
--
-- Returns {0} when admitted, {1, ms until the window ends} when refused.
local max = tonumber(ARGV[1])
local wait = -1
for i = 1, 2 do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= max then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl > wait then
      wait = ttl
    end
  end
end
if wait >= 0 then
  return {1, wait}
end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
end
return {0}
