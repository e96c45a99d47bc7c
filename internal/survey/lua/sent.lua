-- sent.lua: record that a survey's question went out, unless the customer
-- answered it already (a chat visitor's buttons can beat this script).
-- KEYS[1] the survey hash   ARGV[1] the state "sent"   ARGV[2] now, unix ms
redis.call('HSET', KEYS[1], 'sent_at', ARGV[2])
if redis.call('HGET', KEYS[1], 'state') == 'scheduled' then
  redis.call('HSET', KEYS[1], 'state', ARGV[1])
end
return 1
