-- Appends steps to a correlation's timeline, bounded: the first ARGV[1] steps are kept in
-- KEYS[1], the last ARGV[2] in KEYS[2]; every step pushed out of the tail is counted.
-- KEYS[1] head list, KEYS[2] tail list, KEYS[3] meta hash (steps, omitted)
-- ARGV[1] head size, ARGV[2] tail size, ARGV[3] retention, seconds, ARGV[4..] step JSONs in order
-- Each stored value is "<sequence>|<step JSON>" (the sequence orders steps of the same ms).
-- Only keys that exist get their retention renewed (the tail exists once the head is full).
-- Returns the last step's sequence number.
local headSize, tailSize, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local seq = redis.call('HINCRBY', KEYS[3], 'steps', #ARGV - 3) - (#ARGV - 3)
local toTail = false
for index = 4, #ARGV do
  seq = seq + 1
  local value = seq .. '|' .. ARGV[index]
  if seq <= headSize then
    redis.call('RPUSH', KEYS[1], value)
  else
    toTail = true
    if redis.call('RPUSH', KEYS[2], value) > tailSize then
      redis.call('LPOP', KEYS[2])
      redis.call('HINCRBY', KEYS[3], 'omitted', 1)
    end
  end
end
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('EXPIRE', KEYS[1], ttl)
if toTail then redis.call('EXPIRE', KEYS[2], ttl) end
return seq
