-- A new session, within the caps on dedicated sessions open at once.
-- KEYS[1] the session's hash, KEYS[2] the tenant's sessions (by creation),
-- KEYS[3] every open session (by when max_ttl ends it), KEYS[4] open dedicated sessions,
-- KEYS[5] the tenant's open dedicated sessions (both by when they end), KEYS[6] the tenant's
-- event stream.
-- ARGV[1] now (s), ARGV[2] ends at (s), ARGV[3] created (µs), ARGV[4] '1' for dedicated,
-- ARGV[5] per-tenant cap, ARGV[6] overall cap, ARGV[7] session id,
-- ARGV[8] the event's data (JSON), ARGV[9..] field, value, ...
-- Answers 'ok', 'tenant' or 'all' (which cap it would pass).
local now, ends = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[4] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
  if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[5]) then return 'tenant' end
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then return 'all' end
  redis.call('ZADD', KEYS[4], ends, ARGV[7])
  redis.call('ZADD', KEYS[5], ends, ARGV[7])
end
for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[7])
redis.call('ZADD', KEYS[3], ends, ARGV[7])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', 10000, '*', 'kind', 'session', 'data', ARGV[8])
return 'ok'
