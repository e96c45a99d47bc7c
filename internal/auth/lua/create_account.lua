-- create_account.lua: create an account unless its id is taken.
--
-- KEYS[1] account hash   sb:{ws}:acct:<id>
-- KEYS[2] account index  sb:{ws}:accts
-- ARGV[1] id   ARGV[2..] field, value pairs of the hash
--
-- Returns 1 when created, 0 when the id exists. One script, so two gateways
-- creating the first admin at the same start cannot both succeed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local fields = {}
for i = 2, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
