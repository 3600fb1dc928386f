-- Appends one step to a correlation's timeline, bounded: the first ARGV[2] steps are kept in
-- KEYS[1], the last ARGV[3] in KEYS[2]; every step pushed out of the tail is counted.
-- KEYS[1] head list, KEYS[2] tail list, KEYS[3] meta hash (steps, omitted)
-- ARGV[1] step JSON, ARGV[2] head size, ARGV[3] tail size, ARGV[4] retention, seconds
-- Each stored value is "<sequence>|<step JSON>" (the sequence orders steps of the same ms).
-- Returns the step's sequence number.
-- Only keys that exist get their retention renewed (the tail exists once the head is full).
local seq = redis.call('HINCRBY', KEYS[3], 'steps', 1)
local value = seq .. '|' .. ARGV[1]
local ttl = tonumber(ARGV[4])
redis.call('EXPIRE', KEYS[3], ttl)
if seq <= tonumber(ARGV[2]) then
  redis.call('RPUSH', KEYS[1], value)
  redis.call('EXPIRE', KEYS[1], ttl)
else
  if redis.call('RPUSH', KEYS[2], value) > tonumber(ARGV[3]) then
    redis.call('LPOP', KEYS[2])
    redis.call('HINCRBY', KEYS[3], 'omitted', 1)
  end
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return seq
