-- lib/optout.lua: whether a customer opted out of a channel (texted STOP),
-- for the scripts that read it along their own work (receive.lua,
-- claim.lua, reply.lua); loadScript puts it in front of them. It only
-- defines a function, so each script's slot probe is still its first
-- command.

-- opted_out is "1" when the key optout:<channel>:<address> (keys.go)
-- exists under the prefix p, else "0".
local function opted_out(p, ch, addr)
  return tostring(redis.call('EXISTS', p .. 'optout:' .. (ch or '') .. ':' .. (addr or '')))
end

