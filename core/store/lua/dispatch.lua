-- Fair dispatch: which waiting job runs next, taken atomically by any worker on any host.
-- Every key it touches is passed in KEYS (`core/store/dispatch.py` builds them):
-- KEYS[1] ring (tenants with waiting jobs, scored by the turn they were last served),
-- KEYS[2] turn counter, KEYS[3] parked tokens, KEYS[4] RQ's set of workers on the jobs queue,
-- KEYS[5] tenants with dispatched jobs, KEYS[6] the dedicated sessions' reservations,
-- KEYS[7] their waiting jobs (the express line), KEYS[8] each such job's session and tenant,
-- KEYS[9] the batch of each waiting job in a batch,
-- then three keys for each tenant named in ARGV[7..]: its waiting line, its dispatched jobs and
-- its limits hash.
-- ARGV[1] mode: 'take' (the next job) or 'release' (a job ended: how many parked tokens to wake)
-- ARGV[2] now (s), ARGV[3] grace (s) a taken job has to start,
-- ARGV[4] running cap per tenant (0: the live workers less one, at least one),
-- ARGV[5] '1' for a sweeper's release, which also looks at every tenant with dispatched jobs,
-- ARGV[6] the express job a release is for ('' for any other), ARGV[7..] the tenants whose keys are given.
-- Dedicated sessions (`core/store/sessions.py` and `dispatch.py` say what they hold):
-- while any session holds a reservation or has a job in the express line, a take serves the
-- express line first, and other jobs start only while a worker stays free for each idle
-- reservation (never the last one: other tenants always keep a worker).
-- The tenants it must touch are found here (the ring, the active set): if one of them was not
-- given, it writes nothing and answers {'', 'stale', tenant, ...}, every tenant it needs, for the
-- caller to call again with their keys.
local ring, turn, parked, active = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
local reserved, express, express_of, batch_of = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local mode, now, grace, default_cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local sweeping = ARGV[5] == '1'
-- does a dedicated session hold or wait for a worker, or a batch's job wait? (one EXISTS in a
-- take; a release asks only for a session's job, ARGV[6], or with tokens parked: the common
-- case pays nothing more)
local sessions = (mode == 'take' or sweeping or ARGV[6] ~= '')
  and redis.call('EXISTS', reserved, express, batch_of) > 0
-- a job's end with no token parked (the common case) needs nothing more
if mode == 'release' and not sweeping and not sessions then
  if tonumber(redis.call('GET', parked) or '0') == 0 then return 0 end
  -- tokens are parked: a reservation may keep some of them from starting
  sessions = redis.call('EXISTS', reserved, express, batch_of) > 0
end

local given = {}  -- tenant -> {waiting, dispatched, limits}
for i = 7, #ARGV do
  local base = 9 + (i - 7) * 3
  given[ARGV[i]] = {KEYS[base + 1], KEYS[base + 2], KEYS[base + 3]}
end
local waiting_tenants = redis.call('ZRANGE', ring, 0, -1)
local visited = {}
-- with sessions, a take counts every tenant's dispatched jobs (the workers in use)
if sweeping or sessions then visited = redis.call('SMEMBERS', active) end
local express_jobs, express_owners = {}, {}
if sessions then
  express_jobs = redis.call('ZRANGE', express, 0, -1)
  if #express_jobs > 0 then express_owners = redis.call('HMGET', express_of, unpack(express_jobs)) end
end
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
  for _, owner in ipairs(express_owners) do
    if owner then need(cjson.decode(owner).tenant) end
  end
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

-- the reservations: session -> {tenant, busy (its job running, or ''), till, ttl, ends};
-- an idle one past its `till` (interactive_ttl after its last job) or its session's end lapses
local holds, idle, freed = {}, 0, 0
local function read_reservations()
  local flat = redis.call('HGETALL', reserved)
  for i = 1, #flat, 2 do
    local hold = cjson.decode(flat[i + 1])
    local keys = given[hold.tenant]
    if hold.busy ~= '' and keys and not redis.call('ZSCORE', keys[2], hold.busy) then
      -- its job is no longer dispatched (ended, or queued again) with no release seen (its
      -- worker died): idle from now
      hold.busy, hold.till = '', math.min(now + hold.ttl, hold.ends)
      redis.call('HSET', reserved, flat[i], cjson.encode(hold))
      freed = freed + 1
    end
    if (hold.busy == '' and hold.till < now) or hold.ends < now then
      redis.call('HDEL', reserved, flat[i])
    else
      holds[flat[i]] = hold
      if hold.busy == '' then idle = idle + 1 end
    end
  end
end
if sessions then read_reservations() end

-- how many jobs outside the express line may start: a worker stays free for each idle
-- reservation, but never the last one (other tenants always keep a worker)
local function others_may_start()
  local workers, busy = redis.call('SCARD', KEYS[4]), 0
  for _, tenant in ipairs(visited) do busy = busy + redis.call('ZCARD', given[tenant][2]) end
  return workers - busy - math.min(idle, workers - 1)
end

-- the first express job whose session has no other job running: (index, owner)
local function express_next()
  for i, id in ipairs(express_jobs) do
    local owner = express_owners[i]
    if not owner then
      redis.call('ZREM', express, id)  -- its session's record of it is gone: nothing to run
    else
      owner = cjson.decode(owner)
      local hold = holds[owner.session]
      if not hold or hold.busy == '' or hold.busy == id then return i, owner end
    end
  end
  return nil, nil
end

if mode == 'release' then
  for _, tenant in ipairs(visited) do running(tenant) end
  for session, hold in pairs(holds) do
    if hold.busy ~= '' and hold.busy == ARGV[6] then  -- the session's job ended: idle again
      hold.busy, hold.till = '', math.min(now + hold.ttl, hold.ends)
      redis.call('HSET', reserved, session, cjson.encode(hold))
      freed = freed + 1
    end
  end
  local tokens = tonumber(redis.call('GET', parked) or '0')
  if tokens == 0 then return 0 end
  local ready = 0
  if freed > 0 and express_next() then ready = 1 end
  local wake = math.min(tokens, startable())
  if idle > 0 then wake = math.min(wake, math.max(0, others_may_start())) end
  wake = math.min(tokens, wake + ready)
  if wake > 0 then redis.call('DECRBY', parked, wake) end
  return wake
end

-- take: the express line first; its job holds (or takes again) its session's reservation
if sessions then
  local index, owner = express_next()
  if index then
    local id, keys = express_jobs[index], given[owner.tenant]
    redis.call('ZREM', express, id)
    redis.call('HDEL', express_of, id)
    redis.call('HSET', reserved, owner.session, cjson.encode({tenant = owner.tenant, busy = id,
      till = owner.ends, ttl = owner.ttl, ends = owner.ends}))
    redis.call('ZADD', keys[2], 'NX', now, id)
    redis.call('SADD', active, owner.tenant)
    return {owner.tenant, id, 'express'}
  end
  if idle > 0 and #waiting_tenants > 0 and others_may_start() <= 0 then
    redis.call('INCR', parked)
    return {'', 'parked'}
  end
end

-- whether the job taken and the next in its tenant's line are of one batch
local function together(line, id)
  local batch = redis.call('HGET', batch_of, id)
  if not batch then return false end
  redis.call('HDEL', batch_of, id)
  local after = redis.call('ZRANGE', line, 0, 0)[1]
  return after ~= nil and redis.call('HGET', batch_of, after) == batch
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
      elseif sessions and together(keys[1], popped[1]) then  -- a batch: served again first
        local first = redis.call('ZRANGE', ring, 0, 0, 'WITHSCORES')
        redis.call('ZADD', ring, math.min(tonumber(first[2]), served) - 1, tenant)
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
-- every waiting tenant is at its cap, or a session's job waits for its previous one: the
-- token waits for a job to end
if capped or (sessions and redis.call('ZCARD', express) > 0) then
  redis.call('INCR', parked)
  return {'', 'parked'}
end
return {'', ''}
