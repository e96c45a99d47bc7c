-- rate.lua: record a survey's one rating and count it in its day's figures.
-- KEYS[1] the survey hash   KEYS[2] the ratings stream sb:{ws}:survey:events,
-- which gets one entry per rating, for consumers in other processes (webhooks)
-- ARGV[1] score 1-5   ARGV[2] comment   ARGV[3] now, unix ms
-- ARGV[4] reply provider id ("" when rated on a page or in the widget)
-- ARGV[5] the figures key prefix ("sb:{ws}:survey:fig:")
-- ARGV[6] the score from which a rating counts as satisfied (4)
-- ARGV[7] the conversation id   ARGV[8] the ratings stream's cap
-- A survey still 'scheduled' but marked 'asking' is being sent: its question
-- may already be on the customer's screen, so its answer counts.
-- Returns {'none'} without a sent survey, {'dup', reply id} when it was
-- rated already, else {'ok'}.
local st = redis.call('HGET', KEYS[1], 'state')
local asking = st == 'scheduled' and redis.call('HGET', KEYS[1], 'asking') == '1'
if not st or (st ~= 'sent' and st ~= 'answered' and not asking) then return {'none'} end
if redis.call('HEXISTS', KEYS[1], 'score') == 1 then
  return {'dup', redis.call('HGET', KEYS[1], 'reply_id') or ''}
end
redis.call('HSET', KEYS[1], 'state', 'answered', 'score', ARGV[1], 'comment', ARGV[2],
  'rated_at', ARGV[3], 'reply_id', ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'day', 'queue', 'agent', 'channel', 'customer')
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], '*', 'type', 'rated', 'conv', ARGV[7],
  'customer', h[5] or '', 'agent', h[3] or '', 'queue', h[2] or '', 'channel', h[4] or '',
  'score', ARGV[1], 'comment', ARGV[2], 'at', ARGV[3])
local fig = ARGV[5] .. (h[1] or '')
local good = tonumber(ARGV[1]) >= tonumber(ARGV[6])
for _, dim in ipairs({'all|', 'q|' .. (h[2] or ''), 'a|' .. (h[3] or ''), 'c|' .. (h[4] or '')}) do
  redis.call('HINCRBY', fig, 'rated|' .. dim, 1)
  redis.call('HINCRBY', fig, 's' .. ARGV[1] .. '|' .. dim, 1)
  if good then redis.call('HINCRBY', fig, 'good|' .. dim, 1) end
end
return {'ok'}
