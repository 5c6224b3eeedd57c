-- One page of a tenant's jobs, newest first, from index sorted sets scored by creation time (µs).
-- KEYS[1] the index to walk (the smallest), KEYS[2..] indexes a job must also be in
-- ARGV[1] max score, ARGV[2] min score, ARGV[3] cursor score or "", ARGV[4] cursor id,
-- ARGV[5] limit, ARGV[6] most entries to examine
-- Returns {id, score, id, score, ...}; a trailing {"", score, id} marks where a scan budget ran out.
-- Whether each job is still there (not expired) is the caller's to see, as it reads them.
local walk, limit, budget = KEYS[1], tonumber(ARGV[5]), tonumber(ARGV[6])
local max, min = ARGV[1], ARGV[2]
local cscore, cid = ARGV[3], ARGV[4]
if cscore ~= '' then max = cscore end
local out, found, examined, offset = {}, 0, 0, 0
while found < limit and examined < budget do
  local batch = redis.call('ZREVRANGEBYSCORE', walk, max, min, 'WITHSCORES', 'LIMIT', offset, 200)
  if #batch == 0 then return out end
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    examined = examined + 1
    local after_cursor = cscore == '' or tonumber(score) < tonumber(cscore) or id < cid
    if after_cursor then
      local keep = true
      for k = 2, #KEYS do
        if keep and not redis.call('ZSCORE', KEYS[k], id) then keep = false end
      end
      if keep then
        out[#out + 1] = id
        out[#out + 1] = score
        found = found + 1
        if found == limit then return out end
      end
    end
    if examined >= budget then
      out[#out + 1] = ''
      out[#out + 1] = score
      out[#out + 1] = id
      return out
    end
  end
  offset = offset + 200
end
return out
