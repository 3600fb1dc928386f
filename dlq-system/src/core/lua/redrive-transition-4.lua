--[[
One transition of one DLQ redrive task, applied atomically (see redrive-task.ts for the
table). Checks that the task is in one of the allowed states at the expected version, then
writes the given fields, the new status and version + 1, and keeps the index, the live set
and the frozen selection in step. A task entering a final status, and its selection, expire
after ARGV[6] ms.

KEYS[1]  task hash                   (dlqKeys.task(id))
KEYS[2]  index: task id by creation time, ms  (dlqKeys.tasks())
KEYS[3]  set of live (pending, running) task ids  (dlqKeys.liveTasks())
KEYS[4]  the task's selection: list of entry ids  (dlqKeys.taskIds(id))

ARGV[1]  task id
ARGV[2]  expected version ("0": the task must not exist yet; "*": any, for cancel, which must
         not lose to the runner's checkpoints: the runner's next write then conflicts)
ARGV[3]  allowed current statuses, space-separated ("new" is a missing task)
ARGV[4]  new status: pending | running | cancelled | done | failed
ARGV[5]  now, ms
ARGV[6]  how long a finished task is kept, ms
ARGV[7]  owner the caller must hold ("" checks nothing: creation, claim, cancel)
ARGV[8…] field, value, field, value, … to write

Returns {"ok", the task hash after the write (HGETALL)} | {"conflict", current status, current version}
]]
local current = redis.call('HMGET', KEYS[1], 'status', 'version', 'owner')
local status = current[1] or 'new'
local version = current[2] or '0'
local allowed = false
for name in string.gmatch(ARGV[3], '%S+') do
  if name == status then allowed = true end
end
-- The owner is the fence: a runner whose lease was taken over writes nothing more.
if not allowed or (ARGV[2] ~= '*' and version ~= ARGV[2]) or (ARGV[7] ~= '' and (current[3] or '') ~= ARGV[7]) then
  return {'conflict', status, version}
end
if status == 'new' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
  -- The selection was written (with an expiry, in case its creator died) before this step.
  redis.call('PERSIST', KEYS[4])
end
local next = tostring(tonumber(version) + 1)
if #ARGV > 7 then redis.call('HSET', KEYS[1], unpack(ARGV, 8)) end
redis.call('HSET', KEYS[1], 'status', ARGV[4], 'version', next, 'updatedAtMs', ARGV[5])
local to = ARGV[4]
if to == 'pending' or to == 'running' then
  redis.call('SADD', KEYS[3], ARGV[1])
else
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[4], ARGV[6])
end
return {'ok', redis.call('HGETALL', KEYS[1])}
