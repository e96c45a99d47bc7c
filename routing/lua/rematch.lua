-- rematch.lua: the safety net run by the sweep. Every trigger already
-- matches what it changed; this catches whatever slipped through (a gateway
-- that died between steps, a decline cooldown that ran out) by trying the
-- head of each queue whose agents have room.
-- KEYS[1] events stream (see lib.lua)
-- ARGV[4..] queue names
-- Returns {0, offers made}
local offers = 0
for i = 4, #ARGV do
  local q = ARGV[i]
  for _, ch in ipairs(CHANNELS) do
    for _, set in ipairs({kq(q, ch), kovf(q, ch)}) do
      if redis.call('EXISTS', set) == 1 then
        for _, id in ipairs(redis.call('ZRANGE', set, 0, SCAN - 1)) do
          if offers >= 256 then return {0, offers} end
          offers = offers + serve_conv(id)
        end
      end
    end
  end
end
return {0, offers}
