-- The job document (core/documents.py JobSchema, what `GET /v1/jobs/{id}` answers) built from
-- the job's hash as a table (field -> string), as JSON: kept in the hash's `doc` field by
-- every write of the record, so that a read sends it as it is. Prepended to the scripts that
-- write a job record (`JobStore`), after a line that sets FINAL (the final statuses, from
-- core/states.py). tests/test_job_document_stored.py holds it to JobSchema.
local function job_doc(r)
  local parts = {}
  local function raw(name, value) parts[#parts + 1] = '"' .. name .. '":' .. value end
  local function text(name, value, absent)  -- absent: the default, or nil to leave it out
    if value ~= nil then raw(name, cjson.encode(value))
    elseif absent ~= nil then raw(name, absent) end
  end
  text('id', r.id)
  text('job_id', r.id)
  text('status', r.status)
  if r.status then raw('final', FINAL[r.status] and 'true' or 'false') end
  text('program_id', r.program_id)
  text('primitive_id', r.program_id)
  text('backend', r.backend)
  text('provider', r.provider)
  text('creation_date', r.created)
  text('updated', r.updated)
  raw('tags', r.tags or '[]')  -- JSON already, as records.py stores it
  text('session_id', r.session_id, 'null')
  text('image', r.image, '""')
  text('instance', r.instance, 'null')
  raw('version', string.format('%d', tonumber(r.version or '2')))
  if r.usage_estimation then
    -- as stored (Python's digits, or null), but only the one field the schema has
    local value = string.match(r.usage_estimation, '"quantum_seconds":%s*([^,}%s]+)')
    raw('usage_estimation', value and ('{"quantum_seconds":' .. value .. '}') or '{}')
  end
  text('error_message', r.error_message, 'null')
  text('runtime_job_id', r.runtime_job_id)
  text('callback_url', r.callback_url)
  if r.callback_events and r.callback_events ~= '' then  -- `,a,b,` as stored: a list
    local inner = string.gsub((string.gsub(r.callback_events, '^,+', '')), ',+$', '')
    local names, start = {}, 1
    while true do
      local comma = string.find(inner, ',', start, true)
      names[#names + 1] = cjson.encode(string.sub(inner, start, comma and comma - 1 or -1))
      if not comma then break end
      start = comma + 1
    end
    raw('callback_events', '[' .. table.concat(names, ',') .. ']')
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- the hash as a table, from HGETALL's flat reply (nil when there is no hash)
local function as_table(flat)
  if #flat == 0 then return nil end
  local r = {}
  for i = 1, #flat, 2 do r[flat[i]] = flat[i + 1] end
  return r
end
