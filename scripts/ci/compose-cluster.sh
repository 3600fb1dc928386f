#!/usr/bin/env bash
# The compose stage's check of the `cluster` profile (README "Scaling"): the three services on
# one Redis Cluster of six containers (3 masters, a replica each), formed by redis-cluster-init.
# Run by scripts/ci/compose-stage.sh after the default stack is down, with its environment
# (ENV_FILE, COMPOSE_PROJECT_NAME, NODE_IMAGE/REDIS_IMAGE, the built image); reads
# CLUSTER_QUEUE_PROCESSOR_HOST_PORT, CLUSTER_EVENT_PROCESSOR_HOST_PORTS and
# CLUSTER_DLQ_PROCESSOR_HOST_PORT (free host ports chosen by the stage). Checks, over the
# published HTTP ports only (the nodes publish none):
#   - every container healthy, the cluster ok with 3 masters and 3 replicas;
#   - a job completes, a permanently failing job is parked in the DLQ, an event is processed
#     and its trigger's job completes;
#   - `docker compose kill -s KILL` of the master that holds the async-processing queue's slot:
#     its replica takes the slot within 30 s and a job submitted then completes within
#     CLUSTER_JOB_WAIT_SEC (60; times printed); the killed node starts again and rejoins as a
#     replica (COMPOSE_CLUSTER_FAILOVER=0 skips this one);
#   - down -v leaves nothing.
# Exit 1 if a check failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/env.sh
. "$ROOT/scripts/lib/env.sh"
# shellcheck source=scripts/lib/checks.sh
. "$ROOT/scripts/lib/checks.sh"
load_stack_env || exit 2
started=$SECONDS
say() { printf '[compose cluster %3ds] %s\n' "$((SECONDS - started))" "$*"; }

SERVICES=(queue-processor-cluster event-processor-cluster dlq-processor-cluster)
NODES=(redis-node-1 redis-node-2 redis-node-3 redis-node-4 redis-node-5 redis-node-6)
cluster_compose() { _compose --profile cluster --progress quiet "$@"; }

# redis-cli inside a node's container, with the password of the compose secret.
node_cli() {
  local node=$1
  shift
  _compose --profile cluster exec -T "$node" sh -c 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" exec redis-cli --no-auth-warning "$@"' redis-cli "$@"
}

up_started=$SECONDS
cluster_compose up -d --wait "${SERVICES[@]}" >/tmp/compose-cluster-up.log 2>&1 \
  || {
    tail -n 40 /tmp/compose-cluster-up.log >&2
    echo "compose cluster: up --wait failed" >&2
    # Repeated at the compose stage's end with the log's last lines (scripts/ci/compose-stage.sh).
    [ -z "${CHECKS_FAIL_LOG:-}" ] || { echo "compose cluster: up --wait failed:"; tail -n 5 /tmp/compose-cluster-up.log; } >>"$CHECKS_FAIL_LOG"
    exit 1
  }
say "up --wait: six nodes, the cluster formed, three services healthy in $((SECONDS - up_started)) s"

# The checks' helpers talk to the cluster profile's services.
QUEUE_PROCESSOR_PORT=${CLUSTER_QUEUE_PROCESSOR_HOST_PORT:-8109}
EVENT_PROCESSOR_PORT=${CLUSTER_EVENT_PROCESSOR_HOST_PORTS:-8110}
EVENT_PROCESSOR_PORT=${EVENT_PROCESSOR_PORT%%-*}
DLQ_PROCESSOR_PORT=${CLUSTER_DLQ_PROCESSOR_HOST_PORT:-8111}
CHECK_MODE=auto
checks_init

_cluster_formed() {
  local info nodes
  info=$(node_cli redis-node-1 CLUSTER INFO | tr -d '\r') || return 1
  grep -q '^cluster_state:ok$' <<<"$info" || { echo "cluster_state is not ok"; return 1; }
  grep -q '^cluster_size:3$' <<<"$info" || { echo "$(grep '^cluster_size' <<<"$info"), not 3 masters"; return 1; }
  nodes=$(node_cli redis-node-1 CLUSTER NODES) || return 1
  [ "$(grep -c ' master ' <<<"$(sed 's/myself,//' <<<"$nodes" | awk '{ print " " $3 " " }')")" = 3 ] || { echo "not 3 masters"; return 1; }
  [ "$(grep -c ' slave ' <<<"$(sed 's/myself,//' <<<"$nodes" | awk '{ print " " $3 " " }')")" = 3 ] || { echo "not 3 replicas"; return 1; }
}
check "compose cluster: cluster_state ok, 3 masters with a replica each" _cluster_formed


# Submits a demo.sleep job and waits up to $1 s for it to complete.
_job_completes() {
  local id
  api POST "$QUEUE_API/jobs/async-processing" '{"name":"demo.sleep","data":{"durationMs":100,"steps":1}}'
  [ "$API_STATUS" = 201 ] || { echo "POST /jobs/async-processing answered $API_STATUS: $API_BODY"; return 1; }
  id=$(echo "$API_BODY" | json_get id) || return 1
  wait_until "${1:-30}" job_state async-processing "$id" completed || { echo "job $id did not complete: $API_BODY"; return 1; }
}
check "compose cluster: a demo.sleep job created over HTTP completes" _job_completes 30

_failing_job_parked() {
  local id="cluster-fail-$(new_uuid)"
  api POST "$QUEUE_API/jobs/async-processing" "{\"name\":\"demo.fail\",\"data\":{\"permanent\":true,\"message\":\"compose cluster\"},\"opts\":{\"jobId\":\"$id\"}}"
  [ "$API_STATUS" = 201 ] || { echo "POST answered $API_STATUS: $API_BODY"; return 1; }
  _parked() { api GET "$DLQ_API/dlq?status=parked"; [ "$API_STATUS" = 200 ] && grep -q "$id" <<<"$API_BODY"; }
  wait_until 40 _parked || { echo "no parked DLQ entry for $id ($API_STATUS): $API_BODY"; return 1; }
}
check "compose cluster: a permanently failing job is parked in the DLQ" _failing_job_parked

_event_triggers_job() {
  local event_id
  api POST "$QUEUE_API/events" '{"type":"workspace.created","data":{"workspaceId":"w-cluster","name":"cluster check","ownerId":"u-check"}}'
  [ "$API_STATUS" = 202 ] || { echo "POST /events answered $API_STATUS: $API_BODY"; return 1; }
  event_id=$(echo "$API_BODY" | json_get id) || return 1
  # The example triggers file maps workspace.created to demo.sleep, job id evt-workspace-welcome-<event id>.
  wait_until 40 job_state event-driven-jobs "evt-workspace-welcome-$event_id" completed \
    || { echo "trigger job evt-workspace-welcome-$event_id did not complete: $API_STATUS $API_BODY"; return 1; }
}
check "compose cluster: an event is processed and its trigger's job completes" _event_triggers_job

# The node that is master of the async-processing queue's slot (bull:{async-processing}:…).
_queue_master() {
  local slot node port line
  slot=$(node_cli redis-node-1 CLUSTER KEYSLOT '{async-processing}' | tr -d '\r') || return 1
  for node in "${NODES[@]}"; do
    line=$(node_cli "$node" CLUSTER NODES | grep 'myself' | tr -d '\r') || continue
    grep -q 'master' <<<"$line" || continue
    for range in $(awk '{ for (i = 9; i <= NF; i++) print $i }' <<<"$line"); do
      local from=${range%-*} to=${range#*-}
      if ((slot >= from && slot <= to)); then echo "$node"; return 0; fi
    done
  done
  return 1
}

_failover_keeps_jobs_running() {
  local master killed_at
  master=$(_queue_master) || { echo "no master found for the slot of {async-processing}"; return 1; }
  killed_at=$SECONDS
  _compose --profile cluster kill -s KILL "$master" >/dev/null 2>&1 || { echo "docker compose kill $master failed"; return 1; }
  note "killed $master (master of {async-processing}); waiting for its replica to take the slot"
  _promoted() { local now; now=$(_queue_master 2>/dev/null) && [ "$now" != "$master" ]; }
  wait_until 30 _promoted || { echo "no replica took the slot of {async-processing} within 30 s of the kill of $master"; return 1; }
  note "promoted $(_queue_master) $((SECONDS - killed_at)) s after the kill; a new job must complete"
  # A job that was mid-move at the kill comes back after its lock and a stalled check (README
  # "Scaling"); a job submitted after the promotion must run at once.
  _job_completes "${CLUSTER_JOB_WAIT_SEC:-60}" || return 1
  note "after the kill of $master a new job completed in $((SECONDS - killed_at)) s"
  _compose --profile cluster start "$master" >/dev/null 2>&1 || { echo "docker compose start $master failed"; return 1; }
  _rejoined() { node_cli "$master" CLUSTER NODES | grep myself | grep -q slave; }
  wait_until 60 _rejoined || { echo "$master did not rejoin as a replica"; return 1; }
}
# Docker drops a stopped container's name: before `seedLookup` (packages/shared/src/redis/
# create-redis.ts) every reconnect of the cluster clients failed on it with ENOTFOUND and the job
# submitted after the promotion never completed (3 of 6 runs on 2026-12-01).
if [ "${COMPOSE_CLUSTER_FAILOVER:-1}" != 0 ]; then
  check "compose cluster: kill -9 of the queue's master: its replica is promoted, jobs go on, the node rejoins" _failover_keeps_jobs_running
fi

if ((CHECKS_FAILED > 0)); then
  _compose --profile cluster ps -a >&2
  _compose --profile cluster logs --no-color --tail 40 "${SERVICES[@]}" >&2
fi
cluster_compose down -v --remove-orphans >/dev/null 2>&1
[ -z "$(_compose --profile cluster ps -aq)" ] || { echo "compose cluster: containers left after down -v" >&2; exit 1; }
say "down -v: nothing left"
checks_summary
