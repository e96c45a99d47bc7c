-- link.lua: give a customer one more identity that nobody has yet.
--
-- KEYS[1] ident key  sb:{ws}:ident:<channel>:<address>
-- KEYS[2] customer hash   KEYS[3] customer idents set
-- KEYS[4] event stream sb:{ws}:convevents: customer.updated when linked
-- ARGV[1] customer id   ARGV[2] "<channel>:<address>"
-- ARGV[3] event stream cap   ARGV[4] now (ms)
--
-- Returns {0, id} linked (or already this customer's), {1, ""} no such
-- customer, {2, owner} the identity belongs to another customer (the caller
-- merges).
if redis.call('EXISTS', KEYS[2]) == 0 then return {1, ''} end
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return {2, owner} end
redis.call('SET', KEYS[1], ARGV[1])
if redis.call('SADD', KEYS[3], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'type', 'customer.updated',
    'cust', ARGV[1], 'changes', 'identities', 'at', ARGV[4])
end
return {0, ARGV[1]}
