-- Appends one flush of timeline steps to the current time bucket (README "Timeline"): whatever
-- the number of correlations, one HMGET, one HSET and the bucket's expiry, so a step costs a
-- field in an existing hash and no key of its own (issue #15's cost target).
-- KEYS[1] the bucket hash, KEYS[2] the registry of live buckets (sorted set, score = expiry)
-- ARGV[1] head size, ARGV[2] tail size, ARGV[3] the bucket's expiry (epoch ms), ARGV[4] now (epoch ms),
-- ARGV[5] n, then n entries: a correlation's field, a count c and c steps joined by "\n" (a
-- writer joins a correlation's steps that come one after the other, e.g. a job's start and its
-- end; a field may come in several entries: their steps are appended in their order), then m,
-- then per look-up: its field and the correlation id it points to.
-- A correlation's field holds one step (a JSON array: starts with '['), or "<count>\n" and
-- <count> lines. Once the lines outgrow head + 1 + 2 * tail they are cut to the first `head`,
-- a marker "#<omitted>" and the last `tail`, so compaction is amortised over `tail` appends;
-- readers merge the buckets and cut to the bound (timeline-reader.ts). Returns n.
-- (The arguments changed twice on 2026-12-02: a count before each step, then field and step per
-- entry, then field, count and steps per entry. The stored form is the same in all three, so
-- writers of any version can share the master during a rolling upgrade: each calls its own
-- script by its SHA.)
local head, tail, expireAt, now, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local bucket, registry = KEYS[1], KEYS[2]

local function compact(steps)
  local lines = {}
  for line in string.gmatch(steps, '[^\n]+') do lines[#lines + 1] = line end
  local omitted, tailStart = 0, head + 1
  if string.sub(lines[head + 1], 1, 1) == '#' then
    omitted = tonumber(string.sub(lines[head + 1], 2))
    tailStart = head + 2
  end
  omitted = omitted + (#lines - tailStart + 1 - tail)
  local out = {}
  for index = 1, head do out[index] = lines[index] end
  out[head + 1] = '#' .. omitted
  for index = #lines - tail + 1, #lines do out[#out + 1] = lines[index] end
  return table.concat(out, '\n'), head + 1 + tail
end

-- Table lengths kept in counters: `#t` is a binary search in Lua 5.1.
local sets, setCount = {}, 0
if n > 0 then
  -- Each field's count and steps, in order (no table per field: most come once).
  local fields, fieldCount, counts, texts = {}, 0, {}, {}
  for at = 6, 3 + 3 * n, 3 do
    local field = ARGV[at]
    local count = counts[field]
    if count then
      counts[field] = count + tonumber(ARGV[at + 1])
      texts[field] = texts[field] .. '\n' .. ARGV[at + 2]
    else
      counts[field] = tonumber(ARGV[at + 1])
      texts[field] = ARGV[at + 2]
      fieldCount = fieldCount + 1
      fields[fieldCount] = field
    end
  end
  local old = redis.call('HMGET', bucket, unpack(fields, 1, fieldCount))
  local limit = head + 1 + 2 * tail
  for index = 1, fieldCount do
    local field = fields[index]
    local count, steps = counts[field], texts[field]
    local previous = old[index]
    local value
    if previous then
      if string.byte(previous, 1) == 91 then -- '[': one step
        count = count + 1
        if count > limit then steps, count = compact(previous .. '\n' .. steps) value = count .. '\n' .. steps
        else value = count .. '\n' .. previous .. '\n' .. steps end
      else
        local cut = string.find(previous, '\n', 1, true)
        count = count + tonumber(string.sub(previous, 1, cut - 1))
        if count > limit then steps, count = compact(string.sub(previous, cut + 1) .. '\n' .. steps) value = count .. '\n' .. steps
        else value = count .. string.sub(previous, cut) .. '\n' .. steps end
      end
    elseif count > limit then
      steps, count = compact(steps)
      value = count .. '\n' .. steps
    else
      value = count == 1 and steps or (count .. '\n' .. steps)
    end
    sets[setCount + 1] = field
    sets[setCount + 2] = value
    setCount = setCount + 2
  end
end
local at = 6 + 3 * n
for index = 1, tonumber(ARGV[at]) do
  sets[setCount + 1] = ARGV[at + 2 * index - 1]
  sets[setCount + 2] = ARGV[at + 2 * index]
  setCount = setCount + 2
end
if setCount > 0 then redis.call('HSET', bucket, unpack(sets, 1, setCount)) end
redis.call('PEXPIREAT', bucket, expireAt)
redis.call('ZADD', registry, expireAt, bucket)
redis.call('ZREMRANGEBYSCORE', registry, '-inf', '(' .. now)
-- The registry lives as long as its last bucket (writers with several retentions may share it).
local last = redis.call('ZRANGE', registry, -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', registry, last[2]) end
return n
