--[[
Acquire the lease of one partition (see partition-lease.ts). Free (or expired: the key is
gone): the next fencing token is taken and the lease written with its TTL. Held by the caller
already: renewed, same token. Held by another: refused.

KEYS[1]  lease: "<token> <owner>" with a TTL     KEYS[2]  fencing token counter
ARGV[1]  owner    ARGV[2]  TTL, ms
Returns the token (integer), or false when another owner holds the lease.
]]
local current = redis.call('GET', KEYS[1])
if current then
  local token, owner = string.match(current, '^(%d+) (.*)$')
  if owner ~= ARGV[1] then return false end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(token)
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return token
