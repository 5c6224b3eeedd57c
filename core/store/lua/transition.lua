-- Move a job to a new status, atomically, if the transition table allows it. Every key it
-- touches is passed in KEYS (`JobStore.transition` builds them):
-- KEYS[1] job hash, KEYS[2] job event stream, KEYS[3] running jobs (leases.py), KEYS[4] this job's
-- lease (leases.py), KEYS[5] transition counts, KEYS[6] recent run times (stats.py),
-- KEYS[7] the tenant's event stream, KEYS[8] the tenant's index of the new status,
-- KEYS[9] the tenant's waiting line, KEYS[10] its dispatched jobs (dispatch.py: a local
-- job's place in fair dispatch, kept in step with its status), KEYS[11] the tenant's webhook
-- subscriptions (webhooks.py), KEYS[12] the webhook outbox (outbox.py),
-- KEYS[13 .. 12+F] the tenant's index of each status it may come from (in ARGV[2]'s order),
-- then E keys to expire with the job when the change is final, then the blobs to store
-- ARGV[1] to, ARGV[2] allowed-from (",A,B,"), ARGV[3] now (RFC 3339), ARGV[4] timestamp field or "",
-- ARGV[5] extra hash fields (JSON object), ARGV[6] final ("1"/"0"), ARGV[7] retention seconds,
-- ARGV[8] the job's tenant (checked against the record), ARGV[9] event data (JSON),
-- ARGV[10] tenant event data (JSON),
-- ARGV[11] kind of an event to log with the change ("" for none), ARGV[12] its data,
-- ARGV[13] events to append, as JSON [[kind, data], ...] (log lines, interim results),
-- ARGV[14] a lease to take, as JSON {"worker", "ms", "at"} ("" for none),
-- ARGV[15] seconds the job ran, to remember when it is final ("" for none),
-- ARGV[16] E, ARGV[17] the webhook event of the change ("" for none), ARGV[18] its id,
-- ARGV[19] its name between commas (to find in the job's `callback_events`),
-- ARGV[20..] the blobs' values
local job, events = KEYS[1], KEYS[2]
local to, now, final = ARGV[1], ARGV[3], ARGV[6] == '1'
local cur, tenant, score, id, callback, called_for = unpack(redis.call(
  'HMGET', job, 'status', 'tenant', 'score', 'id', 'callback_url', 'callback_events'))
if not cur then return {'missing', ''} end
local from_index, position = nil, 13
for status in string.gmatch(ARGV[2], '[^,]+') do
  if status == cur then from_index = KEYS[position] end
  position = position + 1
end
if not from_index then return {'refused', cur} end
if tenant ~= ARGV[8] then return redis.error_reply('the job belongs to another tenant') end
local first_expiring, first_blob = position, position + tonumber(ARGV[16])

local fields = {'status', to, 'updated', now}
if ARGV[4] ~= '' then fields[#fields + 1] = ARGV[4]; fields[#fields + 1] = now end
for field, value in pairs(cjson.decode(ARGV[5])) do
  fields[#fields + 1] = field; fields[#fields + 1] = value
end
redis.call('HSET', job, unpack(fields))  -- one write of the record
local ttl = tonumber(ARGV[7])
for i = first_blob, #KEYS do  -- a final change's blobs expire with the job from the start
  if final then redis.call('SET', KEYS[i], ARGV[i - first_blob + 20], 'EX', ttl)
  else redis.call('SET', KEYS[i], ARGV[i - first_blob + 20]) end
end

if ARGV[14] ~= '' then  -- before anyone can see the job RUNNING, its worker holds the lease
  local lease = cjson.decode(ARGV[14])
  redis.call('SET', KEYS[4], lease.worker, 'PX', lease.ms)
  redis.call('ZADD', KEYS[3], lease.at, id)
  redis.call('ZADD', KEYS[10], 'inf', id)  -- started: it counts until its next change
elseif to ~= 'RUNNING' then  -- queued again, or ended: no longer dispatched
  redis.call('ZREM', KEYS[10], id)
  if final and cur == 'QUEUED' then redis.call('ZREM', KEYS[9], id) end  -- leaves its line
end

redis.call('ZREM', from_index, id)
redis.call('ZADD', KEYS[8], score, id)

-- a final change: what led to it first, then the status; otherwise the status first
local function log_appends()
  for _, entry in ipairs(cjson.decode(ARGV[13])) do
    redis.call('XADD', events, '*', 'kind', entry[1], 'data', entry[2])
  end
  if ARGV[11] ~= '' then redis.call('XADD', events, '*', 'kind', ARGV[11], 'data', ARGV[12]) end
end
if final then log_appends() end
redis.call('XADD', events, '*', 'kind', 'status', 'data', ARGV[9])
if not final then log_appends() end
redis.call('XADD', KEYS[7], 'MAXLEN', '~', 10000, '*', 'kind', 'status', 'data', ARGV[10])
redis.call('HINCRBY', KEYS[5], to, 1)

-- the webhook event, posted with the change or not at all: for the tenant's endpoints that
-- asked for it and the job's own callback; with the record as it is now, for its `data`
if ARGV[17] ~= '' then
  local endpoints = redis.call('HGET', KEYS[11], ARGV[17])
  local call = callback and string.find(called_for or ARGV[19], ARGV[19], 1, true) ~= nil
  if endpoints or call then
    redis.call('LPUSH', KEYS[12], cjson.encode({
      id = ARGV[18], type = ARGV[17], tenant = tenant, at = now,
      job = redis.call('HGETALL', job), endpoints = cjson.decode(endpoints or '[]'),
      callback = call}))
  end
end

if final then
  for i = 1, 2 do redis.call('EXPIRE', KEYS[i], ttl) end
  for i = first_expiring, first_blob - 1 do redis.call('EXPIRE', KEYS[i], ttl) end
  redis.call('ZREM', KEYS[3], id)
  redis.call('DEL', KEYS[4])
  if ARGV[15] ~= '' then
    -- the last 50 are read; trimmed once in 50 pushes, not at each
    if redis.call('LPUSH', KEYS[6], ARGV[15]) > 100 then redis.call('LTRIM', KEYS[6], 0, 49) end
  end
end
return {'ok', cur}
