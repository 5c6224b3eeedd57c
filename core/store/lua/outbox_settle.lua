-- A delivery is over (delivered, given up, or to be tried again at a time): its lease and its
-- place in flight go, a retry waits in the endpoint's due deliveries, and an endpoint with room
-- and something due is ready again (`core/store/outbox.py`). A lease that is gone was recovered
-- meanwhile (its deliverer seemed dead): the recovery queued its retry; nothing is done twice.
-- KEYS[1] the ring of tenants, KEYS[2] the tenant's ready endpoints, KEYS[3] the endpoint's due
-- deliveries, KEYS[4] deliveries in flight per endpoint, KEYS[5] the leases.
-- ARGV[1] tenant, ARGV[2] endpoint, ARGV[3] the lease, ARGV[4] now (ms), ARGV[5] most in flight
-- per endpoint, ARGV[6] the retry's delivery ("" for none), ARGV[7] when it is due (ms).
if redis.call('ZREM', KEYS[5], ARGV[3]) == 0 then return 0 end
local endpoint, now = ARGV[2], tonumber(ARGV[4])
local flying = redis.call('HINCRBY', KEYS[4], endpoint, -1)
if flying <= 0 then redis.call('HDEL', KEYS[4], endpoint) end
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[3], ARGV[7], ARGV[6]) end
local due = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2]
if due and flying < tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[2], 'LT', math.max(now, tonumber(due)), endpoint)
  local ready = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
  redis.call('ZADD', KEYS[1], 'LT', math.max(now, tonumber(ready)), ARGV[1])
end
return 1
