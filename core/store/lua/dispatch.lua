-- Fair dispatch: which waiting job runs next, taken atomically by any worker on any host.
-- KEYS[1] ring (tenants with waiting jobs, scored by the turn they were last served),
-- KEYS[2] turn counter, KEYS[3] parked tokens, KEYS[4] RQ's set of workers on the jobs queue,
-- KEYS[5] tenants with dispatched jobs
-- ARGV[1] mode: 'take' (the next job) or 'release' (a job ended: how many parked tokens to wake)
-- ARGV[2] key prefix of a tenant's waiting jobs, ARGV[3] of its running jobs, ARGV[4] of its
-- limits hash, ARGV[5] of a job's lease, ARGV[6] of a job record,
-- ARGV[7] now (s), ARGV[8] grace (s) a dispatched job has to take its lease,
-- ARGV[9] running cap per tenant (0: the live workers less one, at least one),
-- ARGV[10] tenant and ARGV[11] job id (release only; a sweeper's release names none and also
-- looks at every tenant with dispatched jobs)
local ring, turn, parked, active = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
local mode, waiting_p, running_p, limits_p = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lease_p, job_p = ARGV[5], ARGV[6]
local now, grace, default_cap = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local function fallback_cap()  -- read once, and only when some tenant has no cap of its own
  if default_cap <= 0 then default_cap = math.max(1, redis.call('SCARD', KEYS[4]) - 1) end
  return default_cap
end

local function wait_again(tenant, id)  -- first in its line, with a parked token to wake
  redis.call('ZADD', waiting_p .. tenant, 0, id)
  if not redis.call('ZSCORE', ring, tenant) then
    redis.call('ZADD', ring, (tonumber(redis.call('GET', turn)) or 0) - 0.5, tenant)
  end
  redis.call('INCR', parked)
end

-- a tenant's running jobs: those holding a lease, or dispatched moments ago (about to take it).
-- A job still QUEUED long after it was dispatched lost its worker before it started: it waits
-- again (should that worker only be slow, the transition table lets one of the two run it).
local function running(tenant)
  local key = running_p .. tenant
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local count = 0
  for i = 1, #entries, 2 do
    local id = entries[i]
    if redis.call('EXISTS', lease_p .. id) == 1 or now - tonumber(entries[i + 1]) < grace then
      count = count + 1
    else
      redis.call('ZREM', key, id)
      if redis.call('HGET', job_p .. id, 'status') == 'QUEUED' then wait_again(tenant, id) end
    end
  end
  if count == 0 then redis.call('SREM', active, tenant) end
  return count
end

local function cap(tenant)
  return tonumber(redis.call('HGET', limits_p .. tenant, 'max_running')) or fallback_cap()
end

-- the tenant's oldest waiting job that is still QUEUED (cancelled or deleted ones are dropped)
local function pop(tenant)
  local key = waiting_p .. tenant
  while true do
    local popped = redis.call('ZPOPMIN', key)
    if #popped == 0 then return nil end
    if redis.call('HGET', job_p .. popped[1], 'status') == 'QUEUED' then return popped[1] end
  end
end

-- jobs that could start now, over every waiting tenant
local function startable()
  local total = 0
  for _, tenant in ipairs(redis.call('ZRANGE', ring, 0, -1)) do
    local free = cap(tenant) - running(tenant)
    if free > 0 then total = total + math.min(free, redis.call('ZCARD', waiting_p .. tenant)) end
  end
  return total
end

if mode == 'release' then
  if ARGV[10] ~= '' then
    redis.call('ZREM', running_p .. ARGV[10], ARGV[11])
  else
    for _, tenant in ipairs(redis.call('SMEMBERS', active)) do running(tenant) end
  end
  local tokens = tonumber(redis.call('GET', parked) or '0')
  if tokens == 0 then return 0 end
  local wake = math.min(tokens, startable())
  if wake > 0 then redis.call('DECRBY', parked, wake) end
  return wake
end

-- take: the least recently served tenant below its cap gives its oldest waiting job
local capped = false
for _, tenant in ipairs(redis.call('ZRANGE', ring, 0, -1)) do
  if running(tenant) < cap(tenant) then
    local id = pop(tenant)
    if id then
      redis.call('ZADD', running_p .. tenant, now, id)
      redis.call('SADD', active, tenant)
      local served = redis.call('INCR', turn)
      if redis.call('ZCARD', waiting_p .. tenant) == 0 then
        redis.call('ZREM', ring, tenant)  -- back in the ring when it has a job waiting again
      else
        redis.call('ZADD', ring, served, tenant)
      end
      return {tenant, id}
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
