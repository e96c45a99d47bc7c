-- agent_state.lua: an agent (or supervisor) sets the agent's state. Going
-- away or offline sends the agent's open offers back to the queue; becoming
-- available fills the agent's free capacity at once.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the agent hash
-- ARGV[4] agent id   ARGV[5] state: available | away | offline   ARGV[6] reason
-- Returns {0, offers made} | {8} no such agent
local aid, st = ARGV[4], ARGV[5]
if redis.call('EXISTS', KEYS[2]) == 0 then return {8} end
set_state(aid, st, ARGV[6])
if st ~= 'available' then
  requeue_agent_offers(aid, 'agent ' .. st)
  return {0, 0}
end
return {0, serve_agent(aid)}
