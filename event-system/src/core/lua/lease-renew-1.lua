--[[
Renew (ARGV[3] > 0) or release (ARGV[3] = 0) a partition lease, only for the holder of this
exact token: a stale owner (its lease expired and was taken with a newer token) gets 0.

KEYS[1]  lease: "<token> <owner>"
ARGV[1]  token    ARGV[2]  owner    ARGV[3]  new TTL, ms (0: release)
Returns 1 when done, 0 when the caller does not hold the lease (any more).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] .. ' ' .. ARGV[2] then return 0 end
if tonumber(ARGV[3]) == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
