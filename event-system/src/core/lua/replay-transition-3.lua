--[[
One transition of one replay task, applied atomically (see replay-task.ts for the table).
Checks that the task is in one of the allowed states at the expected version, then writes the
given fields, the new state and version + 1; keeps the running set and the index in step.
A task entering a final state expires after ARGV[7] ms.

KEYS[1]  task hash      (replayKeys(stream).task(id))
KEYS[2]  index: task id by creation time, ms (replayKeys(stream).index)
KEYS[3]  set of running task ids (replayKeys(stream).running)

ARGV[1]  task id
ARGV[2]  expected version ("0": the task must not exist yet)
ARGV[3]  allowed current states, space-separated ("new" is a missing task)
ARGV[4]  new state: running | completed | cancelled | failed
ARGV[5]  now, ms
ARGV[6]  most running tasks (checked only when a task is created)
ARGV[7]  how long a finished task is kept, ms
ARGV[8…] field, value, field, value, … to write

Returns {"ok", the task hash after the write (HGETALL)} | {"conflict", current state, current version} | {"full", running}
]]
local current = redis.call('HMGET', KEYS[1], 'state', 'version')
local state = current[1] or 'new'
local version = current[2] or '0'
local allowed = false
for name in string.gmatch(ARGV[3], '%S+') do
  if name == state then allowed = true end
end
if not allowed or version ~= ARGV[2] then
  return {'conflict', state, version}
end
if state == 'new' then
  local running = redis.call('SCARD', KEYS[3])
  if ARGV[4] == 'running' and running >= tonumber(ARGV[6]) then return {'full', tostring(running)} end
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
local next = tostring(tonumber(version) + 1)
if #ARGV > 7 then redis.call('HSET', KEYS[1], unpack(ARGV, 8)) end
redis.call('HSET', KEYS[1], 'state', ARGV[4], 'version', next, 'updatedAt', ARGV[5])
if ARGV[4] == 'running' then
  redis.call('SADD', KEYS[3], ARGV[1])
else
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
end
return {'ok', redis.call('HGETALL', KEYS[1])}
