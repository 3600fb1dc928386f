--[[
Deletes a hash field only while it still holds the value that was read (a "retry handled"
record that was consumed; a newer record written meanwhile stays).

KEYS[1]  the hash
ARGV[1]  field
ARGV[2]  expected value

Returns 1 when deleted, 0 otherwise.
]]
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
