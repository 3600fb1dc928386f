# shellcheck shell=bash
# Queue persistence: a delayed job survives a restart of the queue Redis, and one of the queue processor, and completes after it.
# Restarts: local mode `scripts/stack.sh restart NAME`, compose `docker compose restart NAME`
# (--mode local|compose, detected otherwise); --no-restart skips these checks.

_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# local when scripts/stack.sh runs this stack's queue Redis, compose when compose runs it.
_restart_mode() {
  if [ "$CHECK_MODE" != auto ]; then echo "$CHECK_MODE"; return 0; fi
  local status
  # Captured first: with pipefail, grep -q closing the pipe early would fail the pipeline.
  status=$(bash "$ROOT/scripts/stack.sh" status 2>/dev/null)
  # A cluster (STACK_REDIS_CLUSTER=1) lists its nodes instead: the roles share them.
  if grep -Eq '^ +(redis-queue|redis-cluster-1) +running' <<<"$status"; then echo local; return 0; fi
  if command -v docker >/dev/null && [ -n "$(_compose ps -q redis-queue 2>/dev/null)" ]; then echo compose; return 0; fi
  return 1
}

_restart() {
  [ "$1" != queue-processor ] || note "restarting queue-processor: its active jobs (a long job of the tour too) get up to SHUTDOWN_GRACE_MS=${SHUTDOWN_GRACE_MS:-30000} ms to finish first"
  case "$_PERSIST_MODE" in
    local) bash "$ROOT/scripts/stack.sh" restart "$1" >/dev/null ;;
    compose) _compose restart "$1" >/dev/null 2>&1 ;;
  esac
}

_all_healthy() {
  local url
  for url in "$QUEUE_API" "$EVENT_API" "$DLQ_API"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/health")" = 200 ] || return 1
  done
}


# Submits a delayed job, restarts $1 (proved by $2: a fingerprint command that must change),
# then the job is still there and runs after the restart.
_survives_restart() {
  local component=$1 fingerprint=$2 id before after started processed
  id="check-persist-$component-$(new_uuid)"
  api POST "$QUEUE_API/jobs/async-processing" "{\"name\":\"demo.sleep\",\"data\":{\"durationMs\":50,\"steps\":1},\"opts\":{\"jobId\":\"$id\",\"delay\":5000}}"
  [ "$API_STATUS" = 201 ] || { echo "POST answered $API_STATUS: $API_BODY"; return 1; }
  job_state async-processing "$id" delayed || { echo "job $id is not delayed before the restart: $API_BODY"; return 1; }
  before=$("$fingerprint") || { echo "no fingerprint of $component before the restart"; return 1; }
  started=$(_now_ms)
  _restart "$component" || { echo "restarting $component ($_PERSIST_MODE mode) failed"; return 1; }
  wait_until 30 _all_healthy || { echo "services not healthy within 30 s after restarting $component"; return 1; }
  after=$("$fingerprint") || { echo "no fingerprint of $component after the restart"; return 1; }
  [ "$before" != "$after" ] || { echo "$component was not restarted (same $fingerprint: $after)"; return 1; }
  job_state async-processing "$id" 'delayed|waiting|active|completed' || { echo "job $id lost or not runnable after the restart: $API_STATUS $API_BODY"; return 1; }
  wait_until 30 job_state async-processing "$id" completed || { echo "job $id did not complete after the restart: $API_BODY"; return 1; }
  processed=$(date -d "$(echo "$API_BODY" | json_get timestamps.processed)" +%s%3N) || return 1
  (( processed >= started )) || { echo "job $id ran before the restart"; return 1; }
}

# Fingerprints: Redis's run_id changes on every start; so does the process start time.
_queue_redis_run_id() { rcli_queue INFO server | tr -d '\r' | awk -F: '$1 == "run_id" { print $2; found = 1 } END { exit !found }'; }
_queue_processor_started() { curl -sf --max-time 5 "$QUEUE_API/metrics" | awk '$1 ~ /^process_start_time_seconds(\{|$)/ { print $2; found = 1 } END { exit !found }'; }

if [ "$CHECK_RESTARTS" = 1 ]; then
  if _PERSIST_MODE=$(_restart_mode); then
    check "queue persistence: a delayed job survives a restart of redis-queue ($_PERSIST_MODE) and completes after it" \
      _survives_restart redis-queue _queue_redis_run_id
    check "queue persistence: a delayed job survives a restart of queue-processor ($_PERSIST_MODE) and completes after it" \
      _survives_restart queue-processor _queue_processor_started
  else
    _unknown_mode() { echo "cannot tell how the stack runs: pass --mode local|compose, or --no-restart"; return 1; }
    check "queue persistence across restarts" _unknown_mode
  fi
else
  echo "SKIP  queue persistence across restarts (--no-restart)"
fi
