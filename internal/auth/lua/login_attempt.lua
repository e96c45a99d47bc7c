-- login_attempt.lua: admit a login attempt, or refuse it for recent failures.
--
-- KEYS[1] account throttle  sb:{ws}:lf:acct:<id>       hash n, p, last
-- KEYS[2] address throttle  sb:{ws}:lf:pair:<id>:<ip>  hash n, p, last
-- KEYS[3] IP counter        sb:{ws}:lf:ip:<ip>         string
-- KEYS[4] known addresses   sb:{ws}:lf:known:<id>      zset ip -> last success (ms)
-- ARGV[1] now (ms)  ARGV[2] ip  ARGV[3] failures before throttling
-- ARGV[4] window (ms)  ARGV[5] first delay (ms)  ARGV[6] longest delay (ms)
-- ARGV[7] failures per IP
--
-- Only failures count (login_result records them), so correct logins never
-- use up anything. An account is throttled, not locked: after ARGV[3]
-- failures each further attempt must wait a delay that doubles with every
-- failure, up to ARGV[6]. Failures from addresses the account has signed
-- in from before (known addresses) are kept apart, per address, so an
-- attacker elsewhere cannot keep the account's owner out.
--
-- Attempts admitted but not yet decided (p) count like failures, and an
-- admission past the threshold takes the slot (last = now), so a burst of
-- parallel guesses gets no more tries than a sequence would.
--
-- The IP counter is a coarse cap on one address guessing at many accounts;
-- it must stay above what an office behind one NAT address mistypes.
--
-- Returns {0, 1} admitted on the account throttle, {0, 2} admitted on the
-- address throttle, {1, ms to wait} refused.
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[3])

local ipn = tonumber(redis.call('GET', KEYS[3]) or '0')
if ipn >= tonumber(ARGV[7]) then
  return {1, math.max(redis.call('PTTL', KEYS[3]), 1)}
end

local key, which = KEYS[1], 1
if redis.call('ZSCORE', KEYS[4], ARGV[2]) then
  key, which = KEYS[2], 2
end
local h = redis.call('HMGET', key, 'n', 'p', 'last')
local n = tonumber(h[1] or '0') + math.max(tonumber(h[2] or '0'), 0)
if n >= max then
  local delay = math.min(tonumber(ARGV[5]) * 2 ^ (n - max), tonumber(ARGV[6]))
  local ready = tonumber(h[3] or '0') + delay
  if now < ready then
    return {1, math.max(math.floor(ready - now), 1)}
  end
end
redis.call('HINCRBY', key, 'p', 1)
redis.call('HSET', key, 'last', now)
redis.call('PEXPIRE', key, ARGV[4])
return {0, which}
