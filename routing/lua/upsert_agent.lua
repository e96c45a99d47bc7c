-- upsert_agent.lua: create an agent or change its settings. State and load
-- of an existing agent are kept; a new agent starts offline.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the agent hash
-- ARGV[4] agent id   ARGV[5] display name   ARGV[6] skills ",a,b,"
-- ARGV[7] queues served "q1,q2"   ARGV[8] capacities "voice=1,chat=3,..."
-- ARGV[9] voice exclusive "1"/"0"   ARGV[10] consecutive misses before away
-- Returns {0, offers made}
local aid = ARGV[4]
local old = redis.call('HGET', KEYS[2], 'queues')
if old then unlist(aid, old) end
redis.call('HSET', KEYS[2], 'name', ARGV[5], 'skills', ARGV[6], 'queues', ARGV[7],
  'excl', ARGV[9], 'max_missed', ARGV[10])
for ch, n in string.gmatch(ARGV[8], '([^,=]+)=(%d+)') do
  redis.call('HSET', KEYS[2], 'cap:' .. ch, n)
end
if not old then
  local t = itoa(NOW)
  redis.call('HSET', KEYS[2], 'state', 'offline', 'state_since', t, 'idle_since', t, 'missed', '0',
    unpack(idle_all(t)))
  redis.call('SADD', KAGENTS, aid)
end
agent_dirty(aid)
refresh(aid, true)
return {0, serve_agent(aid)}
