-- Appends one flush of timeline steps to the current time bucket (README "Timeline"): whatever
-- the number of correlations, one HMGET, one HSET and the bucket's expiry, so a step costs a
-- field in an existing hash and no key of its own (issue #15's cost target).
-- KEYS[1] the bucket hash, KEYS[2] the registry of live buckets (sorted set, score = expiry)
-- ARGV[1] head size, ARGV[2] tail size, ARGV[3] the bucket's expiry (epoch ms), ARGV[4] now (epoch ms),
-- ARGV[5] n, then n entries: a correlation's field and its value in the stored form (below) of
-- at most 9 steps (a writer joins a correlation's steps that come one after the other, e.g. a
-- job's start and its end; a field may come in several entries: their steps are appended in
-- their order), then m, then per look-up: its field and the correlation id it points to.
-- A correlation's field holds one step (a JSON array: starts with '['), or "<count>\n" and
-- <count> lines. Once the lines outgrow head + 1 + 2 * tail they are cut to the first `head`,
-- a marker "#<omitted>" and the last `tail`, so compaction is amortised over `tail` appends;
-- readers merge the buckets and cut to the bound (timeline-reader.ts). Returns how many fields
-- the general path wrote (0: the fast path wrote every entry, or there were none).
-- Fast path (2026-12-03): when none of the n fields is in the bucket yet (a job's field in the
-- job drain, each job its own correlation) the entries are written as they came, by one HSET of
-- the arguments themselves: no table, no concatenation, no string built per entry. HSET answers
-- how many fields it added: fewer than n means a field came twice, and the general path then
-- writes every field again, merged. The general path appends to fields that exist.
-- (The arguments changed four times: a count before each step, then field and step per entry,
-- then field, count and steps per entry (timeline-append-2.lua), then field and stored value per
-- entry. The stored form is the same in all of them, so writers of any version can share the
-- master during a rolling upgrade: each calls its own script by its SHA.)
local head, tail, expireAt, now, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local bucket, registry = KEYS[1], KEYS[2]
local limit = head + 1 + 2 * tail
local general = 0

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

-- A stored value's count and steps.
local function split(value)
  if string.byte(value, 1) == 91 then return 1, value end -- '[': one step
  local cut = string.find(value, '\n', 1, true)
  return tonumber(string.sub(value, 1, cut - 1)), string.sub(value, cut + 1)
end

if n > 0 then
  local fields = {}
  for index = 1, n do fields[index] = ARGV[4 + 2 * index] end
  local old = redis.call('HMGET', bucket, unpack(fields, 1, n))
  -- An entry holds at most 9 steps: when the bound is at least that, a new field needs no cut.
  local fresh = limit >= 9
  if fresh then
    for index = 1, n do
      if old[index] then fresh = false break end
    end
  end
  if not fresh or redis.call('HSET', bucket, unpack(ARGV, 6, 5 + 2 * n)) ~= n then
    -- General path: each field's entries merged in order (counts and texts only for fields that
    -- come more than once), appended to what the bucket holds, cut at the bound.
    -- Table lengths kept in counters: `#t` is a binary search in Lua 5.1.
    local positions, unique, values, counts, texts = {}, 0, {}, {}, {}
    for index = 1, n do
      local field, value = fields[index], ARGV[5 + 2 * index]
      local at = positions[field]
      if at then
        local count, steps = split(value)
        if counts[at] then
          counts[at] = counts[at] + count
          texts[at] = texts[at] .. '\n' .. steps
        else
          local firstCount, firstSteps = split(values[at])
          counts[at] = firstCount + count
          texts[at] = firstSteps .. '\n' .. steps
        end
      else
        unique = unique + 1
        positions[field] = unique
        fields[unique] = field
        values[unique] = value
        -- `old` follows the first occurrences, as `fields` now does.
        old[unique] = old[index]
      end
    end
    local sets = {}
    for index = 1, unique do
      local previous = old[index]
      local count, steps = counts[index], texts[index]
      local value
      if not previous and not count and limit >= 9 then
        value = values[index]
      else
        if not count then count, steps = split(values[index]) end
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
      end
      sets[2 * index - 1] = fields[index]
      sets[2 * index] = value
    end
    redis.call('HSET', bucket, unpack(sets, 1, 2 * unique))
    general = unique
  end
end
local at = 6 + 2 * n
local m = tonumber(ARGV[at])
if m > 0 then redis.call('HSET', bucket, unpack(ARGV, at + 1, at + 2 * m)) end
redis.call('PEXPIREAT', bucket, expireAt)
redis.call('ZADD', registry, expireAt, bucket)
redis.call('ZREMRANGEBYSCORE', registry, '-inf', '(' .. now)
-- The registry lives as long as its last bucket (writers with several retentions may share it).
local last = redis.call('ZRANGE', registry, -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', registry, last[2]) end
return general
