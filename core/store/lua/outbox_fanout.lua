-- Fan one event out of the outbox to the endpoints it is for, once: the entry leaves the outbox
-- in the same call that queues its deliveries (`core/store/outbox.py`), so a deliverer that dies
-- between the two loses nothing, and two deliverers that took the same entry queue it once.
-- KEYS[1] the outbox, KEYS[2] the event's body, KEYS[3] the ring of tenants, KEYS[4] the
-- tenant's ready endpoints, KEYS[5] deliveries in flight per endpoint, KEYS[6..] each
-- endpoint's due deliveries.
-- ARGV[1] the entry as the outbox holds it, ARGV[2] the body, ARGV[3] its TTL (s), ARGV[4] now
-- (ms), ARGV[5] most deliveries in flight per endpoint, ARGV[6] the delivery ("1:<event id>"),
-- ARGV[7] the tenant, ARGV[8..] the endpoints' ids, in KEYS' order.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
if #KEYS < 6 then return 1 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
local now, most = tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 6, #KEYS do
  local endpoint = ARGV[i + 2]
  redis.call('ZADD', KEYS[i], now, ARGV[6])
  if tonumber(redis.call('HGET', KEYS[5], endpoint) or '0') < most then
    redis.call('ZADD', KEYS[4], 'LT', now, endpoint)  -- a turn now, or sooner if it had one
  end
end
local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')[2]
if first then redis.call('ZADD', KEYS[3], 'LT', first, ARGV[7]) end
return 1
