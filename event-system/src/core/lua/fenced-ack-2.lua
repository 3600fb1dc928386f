--[[
XACK fenced by the partition lease: acknowledges only while the caller's token is the current
lease. A stale owner (paused past its lease, then woken) is refused and acknowledges nothing;
the new owner has taken its pending entries over and handles them.

KEYS[1]  lease: "<token> <owner>"    KEYS[2]  the partition's stream
ARGV[1]  token    ARGV[2]  owner    ARGV[3]  group    ARGV[4…]  entry ids
Returns the number acknowledged, or an error "FENCED …" for a stale owner.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] .. ' ' .. ARGV[2] then
  return redis.error_reply('FENCED lease token ' .. ARGV[1] .. ' is no longer current')
end
if #ARGV < 4 then return 0 end
return redis.call('XACK', KEYS[2], ARGV[3], unpack(ARGV, 4))
