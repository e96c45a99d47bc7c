-- tag.lua: add or remove one tag of a customer, announcing a change.
--
-- KEYS[1] customer tags set   sb:{ws}:cust:<id>:tags
-- KEYS[2] event stream        sb:{ws}:convevents
-- ARGV[1] customer id   ARGV[2] tag   ARGV[3] "1" add, "0" remove
-- ARGV[4] event stream cap   ARGV[5] now (ms)
--
-- Returns 1 changed (customer.updated written), 0 the set was already so.
local n
if ARGV[3] == '1' then
  n = redis.call('SADD', KEYS[1], ARGV[2])
else
  n = redis.call('SREM', KEYS[1], ARGV[2])
end
if n == 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'type', 'customer.updated',
    'cust', ARGV[1], 'changes', 'tags', 'at', ARGV[5])
end
return n
