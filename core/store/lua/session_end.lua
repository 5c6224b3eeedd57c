-- A session takes no more jobs: closed, cancelled, or expired at max_ttl.
-- KEYS[1] the session's hash, KEYS[2] every open session, KEYS[3] open dedicated sessions,
-- KEYS[4] the tenant's open dedicated sessions, KEYS[5] the tenant's event stream,
-- KEYS[6] the dispatch reservations (a cancelled or expired session frees its worker now).
-- ARGV[1] session id, ARGV[2] how it ended ('closed', 'cancelled', 'expired'), ARGV[3] when
-- (ISO), ARGV[4] the tenant event's data (JSON), ARGV[5] '1' to free the reservation.
-- Answers 0 when it had ended already (closing twice), 1 when it ends now.
if redis.call('HGET', KEYS[1], 'ended') ~= '' and redis.call('HGET', KEYS[1], 'ended') then
  return 0
end
redis.call('HSET', KEYS[1], 'ended', ARGV[2], 'accepting_jobs', '0', 'closed_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if ARGV[5] == '1' then redis.call('HDEL', KEYS[6], ARGV[1]) end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, '*', 'kind', 'session', 'data', ARGV[4])
return 1
