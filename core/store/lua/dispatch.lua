-- Fair dispatch: which waiting job runs next, taken atomically by any worker on any host.
-- Every key it touches is passed in KEYS (`core/store/dispatch.py` builds them):
-- KEYS[1] ring (tenants with waiting jobs, scored by the turn they were last served),
-- KEYS[2] turn counter, KEYS[3] parked tokens, KEYS[4] RQ's set of workers on the jobs queue,
-- KEYS[5] tenants with dispatched jobs,
-- then three keys for each tenant named in ARGV[6..]: its waiting line, its dispatched jobs and
-- its limits hash.
-- ARGV[1] mode: 'take' (the next job) or 'release' (a job ended: how many parked tokens to wake)
-- ARGV[2] now (s), ARGV[3] grace (s) a taken job has to start,
-- ARGV[4] running cap per tenant (0: the live workers less one, at least one),
-- ARGV[5] '1' for a sweeper's release, which also looks at every tenant with dispatched jobs,
-- ARGV[6..] the tenants whose keys are given.
-- The tenants it must touch are found here (the ring, the active set): if one of them was not
-- given, it writes nothing and answers {'', 'stale', tenant, ...}, every tenant it needs, for the
-- caller to call again with their keys.
local ring, turn, parked, active = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
local mode, now, grace, default_cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local sweeping = ARGV[5] == '1'
-- a job's end with no token parked (the common case) needs nothing more
if mode == 'release' and not sweeping and tonumber(redis.call('GET', parked) or '0') == 0 then
  return 0
end

local given = {}  -- tenant -> {waiting, dispatched, limits}
for i = 6, #ARGV do
  local base = 5 + (i - 6) * 3
  given[ARGV[i]] = {KEYS[base + 1], KEYS[base + 2], KEYS[base + 3]}
end
local waiting_tenants = redis.call('ZRANGE', ring, 0, -1)
local visited = {}
if sweeping then visited = redis.call('SMEMBERS', active) end
do
  local needed, stale, seen = {'', 'stale'}, false, {}
  local function need(tenant)
    if seen[tenant] then return end
    seen[tenant] = true
    needed[#needed + 1] = tenant
    if not given[tenant] then stale = true end
  end
  for _, tenant in ipairs(waiting_tenants) do need(tenant) end
  for _, tenant in ipairs(visited) do need(tenant) end
  if stale then return needed end
end

local function fallback_cap()  -- read once, and only when some tenant has no cap of its own
  if default_cap <= 0 then default_cap = math.max(1, redis.call('SCARD', KEYS[4]) - 1) end
  return default_cap
end

local function wait_again(tenant, id)  -- first in its line, with a parked token to wake
  redis.call('ZADD', given[tenant][1], 0, id)
  if not redis.call('ZSCORE', ring, tenant) then
    redis.call('ZADD', ring, (tonumber(redis.call('GET', turn)) or 0) - 0.5, tenant)
  end
  redis.call('INCR', parked)
end

-- a tenant's running jobs: its dispatched ones, started (scored +inf by their transition) or
-- taken moments ago (scored by when: about to start). A job taken long ago that never started
-- lost its worker before it started: it waits again (its transitions take it out of the set
-- when it is queued again, ends or is cancelled, so it is still QUEUED). A sweeper also forgets
-- tenants with nothing dispatched.
local function running(tenant)
  local dispatched = given[tenant][2]
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', dispatched, '-inf', now - grace)) do
    redis.call('ZREM', dispatched, id)
    wait_again(tenant, id)
  end
  local count = redis.call('ZCARD', dispatched)
  if count == 0 and sweeping then redis.call('SREM', active, tenant) end
  return count
end

local function cap(tenant)
  return tonumber(redis.call('HGET', given[tenant][3], 'max_running')) or fallback_cap()
end

-- jobs that could start now, over every waiting tenant
local function startable()
  local total = 0
  for _, tenant in ipairs(waiting_tenants) do
    local free = cap(tenant) - running(tenant)
    if free > 0 then total = total + math.min(free, redis.call('ZCARD', given[tenant][1])) end
  end
  return total
end

if mode == 'release' then
  for _, tenant in ipairs(visited) do running(tenant) end
  local tokens = tonumber(redis.call('GET', parked) or '0')
  if tokens == 0 then return 0 end
  local wake = math.min(tokens, startable())
  if wake > 0 then redis.call('DECRBY', parked, wake) end
  return wake
end

-- take: the least recently served tenant below its cap gives its oldest waiting job (a job
-- leaves its line when it is cancelled or deleted, in the same transition)
local capped = false
for _, tenant in ipairs(waiting_tenants) do
  local keys = given[tenant]
  if running(tenant) < cap(tenant) then
    local popped = redis.call('ZPOPMIN', keys[1])
    if #popped > 0 then
      redis.call('ZADD', keys[2], 'NX', now, popped[1])  -- NX: started already by a slow worker
      redis.call('SADD', active, tenant)
      local served = redis.call('INCR', turn)
      if redis.call('ZCARD', keys[1]) == 0 then
        redis.call('ZREM', ring, tenant)  -- back in the ring when it has a job waiting again
      else
        redis.call('ZADD', ring, served, tenant)
      end
      return {tenant, popped[1]}
    end
    redis.call('ZREM', ring, tenant)
  else
    capped = true
  end
end
if capped then  -- every waiting tenant is at its cap: the token waits for a job to end
  redis.call('INCR', parked)
  return {'', 'parked'}
end
return {'', ''}
