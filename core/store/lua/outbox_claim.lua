-- Take the endpoint's first due delivery, if it has room in flight, under a lease; then give the
-- endpoint and its tenant their next turns (`core/store/outbox.py`). Served, each goes behind
-- those that waited longer (never before now): tenants take turns, and so do a tenant's
-- endpoints; an endpoint with its most in flight, or nothing waiting, leaves its tenant's ready
-- set until a delivery settles.
-- KEYS[1] the ring of tenants, KEYS[2] the tenant's ready endpoints, KEYS[3] the endpoint's due
-- deliveries, KEYS[4] deliveries in flight per endpoint, KEYS[5] the leases.
-- ARGV[1] tenant, ARGV[2] endpoint ("": none is ready, only the tenant's turn is set again),
-- ARGV[3] now (ms), ARGV[4] when the lease ends (ms), ARGV[5] most in flight per endpoint.
-- Returns {delivery, lease}, or nil.
local tenant, endpoint, now, most = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
local flying = tonumber(redis.call('HGET', KEYS[4], endpoint) or '0')
local taken = nil
if endpoint ~= '' and flying < most then
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if first[1] and tonumber(first[2]) <= now then
    redis.call('ZREM', KEYS[3], first[1])
    flying = redis.call('HINCRBY', KEYS[4], endpoint, 1)
    taken = {first[1], cjson.encode({tenant, endpoint, first[1]})}
    redis.call('ZADD', KEYS[5], ARGV[4], taken[2])
  end
end
local due = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2]
if flying >= most or not due then redis.call('ZREM', KEYS[2], endpoint)
else redis.call('ZADD', KEYS[2], math.max(now, tonumber(due)), endpoint) end
local ready = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
if not ready then redis.call('ZREM', KEYS[1], tenant)
else redis.call('ZADD', KEYS[1], math.max(now, tonumber(ready)), tenant) end
return taken
