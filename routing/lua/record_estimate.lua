-- record_estimate.lua: store the wait estimate a customer was given with the
-- conversation, so the accepted event can carry it and its accuracy can be
-- measured.
-- KEYS[1] events stream (see lib.lua)   KEYS[2] the conversation hash
-- ARGV[4] conversation id   ARGV[5] low ms   ARGV[6] high ms   ARGV[7] enough samples "1"/"0"
-- Returns {0} | {1} no such conversation
local c = conv_get(ARGV[4])
if not c then return {1} end
redis.call('HSET', KEYS[2], 'est_low', ARGV[5], 'est_high', ARGV[6], 'est_enough', ARGV[7], 'est_at', itoa(NOW))
emit('estimated', {'conv', c.id, 'queue', c.queue, 'channel', c.channel,
  'est_low_ms', ARGV[5], 'est_high_ms', ARGV[6], 'reason', ARGV[7] == '1' and '' or 'few samples'})
return {0}
