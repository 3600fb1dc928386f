-- Appends one flush of timeline steps: every correlation of the flush in one call, so a step
-- costs one RPUSH argument and a correlation one RPUSH and one EXPIRE (issue #15's cost target).
-- KEYS[1..n]   timeline lists, one per correlation (a key may repeat: chunks of one correlation)
-- KEYS[n+1..]  id look-up keys (event id or <queue>:<jobId> -> correlation id)
-- ARGV[1] head size, ARGV[2] tail size, ARGV[3] retention, seconds, ARGV[4] n (lists),
-- then per list: its step count c and its c compact steps in order,
-- then per look-up key: the correlation id it points to.
-- A list holds its first `head` steps, then (once it outgrew head + 2 tails) one marker
-- "#<omitted>" and the last steps. It is compacted only when the part after the head reaches
-- twice the tail size, so compaction is amortised over `tail` appends; readers cut the tail to
-- its size and count the rest (timeline-reader.ts). Steps are JSON arrays, never start with '#'.
-- Every written key gets its retention renewed. Returns n.
local head, tail, ttl, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local at = 5
for index = 1, n do
  local key = KEYS[index]
  local count = tonumber(ARGV[at])
  local length = redis.call('RPUSH', key, unpack(ARGV, at + 1, at + count))
  at = at + count + 1
  if length > head + 1 + 2 * tail then
    local marker = redis.call('LINDEX', key, head)
    local omitted, tailStart = 0, head
    if string.sub(marker, 1, 1) == '#' then
      omitted = tonumber(string.sub(marker, 2))
      tailStart = head + 1
    end
    local kept = redis.call('LRANGE', key, -tail, -1)
    omitted = omitted + (length - tailStart - tail)
    redis.call('LTRIM', key, 0, head - 1)
    redis.call('RPUSH', key, '#' .. omitted, unpack(kept))
  end
  redis.call('EXPIRE', key, ttl)
end
for index = n + 1, #KEYS do
  redis.call('SET', KEYS[index], ARGV[at], 'EX', ttl)
  at = at + 1
end
return n
