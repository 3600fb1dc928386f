#!/usr/bin/env bash
# The compose stage's own checks, on a stack that `docker compose up -d --wait` started (the
# same env as test-event-infrastructure.sh --mode compose: ENV_FILE, COMPOSE_PROJECT_NAME and
# the *_HOST_PORT variables):
#   scale    --scale event-processor=3: three replicas join the one consumer group, and the
#            check script's event checks (each event handled once, none pending) pass across them;
#   kill     `docker compose kill -s KILL` of each of the six services in turn, then
#            `docker compose up -d --wait` (Docker counts a kill as a manual stop: no restart
#            policy applies); then a crash of each Node service (SIGKILL of its node process
#            from the host), which the restart policy (unless-stopped) must recover alone.
#            Before each kill a delayed job, an event whose trigger makes a job and a failing
#            job are submitted; after it every service is healthy again, the jobs complete and
#            the failing one is parked in the DLQ: nothing lost. A Redis is killed only after
#            1.5 s: appendfsync everysec loses at most the last second of writes.
# Usage: scripts/ci/compose-faults.sh scale|kill. Exit 1 if a check failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/env.sh
. "$ROOT/scripts/lib/env.sh"
# shellcheck source=scripts/lib/checks.sh
. "$ROOT/scripts/lib/checks.sh"
CHECK_MODE=compose
load_stack_env || exit 2
checks_init
STALL_RECOVERY_SEC=$(( (${JOB_LOCK_DURATION_MS:-30000} + 2 * ${JOB_STALLED_INTERVAL_MS:-30000}) / 1000 + 15 ))

_container_ids() { _compose ps -q "$1" 2>/dev/null; }

# Every container of the project is running and healthy (the Redis and the services all have
# health checks), and there are at least $1 of them.
_all_containers_healthy() {
  local ids states
  ids=$(_compose ps -q 2>/dev/null) || return 1
  (( $(wc -w <<<"$ids") >= $1 )) || return 1
  # shellcheck disable=SC2086 # one id per word
  states=$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' $ids) || return 1
  ! grep -qv '^running/healthy$' <<<"$states"
}

# --- scale ---------------------------------------------------------------------------------

_replicas_in_group() {
  local ids id consumers
  ids=$(_container_ids event-processor)
  (( $(wc -w <<<"$ids") == 3 )) || { echo "$(wc -w <<<"$ids") event-processor containers, not 3"; return 1; }
  consumers=$(rcli_streams XINFO CONSUMERS "$STREAM_NAME" "$CONSUMER_GROUP" | grep -E '^[0-9a-f]{12}-') || true
  for id in $ids; do
    # Consumer names start with the hostname, which is the short container id.
    grep -q "^${id:0:12}-" <<<"$consumers" || { echo "no consumer of replica ${id:0:12} in group $CONSUMER_GROUP"; return 1; }
  done
}

run_scale() {
  check "three event-processor replicas run and each has consumers in group $CONSUMER_GROUP" wait_until 30 _replicas_in_group
}

# --- kill ----------------------------------------------------------------------------------


# Submits the work that must survive the kill; sets KILL_JOB, KILL_EVENT, KILL_FAILING.
_submit_work() {
  KILL_JOB="kill-$1-$(new_uuid)"
  api POST "$QUEUE_API/jobs/async-processing" "{\"name\":\"demo.sleep\",\"data\":{\"durationMs\":100,\"steps\":1},\"opts\":{\"jobId\":\"$KILL_JOB\",\"delay\":3000}}"
  [ "$API_STATUS" = 201 ] || { echo "POST /jobs answered $API_STATUS: $API_BODY"; return 1; }
  api POST "$QUEUE_API/events" "{\"type\":\"workspace.created\",\"data\":{\"workspaceId\":\"w-kill-$1\",\"name\":\"kill $1\",\"ownerId\":\"u-kill\"}}"
  [ "$API_STATUS" = 202 ] || { echo "POST /events answered $API_STATUS: $API_BODY"; return 1; }
  KILL_EVENT=$(echo "$API_BODY" | json_get id) || return 1
  KILL_FAILING="kill-fail-$1-$(new_uuid)"
  api POST "$QUEUE_API/jobs/async-processing" "{\"name\":\"demo.fail\",\"data\":{\"permanent\":true,\"message\":\"compose kill\"},\"opts\":{\"jobId\":\"$KILL_FAILING\",\"delay\":3000}}"
  [ "$API_STATUS" = 201 ] || { echo "POST /jobs (failing) answered $API_STATUS: $API_BODY"; return 1; }
}

_event_job_completed() {
  rcli_queue ZRANGE bull:event-driven-jobs:completed +inf -inf BYSCORE REV LIMIT 0 1000 | grep -q -- "-$KILL_EVENT\$"
}
# The entry id of a first failure: job-<queue>-<jobId>-0 (see scripts/checks/70-dlq.sh).
_failing_parked() {
  api GET "$DLQ_API/dlq/job-async-processing-$KILL_FAILING-0"
  [ "$API_STATUS" = 200 ] && [ "$(echo "$API_BODY" | json_get status)" = parked ]
}
_restarted() { [ "$(docker inspect -f '{{.RestartCount}}' "$1")" -gt "$2" ]; }

# _kill_and_recover SERVICE compose|crash
_kill_and_recover() {
  local service=$1 how=$2 id count started pid
  id=$(_container_ids "$service" | head -n 1)
  [ -n "$id" ] || { echo "no container for $service"; return 1; }
  count=$(docker inspect -f '{{.RestartCount}}' "$id")
  _submit_work "$service" || return 1
  case "$service" in redis*) sleep 1.5 ;; esac
  started=$SECONDS
  if [ "$how" = compose ]; then
    _compose kill -s KILL "$service" >/dev/null 2>&1 || { echo "docker compose kill -s KILL $service failed"; return 1; }
    _compose up -d --wait >/dev/null 2>&1 || { echo "docker compose up -d --wait failed after killing $service"; return 1; }
  else
    # PID 1 is tini (init: true); its child is node.
    pid=$(pgrep -P "$(docker inspect -f '{{.State.Pid}}' "$id")" -x node) || { echo "no node process in $service"; return 1; }
    kill -KILL "$pid" || return 1
    wait_until 60 _restarted "$id" "$count" || { echo "$service was not restarted by its restart policy within 60 s"; return 1; }
  fi
  wait_until 90 _all_containers_healthy 6 || { echo "not every service healthy within 90 s after killing $service: $(_compose ps -a --format '{{.Service}}:{{.State}}:{{.Health}}:exit {{.ExitCode}}' | tr '\n' ' ')"; return 1; }
  wait_until 60 job_state async-processing "$KILL_JOB" completed || { echo "delayed job $KILL_JOB did not complete after the kill: $API_BODY"; return 1; }
  # A trigger job the killed queue processor held active waits out the stalled check (README
  # "Jobs: retries, timeouts, long jobs"): up to JOB_LOCK_DURATION_MS + 2 x JOB_STALLED_INTERVAL_MS, 90 s with the defaults.
  wait_until "$STALL_RECOVERY_SEC" _event_job_completed || { echo "the event $KILL_EVENT submitted before the kill made no completed job within ${STALL_RECOVERY_SEC} s"; return 1; }
  wait_until 60 _failing_parked || { echo "failing job $KILL_FAILING is not parked in the DLQ after the kill"; return 1; }
  echo "$service ($how): healthy again, all work done $((SECONDS - started)) s after the kill" >>"$CHECK_TMP/kill-times"
}

run_kill() {
  local service
  for service in queue-processor event-processor dlq-processor redis-queue redis-streams redis; do
    check "docker compose kill -s KILL $service, up --wait: healthy again, nothing submitted before lost" _kill_and_recover "$service" compose
  done
  for service in queue-processor event-processor dlq-processor; do
    check "crash of $service (SIGKILL of node): the restart policy brings it back, nothing lost" _kill_and_recover "$service" crash
  done
  sed 's/^/      /' "$CHECK_TMP/kill-times" 2>/dev/null || true
}

case "${1:-}" in
  scale) run_scale ;;
  kill) run_kill ;;
  *) echo "usage: scripts/ci/compose-faults.sh scale|kill" >&2; exit 2 ;;
esac
checks_summary
