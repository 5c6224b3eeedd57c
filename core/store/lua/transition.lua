-- Move a job to a new status, atomically, if the transition table allows it.
-- KEYS[1] job hash, KEYS[2] job event stream, KEYS[3] running jobs (leases.py), KEYS[4] this job's
-- lease (leases.py), KEYS[5] transition counts, KEYS[6] recent run times (stats.py),
-- KEYS[7..] blobs to store with the change
-- ARGV[1] to, ARGV[2] allowed-from (",A,B,"), ARGV[3] now (RFC 3339), ARGV[4] timestamp field or "",
-- ARGV[5] extra hash fields (JSON object), ARGV[6] final ("1"/"0"), ARGV[7] retention seconds,
-- ARGV[8] key prefix of tenant indexes and streams ("gw:t:"), ARGV[9] event data (JSON),
-- ARGV[10] tenant event data (JSON),
-- ARGV[11] kind of an event to log with the change ("" for none), ARGV[12] its data,
-- ARGV[13] entries to append, as JSON [[list suffix, item, event kind, event data], ...],
-- ARGV[14] a lease to take, as JSON {"worker", "ms", "at"} ("" for none),
-- ARGV[15] seconds the job ran, to remember when it is final ("" for none), ARGV[16..] blobs
local job, events = KEYS[1], KEYS[2]
local to, now, prefix, final = ARGV[1], ARGV[3], ARGV[8], ARGV[6] == '1'
local cur, tenant, score, id = unpack(redis.call('HMGET', job, 'status', 'tenant', 'score', 'id'))
if not cur then return {'missing', ''} end
if not string.find(ARGV[2], ',' .. cur .. ',', 1, true) then return {'refused', cur} end

local fields = {'status', to, 'updated', now}
if ARGV[4] ~= '' then fields[#fields + 1] = ARGV[4]; fields[#fields + 1] = now end
for field, value in pairs(cjson.decode(ARGV[5])) do
  fields[#fields + 1] = field; fields[#fields + 1] = value
end
redis.call('HSET', job, unpack(fields))  -- one write of the record
for i = 7, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 9]) end

if ARGV[14] ~= '' then  -- before anyone can see the job RUNNING, its worker holds the lease
  local lease = cjson.decode(ARGV[14])
  redis.call('SET', KEYS[4], lease.worker, 'PX', lease.ms)
  redis.call('ZADD', KEYS[3], lease.at, id)
end

local index = prefix .. tenant .. ':status:'
redis.call('ZREM', index .. cur, id)
redis.call('ZADD', index .. to, score, id)

-- a final change: what led to it first, then the status; otherwise the status first
local function log_appends()  -- each list pushed once, each entry its own event, in order
  local lists = {}
  for _, entry in ipairs(cjson.decode(ARGV[13])) do
    lists[entry[1]] = lists[entry[1]] or {}
    table.insert(lists[entry[1]], entry[2])
    redis.call('XADD', events, '*', 'kind', entry[3], 'data', entry[4])
  end
  for suffix, items in pairs(lists) do
    for first = 1, #items, 1000 do  -- unpack has a bound on how many values it takes
      redis.call('RPUSH', job .. suffix, unpack(items, first, math.min(first + 999, #items)))
    end
  end
  if ARGV[11] ~= '' then redis.call('XADD', events, '*', 'kind', ARGV[11], 'data', ARGV[12]) end
end
if final then log_appends() end
redis.call('XADD', events, '*', 'kind', 'status', 'data', ARGV[9])
if not final then log_appends() end
redis.call('XADD', prefix .. tenant .. ':events', 'MAXLEN', '~', 10000, '*',
  'kind', 'status', 'data', ARGV[10])
redis.call('HINCRBY', KEYS[5], to, 1)

if final then
  local ttl = tonumber(ARGV[7])
  for _, suffix in ipairs({'', ':inputs', ':result', ':runtime', ':samples', ':events', ':logs',
                           ':interim'}) do
    redis.call('EXPIRE', job .. suffix, ttl)
  end
  redis.call('ZREM', KEYS[3], id)
  redis.call('DEL', KEYS[4])
  if ARGV[15] ~= '' then
    redis.call('LPUSH', KEYS[6], ARGV[15])
    redis.call('LTRIM', KEYS[6], 0, 49)
  end
end
return {'ok', cur}
