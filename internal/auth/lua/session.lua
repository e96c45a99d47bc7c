-- session.lua: resolve a session to its account and slide its expiry.
--
-- KEYS[1] session hash  sb:{ws}:sess:<sha256 hex>
-- ARGV[1] prefix "sb:{ws}:"   ARGV[2] now (ms)   ARGV[3] idle timeout (ms)
-- ARGV[4] absolute timeout (ms)   ARGV[5] touch after (ms)
--
-- Times come from the caller's clock, not Redis's, so tests can expire a
-- session without waiting; the key's PEXPIRE only collects the garbage.
-- The account is read in the same step so a disabled account or a changed
-- role takes effect on the next request. The account key shares the
-- session's hash tag.
--
-- Returns {} when there is no live session (an expired one is deleted),
-- else {acct, csrf, name, role, disabled, skills, queues, display name}.
-- Touch a never-written key first: while the slot migrates, the source node
-- refuses it, before this script writes anything (internal/store retries).
redis.call('EXISTS', ARGV[1] .. 'slot-probe')
local s = redis.call('HMGET', KEYS[1], 'acct', 'csrf', 'created', 'seen')
if not s[1] then
  return {}
end
local now = tonumber(ARGV[2])
local created, seen = tonumber(s[3]), tonumber(s[4])
if now - seen > tonumber(ARGV[3]) or now - created > tonumber(ARGV[4]) then
  redis.call('DEL', KEYS[1])
  return {}
end
local a = redis.call('HMGET', ARGV[1] .. 'acct:' .. s[1], 'name', 'role', 'disabled', 'skills', 'queues', 'display')
if not a[2] then
  redis.call('DEL', KEYS[1])
  return {}
end
if now - seen > tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 'seen', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {s[1], s[2], a[1] or '', a[2], a[3] or '0', a[4] or '', a[5] or '', a[6] or ''}
