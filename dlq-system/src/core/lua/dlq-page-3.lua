--[[
One page of a DLQ listing, newest first: walks one index (the filter's smallest) from a
cursor and keeps the ids whose facets (and search text) match the rest of the filter.
Examines at most ARGV[8] index entries, so a rare match costs a bounded page, never a scan
of the whole index; the answer says where it stopped.

KEYS[1]  the index walked (sorted set id -> creation time ms)
KEYS[2]  facets hash: id -> "kind|class|status|fingerprint|origin"  (dlqKeys.facets())
KEYS[3]  search hash: id -> lowercase text                          (dlqKeys.search())

ARGV[1]  cursor score ("" starts at the newest)    ARGV[2] cursor id (the last id examined)
ARGV[3]  newest creation time (ms, inclusive; "+inf")    ARGV[4] oldest ("-inf")
ARGV[5]  kind ("" any)    ARGV[6] classification    ARGV[7] status
ARGV[8]  most index entries examined    ARGV[9] most ids returned
ARGV[10] fingerprint ("" any)    ARGV[11] origin ("" any)    ARGV[12] search text ("" none)

Returns {examined, ended (1: the index or the time range ran out), last score, last id, id...}.
]]
local index = KEYS[1]
local max_examined = tonumber(ARGV[8])
local limit = tonumber(ARGV[9])
local kind, class, status, fp, origin, q = ARGV[5], ARGV[6], ARGV[7], ARGV[10], ARGV[11], ARGV[12]
local check_facets = kind ~= '' or class ~= '' or status ~= '' or fp ~= '' or origin ~= ''
local oldest = ARGV[4] == '-inf' and nil or tonumber(ARGV[4])

-- Rank of the first entry to examine: right after the cursor (its rank when it is still
-- indexed, else after every entry ordered before it), or the newest within the time range.
local start
local skip_score, skip_id = nil, nil
if ARGV[1] ~= '' then
  local rank = redis.call('ZREVRANK', index, ARGV[2])
  local score = redis.call('ZSCORE', index, ARGV[2])
  if rank and score and tonumber(score) == tonumber(ARGV[1]) then
    start = rank + 1
  else
    start = redis.call('ZCOUNT', index, '(' .. ARGV[1], '+inf')
    skip_score, skip_id = tonumber(ARGV[1]), ARGV[2]
  end
elseif ARGV[3] ~= '+inf' then
  start = redis.call('ZCOUNT', index, '(' .. ARGV[3], '+inf')
else
  start = 0
end

local found = {}
local examined = 0
local ended = 0
local last_score, last_id = ARGV[1], ARGV[2]
local chunk = 200
while examined < max_examined and #found < limit do
  local want = math.min(chunk, max_examined - examined)
  local rows = redis.call('ZREVRANGE', index, start, start + want - 1, 'WITHSCORES')
  if #rows == 0 then ended = 1 break end
  local stop = false
  for i = 1, #rows, 2 do
    local id, score = rows[i], tonumber(rows[i + 1])
    start = start + 1
    if oldest and score < oldest then ended = 1 stop = true break end
    -- Entries ordered before the (gone) cursor: same score, id not after it in reverse order.
    if not (skip_score and score == skip_score and id >= skip_id) then
      examined = examined + 1
      last_score, last_id = rows[i + 1], id
      local ok = true
      if check_facets then
        local f = redis.call('HGET', KEYS[2], id)
        if not f then
          ok = false
        else
          local k, c, s, p, o = string.match(f, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
          ok = (kind == '' or k == kind) and (class == '' or c == class) and (status == '' or s == status)
            and (fp == '' or p == fp) and (origin == '' or o == origin)
        end
      end
      if ok and q ~= '' then
        local text = redis.call('HGET', KEYS[3], id)
        ok = text ~= false and string.find(text, q, 1, true) ~= nil
      end
      if ok then
        found[#found + 1] = id
        if #found >= limit then stop = true break end
      end
      if examined >= max_examined then stop = true break end
    end
  end
  if stop then break end
  if #rows < want * 2 then ended = 1 break end
end
local reply = {examined, ended, last_score, last_id}
for i = 1, #found do reply[#reply + 1] = found[i] end
return reply
