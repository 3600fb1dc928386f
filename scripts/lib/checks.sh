# shellcheck shell=bash
# Helpers for test-event-infrastructure.sh check files. After checks_init:
#   $QUEUE_API $EVENT_API $DLQ_API   base URLs of the three services (http://127.0.0.1:PORT)
#   $STACK_HOST                      host the stack's ports are published on (127.0.0.1)
#   rcli_master|rcli_streams|rcli_queue ARGS…   redis-cli against each Redis, with its password
#   api METHOD URL [JSON]            curl with the API key when set; sets $API_STATUS (HTTP
#                                    status, 000 when unreachable) and $API_BODY (call it
#                                    directly, not in $(…), so the variables reach you)
#   check "description" CMD ARGS…    runs CMD, prints PASS/FAIL and the description
#   wait_until SECONDS CMD ARGS…     retries CMD every 0.2 s until it succeeds or time runs out
#   json_get FIELD-PATH              reads JSON on stdin, prints the field (node; a.b.0.c)
#   job_state QUEUE ID STATES        the job's state (GET /jobs/QUEUE/ID) matches STATES, a
#                                    pattern like completed or 'delayed|waiting'
#   new_uuid                         prints a random UUID
#   note TEXT                        a line on the terminal (stderr) while a check runs
#   rcli_master_bg ARGS… &           redis-cli on the master in the background: $! is
#                                    redis-cli's own pid, so `kill "$!"` stops it

checks_init() {
  STACK_HOST=${STACK_HOST:-127.0.0.1}
  QUEUE_API="http://$STACK_HOST:${QUEUE_PROCESSOR_PORT:-8009}"
  EVENT_API="http://$STACK_HOST:${EVENT_PROCESSOR_PORT:-8010}"
  DLQ_API="http://$STACK_HOST:${DLQ_PROCESSOR_PORT:-8011}"
  CHECKS_PASSED=0
  CHECKS_FAILED=0
  # The terminal's stderr by path, not an inherited descriptor: a Redis or service that a
  # restart check starts must not hold the caller's pipe open.
  NOTE_PATH=/proc/$$/fd/2
  CHECK_TMP=$(mktemp -d)
  trap 'rm -rf "$CHECK_TMP"' EXIT
  if ! command -v redis-cli >/dev/null; then
    echo "redis-cli is missing: apt-get install -y redis-tools (or redis-server)" >&2
    exit 2
  fi
  if ! command -v curl >/dev/null; then
    echo "curl is missing: apt-get install -y curl" >&2
    exit 2
  fi
  if [ "${CHECK_MODE:-auto}" = compose ]; then compose_addresses || exit 2; fi
  if ! _anything_answers; then
    echo "nothing answers on ${QUEUE_API#http://}, ${EVENT_API#http://}, ${DLQ_API#http://} or the three Redis ports: start the stack first (npm run stack:up, or docker compose up -d --wait; see the README's Quick start)" >&2
    exit 2
  fi
}

# docker compose (v2) on this checkout's compose file and env file; COMPOSE_PROJECT_NAME is honoured.
_compose() {
  local file=(-f "$ROOT/docker-compose.yml" --env-file "${EVINFRA_ENV_FILE:-$ROOT/.env}")
  if docker compose version >/dev/null 2>&1; then docker compose "${file[@]}" "$@"; else docker-compose "${file[@]}" "$@"; fi
}

# --mode compose: the host addresses compose published (each host port is a variable of the env
# file, and a scaled event processor's port is one of a range), asked from compose itself.
compose_addresses() {
  local service name port var address
  for service in redis:6379:REDIS_URL redis-streams:6379:REDIS_STREAMS_URL redis-queue:6379:REDIS_QUEUE_URL \
    queue-processor:8009:QUEUE_API event-processor:8010:EVENT_API dlq-processor:8011:DLQ_API; do
    IFS=: read -r name port var <<<"$service"
    address=$(_compose port "$name" "$port" 2>/dev/null | head -n 1)
    if [ -z "$address" ]; then
      echo "compose publishes no port for $name: start the stack first (docker compose up -d --wait)" >&2
      return 1
    fi
    case "$var" in *_URL) printf -v "$var" 'redis://%s' "$address" ;; *) printf -v "$var" 'http://%s' "$address" ;; esac
  done
  export REDIS_URL REDIS_STREAMS_URL REDIS_QUEUE_URL
}

# Anything of the stack answers: a /health (any HTTP status) or a Redis (any reply, NOAUTH too).
_anything_answers() {
  local url code
  for url in "$QUEUE_API" "$EVENT_API" "$DLQ_API"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/health" 2>/dev/null) || true
    [ "${code:-000}" = 000 ] || return 0
  done
  for url in "${REDIS_URL:-redis://127.0.0.1:6382}" "${REDIS_STREAMS_URL:-redis://127.0.0.1:6380}" "${REDIS_QUEUE_URL:-redis://127.0.0.1:6381}"; do
    [ -z "$(_rcli "$url" "" PING 2>/dev/null)" ] || return 0
  done
  return 1
}

_rcli() {
  local url=$1 password=$2 hp cluster=()
  shift 2
  # A role on a Redis Cluster (its *_CLUSTER_NODES set): the first seed node, following MOVED (-c).
  if [ "${1:-}" = --cluster ]; then
    cluster=(-c)
    [ -z "${2:-}" ] || url="redis://${2%%,*}"
    shift 2
  fi
  hp=$(redis_host_port "$url")
  # REDISCLI_AUTH keeps the password off the command line (and out of `ps`).
  REDISCLI_AUTH="$password" redis-cli -h "${hp%:*}" -p "${hp##*:}" --no-auth-warning "${cluster[@]}" "$@"
}
_cluster_of() { if [ -n "${1:-}" ]; then printf '%s\n' --cluster "$1"; fi; }
rcli_master() { _rcli "${REDIS_URL:-redis://127.0.0.1:6382}" "${REDIS_PASSWORD:-}" $(_cluster_of "${REDIS_CLUSTER_NODES:-}") "$@"; }
# BullMQ key of queue $1 with suffix $2: `bull:<queue>:<suffix>`, `bull:{<queue>}:<queue>:<suffix>` on a cluster.
bull_key() { if [ -n "${REDIS_QUEUE_CLUSTER_NODES:-}" ]; then echo "bull:{$1}:$1:$2"; else echo "bull:$1:$2"; fi; }
# For `rcli_master_bg … &` only: the background subshell becomes redis-cli (exec), so killing
# $! stops the subscriber instead of leaving it running after the check script.
rcli_master_bg() {
  local hp
  hp=$(redis_host_port "${REDIS_URL:-redis://127.0.0.1:6382}")
  REDISCLI_AUTH="${REDIS_PASSWORD:-}" exec redis-cli -h "${hp%:*}" -p "${hp##*:}" --no-auth-warning "$@"
}
rcli_streams() { _rcli "${REDIS_STREAMS_URL:-redis://127.0.0.1:6380}" "${REDIS_STREAMS_PASSWORD:-}" $(_cluster_of "${REDIS_STREAMS_CLUSTER_NODES:-}") "$@"; }
rcli_queue() { _rcli "${REDIS_QUEUE_URL:-redis://127.0.0.1:6381}" "${REDIS_QUEUE_PASSWORD:-}" $(_cluster_of "${REDIS_QUEUE_CLUSTER_NODES:-}") "$@"; }

api() {
  local method=$1 url=$2 body=${3:-}
  local args=(-s -o "$CHECK_TMP/body" -w '%{http_code}' -X "$method" --max-time 10)
  [ -n "${API_KEY:-}" ] && args+=(-H "Authorization: Bearer $API_KEY")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  : >"$CHECK_TMP/body"
  API_STATUS=$(curl "${args[@]}" "$url" 2>/dev/null) || API_STATUS=${API_STATUS:-000}
  API_BODY=$(cat "$CHECK_TMP/body")
}

check() {
  local description=$1
  shift
  local output
  if output=$("$@" 2>&1); then
    CHECKS_PASSED=$((CHECKS_PASSED + 1))
    printf 'PASS  %s\n' "$description"
  else
    CHECKS_FAILED=$((CHECKS_FAILED + 1))
    local line
    line=$(printf 'FAIL  %s%s' "$description" "${output:+  ($(echo "$output" | tail -n 1 | cut -c1-200))}")
    echo "$line"
    # CI's compose stage repeats these at its end (scripts/ci/compose-stage.sh).
    [ -z "${CHECKS_FAIL_LOG:-}" ] || echo "$line" >>"$CHECKS_FAIL_LOG"
  fi
}

wait_until() {
  local seconds=$1 deadline
  shift
  deadline=$(( $(date +%s%N) / 1000000 + seconds * 1000 ))
  until "$@"; do
    (( $(date +%s%N) / 1000000 > deadline )) && return 1
    sleep 0.2
  done
}

json_get() {
  node -e '
    let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
      let v; try { v = JSON.parse(s); } catch { process.exit(1); }
      for (const k of process.argv[1].split(".")) { if (v == null) process.exit(1); v = v[k]; }
      if (v === undefined) process.exit(1);
      process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
    });' "$1"
}

note() { printf '      %s\n' "$*" >>"$NOTE_PATH" 2>/dev/null || true; }

job_state() { api GET "$QUEUE_API/jobs/$1/$2"; [ "$API_STATUS" = 200 ] && [[ "$(echo "$API_BODY" | json_get state)" =~ ^($3)$ ]]; }

new_uuid() { node -e 'process.stdout.write(crypto.randomUUID())'; }

checks_summary() {
  echo "$CHECKS_PASSED passed, $CHECKS_FAILED failed"
  [ "$CHECKS_FAILED" -eq 0 ]
}
