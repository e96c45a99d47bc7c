-- lib/customer.lua: the customer behind an address or a merged id, for the
-- scripts that meet customers (receive.lua, start.lua, update.lua);
-- loadScript puts it in front of them. It only defines functions, so each script's slot probe is
-- still its first command.

-- resolve_customer follows merges: a merged customer keeps merged_into
-- pointing at the winner.
local function resolve_customer(p, id)
  for _ = 1, 32 do
    local m = redis.call('HGET', p .. 'cust:' .. id, 'merged_into')
    if not m or m == '' then return id end
    id = m
  end
  return id
end

-- customer_at returns the customer whose identity key is ident, following
-- merges, and false; or, for an address nobody has yet, creates new_id with
-- the identity kind:addr and name, announces customer.created on the
-- conversation event stream (capped near maxlen; conv is the conversation
-- it arrives with) and returns new_id and true.
local function customer_at(p, ident, kind, addr, new_id, name, now, ch, conv, maxlen)
  local cust = redis.call('GET', ident)
  if cust then return resolve_customer(p, cust), false end
  redis.call('HSET', p .. 'cust:' .. new_id, 'id', new_id, 'name', name, 'created_at', now)
  redis.call('SADD', p .. 'cust:' .. new_id .. ':idents', kind .. ':' .. addr)
  redis.call('SET', ident, new_id)
  redis.call('XADD', p .. 'convevents', 'MAXLEN', '~', maxlen, '*', 'type', 'customer.created',
    'cust', new_id, 'channel', ch, 'address', kind .. ':' .. addr, 'name', name, 'conv', conv, 'at', now)
  return new_id, true
end

