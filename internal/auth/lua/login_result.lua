-- login_result.lua: record how an admitted login attempt ended.
--
-- KEYS[1] the throttle login_attempt admitted on (account or address)
-- KEYS[2] IP counter       sb:{ws}:lf:ip:<ip>
-- KEYS[3] known addresses  sb:{ws}:lf:known:<id>
-- ARGV[1] ok, fail or abort  ARGV[2] window (ms)  ARGV[3] now (ms)
-- ARGV[4] ip  ARGV[5] how long an address stays known (ms)
-- ARGV[6] how many addresses are kept
--
-- ok: the throttle is cleared (its owner has just proved who they are) and
-- the address becomes known for the account. The IP counter keeps its
-- failures: one right password does not make an address that guessed at
-- many accounts trustworthy.
-- fail: one more failure on the throttle and the IP; both are forgotten a
-- window after the last one (the IP's window runs from its first).
-- abort: the check could not be made (the store failed): nothing counts.
local p = redis.call('HINCRBY', KEYS[1], 'p', -1)
if p < 0 then
  -- A success cleared the throttle while this attempt was in flight.
  redis.call('HSET', KEYS[1], 'p', 0)
end
if ARGV[1] == 'ok' then
  redis.call('DEL', KEYS[1])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[6]) + 1))
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
  return 0
end
if ARGV[1] == 'fail' then
  redis.call('HINCRBY', KEYS[1], 'n', 1)
  if redis.call('INCR', KEYS[2]) == 1 then
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
