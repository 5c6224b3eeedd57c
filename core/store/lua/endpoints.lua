-- Change a tenant's webhook endpoint and the subscriptions every job transition reads, together
-- (`core/store/webhooks.py`). KEYS[1] the endpoint, KEYS[2] the tenant's endpoints,
-- KEYS[3] the tenant's subscriptions (event type -> JSON list of its enabled endpoints' ids),
-- KEYS[4] the endpoint's attempts.
-- ARGV[1] mode: create, update, enable, disable or delete; ARGV[2] the endpoint's id;
-- ARGV[3] the tenant (another tenant's endpoint is left alone: 0, as for none);
-- create: ARGV[4] most endpoints a tenant may have, ARGV[5] its score, ARGV[6] its fields;
-- update, enable, disable: ARGV[4] fields to set (JSON object), ARGV[5] fields to drop (JSON list)
local mode, id = ARGV[1], ARGV[2]

local function subscribe(events, wanted)
  for _, event in ipairs(events) do
    local ids = {}
    for _, other in ipairs(cjson.decode(redis.call('HGET', KEYS[3], event) or '[]')) do
      if other ~= id then ids[#ids + 1] = other end
    end
    if wanted then ids[#ids + 1] = id end
    if #ids == 0 then redis.call('HDEL', KEYS[3], event)
    else redis.call('HSET', KEYS[3], event, cjson.encode(ids)) end
  end
end

local function set(object)
  local fields = {}
  for field, value in pairs(object) do
    fields[#fields + 1] = field; fields[#fields + 1] = value
  end
  if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
end

if mode == 'create' then
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
  local fields = cjson.decode(ARGV[6])
  set(fields)
  redis.call('ZADD', KEYS[2], ARGV[5], id)
  subscribe(cjson.decode(fields.events), true)
  return 1
end

local tenant, enabled, events = unpack(redis.call('HMGET', KEYS[1], 'tenant', 'enabled', 'events'))
if tenant ~= ARGV[3] then return 0 end
if mode == 'delete' then
  subscribe(cjson.decode(events), false)
  redis.call('DEL', KEYS[1], KEYS[4])
  redis.call('ZREM', KEYS[2], id)
  return 1
end
if mode ~= 'update' and (mode == 'enable') == (enabled == '1') then return 2 end  -- so already
set(cjson.decode(ARGV[4]))
for _, field in ipairs(cjson.decode(ARGV[5])) do redis.call('HDEL', KEYS[1], field) end
if mode ~= 'update' then
  redis.call('HSET', KEYS[1], 'enabled', mode == 'enable' and '1' or '0')
  subscribe(cjson.decode(events), mode == 'enable')
end
return 1
