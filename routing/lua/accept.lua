-- accept.lua: an agent accepts the conversation offered to it.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the conversation hash
-- ARGV[4] conversation id               ARGV[5] agent id
-- Returns {0} | {1} no such conversation | {2} not offered to this agent, or
-- the offer's deadline passed (the lease lapsed: nothing is written and the
-- recoverer requeues it)
local id, aid = ARGV[4], ARGV[5]
local c = conv_get(id)
if not c then return {1} end
if c.state ~= 'offered' or c.agent ~= aid then return {2} end
if num(c.deadline) < NOW then return {2} end
accept_now(c, aid, '')
return {0}
