--[[
The id of the last entry that a length limit lets go: the `excess`-th oldest entry of the
stream, where excess = XLEN - limit (capped at ARGV[2] per call, so one run stays short; the
next run takes the rest). Returns false when the stream is within the limit. Only the id
travels back, not the entries.

KEYS[1]  the stream
ARGV[1]  the length limit (entries kept)
ARGV[2]  the most entries one call may let go
]]
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return false end
if excess > tonumber(ARGV[2]) then excess = tonumber(ARGV[2]) end
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
local last = entries[#entries]
if last == nil then return false end
return last[1]
