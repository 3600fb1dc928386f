--[[
One transition of one DLQ entry, applied atomically (see entry-state.ts for the table).
Checks that the entry is in one of the allowed states at the expected version, then writes
the entry, its indexes, its state record and the counters, or removes it (discard, purge);
a park also adds the entry to its origin's alert bucket (see alerter.ts), in the same step.
An operator's transition appends its audit record to the audit stream first, before any
other write: if that XADD fails the script returns with nothing changed (Redis does not
roll back earlier writes of a script, so the order matters).
It also keeps the console's indexes in the same step: the facets hash (what a filtered page
checks per id), the search text, the entry's fingerprint index and the fingerprint counters
(stored entries per fingerprint, in total and per status).

KEYS[1]  entry JSON                      (dlqKeys.entry(id))
KEYS[2]  state hash: id -> "status|version|token"   (dlqKeys.state())
KEYS[3]  index: all                      KEYS[4]  index: kind
KEYS[5]  index: origin                   KEYS[6]  set of origin names
KEYS[7]  counters hash
KEYS[8]  index: class transient          KEYS[9]  index: class permanent
KEYS[10] index: status scheduled         KEYS[11] index: status retried
KEYS[12] index: status recovered         KEYS[13] index: status parked
KEYS[14] alert bucket of the entry's origin (hash)      KEYS[15] its entry ids (list)
KEYS[16] set of alert bucket names
KEYS[17] audit stream (AUDIT_STREAM)
KEYS[18] facets hash: id -> "kind|class|status|fingerprint|origin"   KEYS[19] search hash: id -> text
KEYS[20] index: the entry's fingerprint  KEYS[21] that fingerprint's meta hash
KEYS[22] fingerprint counts (sorted set fp -> stored entries)
KEYS[23..26] fingerprint counts per status (scheduled, retried, recovered, parked)

ARGV[1]  entry id
ARGV[2]  expected version (0: the entry must not exist yet)
ARGV[3]  allowed current states, space-separated ("new" is a missing entry)
ARGV[4]  new status: scheduled | retried | recovered | parked | discarded | purged
ARGV[5]  entry JSON (ignored for discarded/purged)
ARGV[6]  index score (creation time, ms)
ARGV[7]  classification: transient | permanent
ARGV[8]  origin name
ARGV[9]  retry token: "" keeps it, "-" clears it, anything else replaces it
ARGV[10] counters to increment by 1, space-separated (may be empty)
ARGV[11] alert bucket name ("" raises no alert; only used when the new status is parked)
ARGV[12] now, ms    ARGV[13] kind    ARGV[14] last error    ARGV[15] park reason
ARGV[16] entry ids kept per bucket
ARGV[17] audit record fields as a JSON array [name, value, ...] ("" writes no record)
ARGV[18] audit retention bound: XADD MINID ~ this (ms)
ARGV[19] fingerprint    ARGV[20] kind    ARGV[21] search text (lowercase)
ARGV[22] sample error message    ARGV[23] normalized message    ARGV[24] name
ARGV[25] "1" when a failure was seen in this step (receive, failAgain): the fingerprint's last seen moves

Returns {1, new status, new version}, on conflict {0, current status, current version}, or
{-1, error, current version} when the audit record could not be appended (nothing written).
]]
local id = ARGV[1]
local status, version, token = 'new', 0, ''
local current = redis.call('HGET', KEYS[2], id)
if current then
  local s, v, t = string.match(current, '^([^|]*)|([^|]*)|(.*)$')
  status, version, token = s, tonumber(v), t
end
local allowed = false
for name in string.gmatch(ARGV[3], '%S+') do
  if name == status then allowed = true end
end
if not allowed or version ~= tonumber(ARGV[2]) then
  return {0, status, tostring(version)}
end
if ARGV[17] ~= '' then
  local added = redis.pcall('XADD', KEYS[17], 'MINID', '~', ARGV[18], '*', unpack(cjson.decode(ARGV[17])))
  if type(added) == 'table' and added.err then return {-1, added.err, tostring(version)} end
end
local next_version = version + 1
local fp = ARGV[19]
-- The facets say whether the entry is in the console's indexes yet (entries stored before
-- them are added by the reindex transition) and under which status it is counted.
local facets = redis.call('HGET', KEYS[18], id)
local counted_status = false
if facets then counted_status = string.match(facets, '^[^|]*|[^|]*|([^|]*)|') end
local fp_statuses = {scheduled = 23, retried = 24, recovered = 25, parked = 26}
local function fp_count(key, delta)
  local left = tonumber(redis.call('ZINCRBY', key, delta, fp))
  if left <= 0 then redis.call('ZREM', key, fp) end
end
local to = ARGV[4]
if ARGV[9] == '-' then token = '' elseif ARGV[9] ~= '' then token = ARGV[9] end
if to == 'discarded' or to == 'purged' then
  redis.call('DEL', KEYS[1])
  for i = 3, 5 do redis.call('ZREM', KEYS[i], id) end
  for i = 8, 13 do redis.call('ZREM', KEYS[i], id) end
  if counted_status then
    redis.call('ZREM', KEYS[20], id)
    fp_count(KEYS[22], -1)
    if fp_statuses[counted_status] then fp_count(KEYS[fp_statuses[counted_status]], -1) end
    if not redis.call('ZSCORE', KEYS[22], fp) then redis.call('DEL', KEYS[21]) end
  end
  redis.call('HDEL', KEYS[18], id)
  redis.call('HDEL', KEYS[19], id)
  if to == 'purged' then
    redis.call('HDEL', KEYS[2], id)
  else
    redis.call('HSET', KEYS[2], id, 'discarded|' .. next_version .. '|')
  end
else
  local score = ARGV[6]
  redis.call('SET', KEYS[1], ARGV[5])
  for i = 3, 5 do redis.call('ZADD', KEYS[i], score, id) end
  redis.call('SADD', KEYS[6], ARGV[8])
  if ARGV[7] == 'transient' then
    redis.call('ZADD', KEYS[8], score, id)
    redis.call('ZREM', KEYS[9], id)
  else
    redis.call('ZADD', KEYS[9], score, id)
    redis.call('ZREM', KEYS[8], id)
  end
  local statuses = {'scheduled', 'retried', 'recovered', 'parked'}
  for i = 1, 4 do
    if statuses[i] == to then redis.call('ZADD', KEYS[9 + i], score, id) else redis.call('ZREM', KEYS[9 + i], id) end
  end
  redis.call('HSET', KEYS[2], id, to .. '|' .. next_version .. '|' .. token)
  if counted_status then
    if counted_status ~= to then
      if fp_statuses[counted_status] then fp_count(KEYS[fp_statuses[counted_status]], -1) end
      fp_count(KEYS[fp_statuses[to]], 1)
    end
  else
    redis.call('ZADD', KEYS[20], score, id)
    fp_count(KEYS[22], 1)
    fp_count(KEYS[fp_statuses[to]], 1)
    redis.call('HSETNX', KEYS[21], 'firstSeenMs', score)
    redis.call('HSET', KEYS[21], 'origin', ARGV[8], 'kind', ARGV[20], 'name', ARGV[24], 'normalized', ARGV[23])
    redis.call('HSETNX', KEYS[21], 'lastSeenMs', score)
    redis.call('HSETNX', KEYS[21], 'sample', ARGV[22])
  end
  if ARGV[25] == '1' then
    redis.call('HSET', KEYS[21], 'lastSeenMs', ARGV[12], 'sample', ARGV[22])
  end
  redis.call('HSET', KEYS[18], id, ARGV[20] .. '|' .. ARGV[7] .. '|' .. to .. '|' .. fp .. '|' .. ARGV[8])
  redis.call('HSET', KEYS[19], id, ARGV[21])
end
for counter in string.gmatch(ARGV[10], '%S+') do
  redis.call('HINCRBY', KEYS[7], counter, 1)
end
if to == 'parked' and ARGV[11] ~= '' then
  redis.call('HSETNX', KEYS[14], 'firstAtMs', ARGV[12])
  redis.call('HSET', KEYS[14], 'kind', ARGV[13], 'origin', ARGV[8], 'lastAtMs', ARGV[12], 'lastError', ARGV[14], 'lastReason', ARGV[15])
  redis.call('HINCRBY', KEYS[14], 'count', 1)
  redis.call('RPUSH', KEYS[15], id)
  redis.call('LTRIM', KEYS[15], 0, tonumber(ARGV[16]) - 1)
  redis.call('SADD', KEYS[16], ARGV[11])
end
return {1, to, tostring(next_version)}
