-- schedule.lua: claim a conversation's one survey and put it in the due set.
-- KEYS[1] the survey hash    KEYS[2] the due sorted set
-- ARGV[1] conversation id    ARGV[2] due time, unix ms
-- ARGV[3..] field, value pairs of the survey hash
-- Returns 1 when this call claimed the survey, 0 when it existed (a retry,
-- another gateway): one survey per conversation, whoever asks how often.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local f = {}
for i = 3, #ARGV do f[#f + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], 'state', 'scheduled', 'due', ARGV[2], unpack(f))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
