-- transition.lua moves one call from one of some states to another and
-- sets fields with it, atomically, so that two webhooks or a webhook and a
-- routing event racing over one call (the caller hangs up as an agent
-- accepts) act once.
--
-- KEYS[1]  the call's hash (sb:{ws}:voice:call:<CallSid>)
-- ARGV[1]  the new state
-- ARGV[2]  TTL of the hash in seconds, refreshed
-- ARGV[3]  n, how many states the call may be in
-- ARGV[4 .. 3+n]  those states
-- ARGV[4+n ..]    field, value pairs to set along with the state
--
-- Returns the state the call was in when it moved, or false (nil) when it
-- was in none of the states or is unknown.
local cur = redis.call('HGET', KEYS[1], 'state')
if not cur then
  return false
end
local n = tonumber(ARGV[3])
local ok = false
for i = 4, 3 + n do
  if ARGV[i] == cur then
    ok = true
    break
  end
end
if not ok then
  return false
end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
for i = 4 + n, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return cur
