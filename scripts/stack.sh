#!/usr/bin/env bash
# Local mode: the same stack as docker-compose.yml without Docker. Three redis-server
# processes (ports and passwords from the env file's Redis URLs and *_PASSWORD variables,
# AOF everysec, bound to 127.0.0.1) and the three services as Node processes.
#
#   scripts/stack.sh up        start what is not running; wait until every /health is 200
#   scripts/stack.sh down      SIGTERM the services (SIGKILL after a bounded wait), SHUTDOWN each Redis
#   scripts/stack.sh status    one line per process; exit 0 when all run and are healthy, else 3
#   scripts/stack.sh logs [NAME] [-f]   last lines of each log (or NAME's), -f to follow
#   scripts/stack.sh restart NAME  graceful restart of one Redis (SHUTDOWN, fsynced AOF) or
#                              service (SIGTERM); waits until it answers again. Cluster mode:
#                              a node (a master hands over to its replica first), or a role
#                              name for every node in turn
#
# Env file: $ENV_FILE, else ./.env, else env-example-event-infrastructure; variables already
# in the environment win. Also read here: STACK_DATA_DIR (.data: Redis data and pid files),
# STACK_LOG_DIR (.logs), EVENT_PROCESSOR_REPLICAS (1; replica k >= 2 listens on
# EVENT_PROCESSOR_REPLICA_PORT_BASE + k - 2, default 8020), STACK_START_TIMEOUT_SEC (60),
# STACK_STOP_TIMEOUT_SEC (SHUTDOWN_GRACE_MS + 10 s), STACK_NODE_FLAGS (empty: node
# command-line flags of every service), EVENT_PROCESSOR_NODE_FLAGS (--heap-growing-percent=20:
# the event processor's own; empty: V8's own growing factor; README "Local mode").
# STACK_REDIS_CLUSTER=1: the three Redis roles share one local Redis Cluster instead (README
# "Scaling"): STACK_CLUSTER_NODES nodes (6: 3 masters with a replica each) on ports
# STACK_CLUSTER_PORT_BASE (7101) and up, password REDIS_PASSWORD, AOF everysec,
# cluster-node-timeout STACK_CLUSTER_NODE_TIMEOUT_MS (2000); the services get
# REDIS_*_CLUSTER_NODES pointing at it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/env.sh
. "$ROOT/scripts/lib/env.sh"
# shellcheck source=scripts/lib/processes.sh
. "$ROOT/scripts/lib/processes.sh"

die() { echo "stack: $*" >&2; exit 1; }
say() { echo "stack: $*"; }

abs_dir() { case "$1" in /*) echo "$1" ;; *) echo "$ROOT/$1" ;; esac; }

init_paths() {
  DATA_DIR=$(abs_dir "${STACK_DATA_DIR:-.data}")
  LOG_DIR=$(abs_dir "${STACK_LOG_DIR:-.logs}")
  RUN_DIR="$DATA_DIR/run"
}

# --- URLs and components -------------------------------------------------------------------

# Fills REDIS_NAMES/PORTS/PASSWORDS and SERVICE_NAMES/DIRS/PORTS from the environment.
plan_components() {
  REDIS_NAMES=(redis redis-streams redis-queue)
  local urls=("${REDIS_URL:-redis://127.0.0.1:6382}" "${REDIS_STREAMS_URL:-redis://127.0.0.1:6380}" "${REDIS_QUEUE_URL:-redis://127.0.0.1:6381}")
  local vars=(REDIS_URL REDIS_STREAMS_URL REDIS_QUEUE_URL)
  local pwvars=(REDIS_PASSWORD REDIS_STREAMS_PASSWORD REDIS_QUEUE_PASSWORD)
  REDIS_PORTS=() REDIS_PASSWORDS=() PORT_VARS=()
  local i hp host password
  if is_cluster_mode; then plan_cluster; else for i in 0 1 2; do
    hp=$(redis_host_port "${urls[$i]}")
    host=${hp%:*}
    case "$host" in 127.0.0.1|localhost) ;; *) die "${vars[$i]} must point at 127.0.0.1 in local mode (got host $host)" ;; esac
    password=$(url_password "${urls[$i]}")
    [ -n "$password" ] || password=${!pwvars[$i]:-}
    [ -n "$password" ] || die "${pwvars[$i]} is empty: every Redis runs with a password (see env-example-event-infrastructure)"
    REDIS_PORTS+=("${hp##*:}")
    REDIS_PASSWORDS+=("$password")
    PORT_VARS+=("${vars[$i]}")
  done; fi
  local replicas=${EVENT_PROCESSOR_REPLICAS:-1} base=${EVENT_PROCESSOR_REPLICA_PORT_BASE:-8020} k
  [[ "$replicas" =~ ^[1-9][0-9]*$ ]] || die "EVENT_PROCESSOR_REPLICAS must be a positive integer (got '$replicas')"
  SERVICE_NAMES=(queue-processor event-processor) SERVICE_DIRS=(queue-system event-system)
  SERVICE_PORTS=("${QUEUE_PROCESSOR_PORT:-8009}" "${EVENT_PROCESSOR_PORT:-8010}")
  PORT_VARS+=(QUEUE_PROCESSOR_PORT EVENT_PROCESSOR_PORT)
  for ((k = 2; k <= replicas; k++)); do
    SERVICE_NAMES+=("event-processor-$k") SERVICE_DIRS+=(event-system) SERVICE_PORTS+=($((base + k - 2)))
    PORT_VARS+=(EVENT_PROCESSOR_REPLICA_PORT_BASE)
  done
  SERVICE_NAMES+=(dlq-processor) SERVICE_DIRS+=(dlq-system) SERVICE_PORTS+=("${DLQ_PROCESSOR_PORT:-8011}")
  PORT_VARS+=(DLQ_PROCESSOR_PORT)
}

is_cluster_mode() { [ "${STACK_REDIS_CLUSTER:-0}" = 1 ]; }

# Cluster mode: REDIS_NAMES/PORTS/PASSWORDS are the cluster's nodes, and the services' variables
# point every role at the cluster (one password: REDIS_PASSWORD, or the one in REDIS_URL).
plan_cluster() {
  export_stack_cluster_env || exit 1
  local k
  REDIS_NAMES=()
  for ((k = 1; k <= STACK_CLUSTER_NODE_COUNT; k++)); do
    REDIS_NAMES+=("redis-cluster-$k") REDIS_PORTS+=($((STACK_CLUSTER_BASE + k - 1))) REDIS_PASSWORDS+=("$REDIS_PASSWORD") PORT_VARS+=(STACK_CLUSTER_PORT_BASE)
  done
}

# Creates the cluster once (3 masters, one replica each) unless its nodes already know each
# other (a restart whose nodes.conf survived), then waits until it is ready.
form_cluster() {
  local port=${REDIS_PORTS[0]} password=${REDIS_PASSWORDS[0]} addresses=() p deadline out
  for p in "${REDIS_PORTS[@]}"; do addresses+=("127.0.0.1:$p"); done
  if [ "$(rcli "$port" "$password" CLUSTER INFO | tr -d '\r' | awk -F: '$1 == "cluster_known_nodes" { print $2 }')" = 1 ]; then
    out=$(REDISCLI_AUTH="$password" redis-cli --no-auth-warning --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes 2>&1) \
      || { printf '%s\n' "$out" | tail -n 20 >&2; die "redis-cli --cluster create failed"; }
  fi
  deadline=$(( $(now_ms) + 30000 ))
  until cluster_ready; do
    (( $(now_ms) <= deadline )) || die "the cluster on ports ${REDIS_PORTS[*]} is not ready after 30 s ($(rcli "$port" "$password" CLUSTER INFO | tr -d '\r' | head -n 1))"
    sleep 0.2
  done
}

# Ready: every node says cluster_state:ok, every master has a connected replica and every replica
# an up link to its master (a restarted old master first comes back as a master without slots
# and only then turns into a replica: until then a second failover would find no replica), and
# no node is marked failing.
cluster_ready() {
  local p info
  for p in "${REDIS_PORTS[@]}"; do
    info=$( { rcli "$p" "${REDIS_PASSWORDS[0]}" CLUSTER INFO; rcli "$p" "${REDIS_PASSWORDS[0]}" INFO replication; } 2>/dev/null | tr -d '\r')
    grep -q '^cluster_state:ok$' <<<"$info" || return 1
    if grep -q '^role:master$' <<<"$info"; then
      grep -q '^connected_slaves:[1-9]' <<<"$info" || return 1
    else
      grep -q '^master_link_status:up$' <<<"$info" || return 1
    fi
  done
  ! rcli "${REDIS_PORTS[0]}" "${REDIS_PASSWORDS[0]}" CLUSTER NODES 2>/dev/null | grep -q 'fail\|handshake\|noaddr'
}

# --- processes -----------------------------------------------------------------------------

redis_pid() { pid_of "$1" redis-server; }
service_pid() { pid_of "$1" "$2/dist/main.js"; }

rcli() { REDISCLI_AUTH="$2" redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning "${@:3}"; }

# Writes the config (mode 600: it holds the password) and starts a daemonized redis-server.
start_redis() {
  local name=$1 port=$2 password=$3 conf="$RUN_DIR/$1.conf" dir="$DATA_DIR/$1" extra=""
  local quoted=${password//\\/\\\\}
  quoted=${quoted//\"/\\\"}
  mkdir -p "$dir"
  if is_cluster_mode; then
    # masterauth: a replica authenticates to its master with the cluster's one password.
    extra="cluster-enabled yes
cluster-config-file \"$dir/nodes.conf\"
cluster-node-timeout ${STACK_CLUSTER_NODE_TIMEOUT_MS:-2000}
masterauth \"$quoted\""
  fi
  (umask 077 && cat >"$conf" <<EOF
port $port
bind 127.0.0.1
protected-mode yes
requirepass "$quoted"
dir "$dir"
appendonly yes
appendfsync everysec
lazyfree-lazy-expire yes
daemonize yes
pidfile "$RUN_DIR/$name.pid"
logfile "$LOG_DIR/$name.log"
$extra
EOF
  )
  local offset
  offset=$(file_size "$LOG_DIR/$name.log")
  redis-server "$conf" >/dev/null || { log_tail "$LOG_DIR/$name.log" "$offset"; die "redis-server failed to start for $name (see $LOG_DIR/$name.log)"; }
  local deadline=$(( $(now_ms) + 10000 ))
  until [ "$(rcli "$port" "$password" PING 2>/dev/null)" = PONG ]; do
    if (( $(now_ms) > deadline )); then
      log_tail "$LOG_DIR/$name.log" "$offset"
      die "$name did not answer PING on port $port within 10 s (log: $LOG_DIR/$name.log)"
    fi
    sleep 0.1
  done
}

start_service() {
  local name=$1 dir=$2 port=$3 log="$LOG_DIR/$1.log" pid
  echo "--- $(date -u +%Y-%m-%dT%H:%M:%SZ) starting $name on port $port" >>"$log"
  # exec all the way down: the pid recorded is node's own.
  # The compiled service (npm run build); --conditions picks @event-infra/shared's dist/ too.
  # NODE_OPTIONS: the image's production default (Dockerfile) unless set; empty means V8's own.
  # Node command-line flags (V8 flags node refuses in NODE_OPTIONS): the service's own
  # (service_node_flags), then STACK_NODE_FLAGS (empty) for every service.
  # MALLOC_MMAP_THRESHOLD_: glibc's, as in the image (Dockerfile) unless set; empty: unset
  # (glibc's own dynamic threshold; glibc may read an empty value as 0).
  local threshold=${MALLOC_MMAP_THRESHOLD_-131072} malloc_env=()
  [ -n "$threshold" ] && malloc_env=("MALLOC_MMAP_THRESHOLD_=$threshold")
  # shellcheck disable=SC2086,SC2046 # the flags are words
  (cd "$ROOT" && exec env -u MALLOC_MMAP_THRESHOLD_ ${malloc_env[@]+"${malloc_env[@]}"} "$(port_var_of "$dir")=$port" NODE_OPTIONS="${NODE_OPTIONS---max-semi-space-size=2}" nohup node $(service_node_flags "$dir") ${STACK_NODE_FLAGS:-} --conditions=evinfra-dist "$dir/dist/main.js") >>"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$RUN_DIR/$name.pid"
}
# The event processor's fixed growing factor of the old generation (README "Event processor
# peak", ninth pass), as its compose `command` and the stack bench give it.
service_node_flags() {
  case "$1" in event-system) echo "${EVENT_PROCESSOR_NODE_FLAGS---heap-growing-percent=20}" ;; *) echo "" ;; esac
}
port_var_of() {
  case "$1" in queue-system) echo QUEUE_PROCESSOR_PORT ;; event-system) echo EVENT_PROCESSOR_PORT ;; dlq-system) echo DLQ_PROCESSOR_PORT ;; esac
}

# npm run build: tsc -b is incremental, so an up-to-date dist/ costs about a second.
build_services() {
  local out
  out=$(cd "$ROOT" && npm run --silent build 2>&1) || { printf '%s\n' "$out" | tail -n 20 >&2; die "npm run build failed"; }
}

health_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/health" 2>/dev/null || true; }

# --- commands ------------------------------------------------------------------------------

cmd_up() {
  command -v redis-server >/dev/null || die "redis-server is not installed: apt-get install -y redis-server"
  command -v redis-cli >/dev/null || die "redis-cli is not installed: apt-get install -y redis-tools"
  command -v curl >/dev/null || die "curl is not installed: apt-get install -y curl"
  command -v node >/dev/null || die "node is not installed: Node.js 20 or later is required (https://nodejs.org)"
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || die "node $(node --version) is too old: Node.js 20 or later is required"
  plan_components

  local names=("${REDIS_NAMES[@]}" "${SERVICE_NAMES[@]}") ports=("${REDIS_PORTS[@]}" "${SERVICE_PORTS[@]}")
  local i j problems=() running
  for ((i = 0; i < ${#ports[@]}; i++)); do
    for ((j = i + 1; j < ${#ports[@]}; j++)); do
      [ "${ports[$i]}" != "${ports[$j]}" ] || die "port ${ports[$i]} is configured for both ${names[$i]} and ${names[$j]}"
    done
  done
  for ((i = 0; i < ${#names[@]}; i++)); do
    if ((i < ${#REDIS_NAMES[@]})); then running=$(redis_pid "${names[$i]}" || true); else running=$(service_pid "${names[$i]}" "${SERVICE_DIRS[$((i - ${#REDIS_NAMES[@]}))]}" || true); fi
    [ -z "$running" ] || continue
    if port_in_use "${ports[$i]}"; then problems+=("port ${ports[$i]} (${names[$i]}, ${PORT_VARS[$i]}) is already in use"); fi
  done
  if ((${#problems[@]} > 0)); then
    local joined
    joined=$(printf '%s; ' "${problems[@]}")
    die "${joined%; }: stop what uses it or move the port in the env file"
  fi

  if [ ! -d "$ROOT/node_modules" ]; then
    say "node_modules missing: npm ci"
    (cd "$ROOT" && npm ci --no-audit --no-fund) || die "npm ci failed"
  fi
  mkdir -p "$DATA_DIR" "$LOG_DIR" "$RUN_DIR"
  build_services

  local already=()
  for ((i = 0; i < ${#REDIS_NAMES[@]}; i++)); do
    if redis_pid "${REDIS_NAMES[$i]}" >/dev/null; then already+=("${REDIS_NAMES[$i]}"); continue; fi
    start_redis "${REDIS_NAMES[$i]}" "${REDIS_PORTS[$i]}" "${REDIS_PASSWORDS[$i]}"
  done
  if is_cluster_mode; then form_cluster; fi
  for ((i = 0; i < ${#SERVICE_NAMES[@]}; i++)); do
    if service_pid "${SERVICE_NAMES[$i]}" "${SERVICE_DIRS[$i]}" >/dev/null; then already+=("${SERVICE_NAMES[$i]}"); continue; fi
    start_service "${SERVICE_NAMES[$i]}" "${SERVICE_DIRS[$i]}" "${SERVICE_PORTS[$i]}"
  done

  ((${#already[@]} == 0)) || say "already running: ${already[*]}"
  local timeout=${STACK_START_TIMEOUT_SEC:-60} deadline pending forked
  deadline=$(( $(now_ms) + timeout * 1000 ))
  while :; do
    pending=()
    for ((i = 0; i < ${#SERVICE_NAMES[@]}; i++)); do
      if ! service_pid "${SERVICE_NAMES[$i]}" "${SERVICE_DIRS[$i]}" >/dev/null; then
        # Forked but not yet exec'd into node (its command line is still the shell's): starting.
        forked=$(tr -dc '0-9' <"$RUN_DIR/${SERVICE_NAMES[$i]}.pid" 2>/dev/null || true)
        if [ -n "$forked" ] && alive "$forked"; then pending+=("${SERVICE_NAMES[$i]}"); continue; fi
        log_tail "$LOG_DIR/${SERVICE_NAMES[$i]}.log"
        die "${SERVICE_NAMES[$i]} exited during start-up (log: $LOG_DIR/${SERVICE_NAMES[$i]}.log); 'scripts/stack.sh down' stops the rest"
      fi
      [ "$(health_code "${SERVICE_PORTS[$i]}")" = 200 ] || pending+=("${SERVICE_NAMES[$i]}")
    done
    ((${#pending[@]} == 0)) && break
    if (( $(now_ms) > deadline )); then
      die "not healthy after ${timeout} s: ${pending[*]} (logs in $LOG_DIR); 'scripts/stack.sh down' stops the rest"
    fi
    sleep 0.3
  done
  say "up (local mode, env: ${EVINFRA_ENV_FILE:-?})"
  print_table
}

print_table() {
  local i pid
  for ((i = 0; i < ${#REDIS_NAMES[@]}; i++)); do
    pid=$(redis_pid "${REDIS_NAMES[$i]}" || echo -)
    printf '  %-20s redis://127.0.0.1:%-6s pid %-8s data %s\n' "${REDIS_NAMES[$i]}" "${REDIS_PORTS[$i]}" "$pid" "$DATA_DIR/${REDIS_NAMES[$i]}"
  done
  for ((i = 0; i < ${#SERVICE_NAMES[@]}; i++)); do
    pid=$(service_pid "${SERVICE_NAMES[$i]}" "${SERVICE_DIRS[$i]}" || echo -)
    printf '  %-20s http://127.0.0.1:%-6s pid %-8s log  %s\n' "${SERVICE_NAMES[$i]}" "${SERVICE_PORTS[$i]}" "$pid" "$LOG_DIR/${SERVICE_NAMES[$i]}.log"
  done
}

cmd_down() {
  [ -d "$RUN_DIR" ] || { say "nothing running (no $RUN_DIR)"; return 0; }
  local file name dir pid pids=() names=() stopped=0
  for file in "$RUN_DIR"/*-processor*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    case "$name" in queue-*) dir=queue-system ;; event-*) dir=event-system ;; *) dir=dlq-system ;; esac
    if pid=$(service_pid "$name" "$dir"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid") names+=("$name")
    else
      rm -f "$file"
    fi
  done
  if ((${#pids[@]} > 0)); then
    local grace=$(( ${SHUTDOWN_GRACE_MS:-30000} / 1000 + 10 ))
    wait_gone 2 "${pids[@]}" || say_waiting "${names[*]}"
    if ! wait_gone "${STACK_STOP_TIMEOUT_SEC:-$grace}" "${pids[@]}"; then
      say "services still running after ${STACK_STOP_TIMEOUT_SEC:-$grace} s: SIGKILL"
      for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
      wait_gone 5 "${pids[@]}" || true
    fi
    for name in "${names[@]}"; do rm -f "$RUN_DIR/$name.pid"; done
    say "stopped ${names[*]}"
    stopped=1
  fi
  local port password i=0
  for name in redis redis-streams redis-queue; do
    if pid=$(redis_pid "$name"); then
      port=$(awk '$1 == "port" { print $2 }' "$RUN_DIR/$name.conf" 2>/dev/null || true)
      password=$(redis_password_of "$i")
      # SHUTDOWN fsyncs the AOF (and writes the RDB snapshot) before exiting; SIGTERM does the same.
      if [ -z "$port" ] || ! rcli "$port" "$password" SHUTDOWN >/dev/null 2>&1; then kill -TERM "$pid" 2>/dev/null || true; fi
      if ! wait_gone 15 "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
      rm -f "$RUN_DIR/$name.pid"
      say "stopped $name (data kept in $DATA_DIR/$name)"
      stopped=1
    fi
    i=$((i + 1))
  done
  # Cluster nodes (STACK_REDIS_CLUSTER=1): port and password from each node's own config file.
  local file
  for file in "$RUN_DIR"/redis-cluster-*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    if pid=$(redis_pid "$name"); then
      port=$(awk '$1 == "port" { print $2 }' "$RUN_DIR/$name.conf" 2>/dev/null || true)
      password=$(sed -n 's/^requirepass "\(.*\)"$/\1/p' "$RUN_DIR/$name.conf" 2>/dev/null | sed 's/\\"/"/g; s/\\\\/\\/g')
      if [ -z "$port" ] || ! rcli "$port" "$password" SHUTDOWN >/dev/null 2>&1; then kill -TERM "$pid" 2>/dev/null || true; fi
      if ! wait_gone 15 "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
      say "stopped $name (data kept in $DATA_DIR/$name)"
      stopped=1
    fi
    rm -f "$file"
  done
  ((stopped == 1)) || say "nothing running"
}

# A stop that takes more than 2 s: a service finishing its active jobs (SIGTERM gives them
# SHUTDOWN_GRACE_MS), said instead of a silent wait.
say_waiting() {
  local grace=$(( ${SHUTDOWN_GRACE_MS:-30000} / 1000 ))
  say "waiting for $1 to finish active jobs (up to ${STACK_STOP_TIMEOUT_SEC:-$((grace + 10))} s: SHUTDOWN_GRACE_MS=${SHUTDOWN_GRACE_MS:-30000}, then SIGKILL); cancel a long job with DELETE /jobs/:queue/:id"
}

# Password of Redis role index $1 from the env (URL first), empty when unknown.
redis_password_of() {
  local urls=("${REDIS_URL:-}" "${REDIS_STREAMS_URL:-}" "${REDIS_QUEUE_URL:-}")
  local pwvars=(REDIS_PASSWORD REDIS_STREAMS_PASSWORD REDIS_QUEUE_PASSWORD) password
  password=$(url_password "${urls[$1]}")
  [ -n "$password" ] || password=${!pwvars[$1]:-}
  echo "$password"
}

cmd_status() {
  plan_components
  local i pid ok=0 code
  for ((i = 0; i < ${#REDIS_NAMES[@]}; i++)); do
    if pid=$(redis_pid "${REDIS_NAMES[$i]}"); then
      printf '  %-20s running  pid %-8s port %s\n' "${REDIS_NAMES[$i]}" "$pid" "${REDIS_PORTS[$i]}"
    else
      printf '  %-20s stopped\n' "${REDIS_NAMES[$i]}"; ok=3
    fi
  done
  for ((i = 0; i < ${#SERVICE_NAMES[@]}; i++)); do
    if pid=$(service_pid "${SERVICE_NAMES[$i]}" "${SERVICE_DIRS[$i]}"); then
      code=$(health_code "${SERVICE_PORTS[$i]}")
      printf '  %-20s running  pid %-8s port %-6s /health %s\n' "${SERVICE_NAMES[$i]}" "$pid" "${SERVICE_PORTS[$i]}" "$code"
      [ "$code" = 200 ] || ok=3
    else
      printf '  %-20s stopped\n' "${SERVICE_NAMES[$i]}"; ok=3
    fi
  done
  return "$ok"
}

cmd_logs() {
  local name="" follow=() arg files=()
  for arg in "$@"; do case "$arg" in -f|--follow) follow=(-F) ;; *) name=$arg ;; esac; done
  if [ -n "$name" ]; then files=("$LOG_DIR/$name.log"); else files=("$LOG_DIR"/*.log); fi
  [ -e "${files[0]}" ] || die "no log files in $LOG_DIR${name:+ for $name}"
  exec tail -n 50 "${follow[@]}" "${files[@]}"
}

# Stops one Redis (SHUTDOWN fsyncs the AOF; SIGTERM as a fallback, SIGKILL after 15 s).
stop_redis() {
  local name=$1 port=$2 password=$3 pid
  pid=$(redis_pid "$name") || return 0
  if ! rcli "$port" "$password" SHUTDOWN >/dev/null 2>&1; then kill -TERM "$pid" 2>/dev/null || true; fi
  if ! wait_gone 15 "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$RUN_DIR/$name.pid"
}

# Stops one service (SIGTERM: active work gets SHUTDOWN_GRACE_MS; SIGKILL after that + 10 s).
stop_service() {
  local name=$1 dir=$2 pid grace=$(( ${SHUTDOWN_GRACE_MS:-30000} / 1000 + 10 ))
  pid=$(service_pid "$name" "$dir") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone 2 "$pid" || say_waiting "$name" >&2
  if ! wait_gone "${STACK_STOP_TIMEOUT_SEC:-$grace}" "$pid"; then kill -KILL "$pid" 2>/dev/null || true; wait_gone 5 "$pid" || true; fi
  rm -f "$RUN_DIR/$name.pid"
}

# Cluster mode: the port of a master's first online replica (empty when it has none).
replica_port_of() {
  rcli "$1" "$2" INFO replication 2>/dev/null | tr -d '\r' | sed -n 's/^slave[0-9]*:.*port=\([0-9]*\),state=online.*/\1/p' | head -n 1
}

node_role() { rcli "$1" "$2" INFO replication 2>/dev/null | tr -d '\r' | sed -n 's/^role://p'; }

# Cluster mode, one node: a master first hands its slots to its replica (CLUSTER FAILOVER, which
# waits until the replica has every write: nothing is lost, the slots move in well under a
# second), then the node is stopped (SHUTDOWN) and started again; it rejoins as a replica, and
# the command returns once the cluster is ready again (cluster_ready). A master without a
# replica is restarted in place: its slots answer CLUSTERDOWN until it is back.
restart_cluster_node() {
  local name=$1 port=$2 password=$3 replica deadline
  if [ "$(node_role "$port" "$password")" = master ]; then
    replica=$(replica_port_of "$port" "$password")
    if [ -n "$replica" ]; then
      [ "$(rcli "$replica" "$password" CLUSTER FAILOVER 2>&1 | tr -d '\r')" = OK ] || die "CLUSTER FAILOVER on $replica (replica of $name) refused"
      deadline=$(( $(now_ms) + 15000 ))
      until [ "$(node_role "$port" "$password")" = slave ]; do
        (( $(now_ms) <= deadline )) || die "$name is still a master 15 s after CLUSTER FAILOVER on its replica (port $replica)"
        sleep 0.1
      done
    fi
  fi
  stop_redis "$name" "$port" "$password"
  start_redis "$name" "$port" "$password"
  deadline=$(( $(now_ms) + 30000 ))
  until cluster_ready; do
    (( $(now_ms) <= deadline )) || die "the cluster is not ready 30 s after restarting $name"
    sleep 0.2
  done
}

# restart NAME: one Redis or service of the plan, stopped gracefully and started again with the
# same config; for a service, waits until its /health is 200 (STACK_START_TIMEOUT_SEC). In
# cluster mode NAME is a node (redis-cluster-K, restarted as restart_cluster_node says), or a
# role (redis, redis-streams, redis-queue): the roles share the cluster, so every node is
# restarted, one at a time.
cmd_restart() {
  local name=${1:-} i
  plan_components
  [ -n "$name" ] || die "restart needs a NAME: ${REDIS_NAMES[*]} ${SERVICE_NAMES[*]}"
  mkdir -p "$DATA_DIR" "$LOG_DIR" "$RUN_DIR"
  if is_cluster_mode; then
    case "$name" in
      redis|redis-streams|redis-queue)
        for ((i = 0; i < ${#REDIS_NAMES[@]}; i++)); do
          restart_cluster_node "${REDIS_NAMES[$i]}" "${REDIS_PORTS[$i]}" "${REDIS_PASSWORDS[$i]}"
        done
        say "restarted $name: every node of the cluster, one at a time (${REDIS_NAMES[*]})"
        return 0 ;;
    esac
  fi
  for ((i = 0; i < ${#REDIS_NAMES[@]}; i++)); do
    [ "${REDIS_NAMES[$i]}" = "$name" ] || continue
    if is_cluster_mode; then
      restart_cluster_node "$name" "${REDIS_PORTS[$i]}" "${REDIS_PASSWORDS[$i]}"
    else
      stop_redis "$name" "${REDIS_PORTS[$i]}" "${REDIS_PASSWORDS[$i]}"
      start_redis "$name" "${REDIS_PORTS[$i]}" "${REDIS_PASSWORDS[$i]}"
    fi
    say "restarted $name (pid $(redis_pid "$name"))"
    return 0
  done
  for ((i = 0; i < ${#SERVICE_NAMES[@]}; i++)); do
    [ "${SERVICE_NAMES[$i]}" = "$name" ] || continue
    build_services
    stop_service "$name" "${SERVICE_DIRS[$i]}"
    start_service "$name" "${SERVICE_DIRS[$i]}" "${SERVICE_PORTS[$i]}"
    local deadline=$(( $(now_ms) + ${STACK_START_TIMEOUT_SEC:-60} * 1000 ))
    until [ "$(health_code "${SERVICE_PORTS[$i]}")" = 200 ]; do
      if ! service_pid "$name" "${SERVICE_DIRS[$i]}" >/dev/null; then
        log_tail "$LOG_DIR/$name.log"
        die "$name exited during start-up (log: $LOG_DIR/$name.log)"
      fi
      (( $(now_ms) <= deadline )) || die "$name not healthy after ${STACK_START_TIMEOUT_SEC:-60} s (log: $LOG_DIR/$name.log)"
      sleep 0.2
    done
    say "restarted $name (pid $(service_pid "$name" "${SERVICE_DIRS[$i]}"))"
    return 0
  done
  die "unknown NAME '$name': one of ${REDIS_NAMES[*]} ${SERVICE_NAMES[*]}"
}

main() {
  local command=${1:-}
  [ $# -gt 0 ] && shift
  case "$command" in
    up|down|status|logs|restart) ;;
    -h|--help|help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; return 0 ;;
    *) echo "usage: scripts/stack.sh up|down|status|logs [NAME] [-f]|restart NAME" >&2; return 2 ;;
  esac
  load_stack_env || exit 1
  init_paths
  "cmd_$command" "$@"
}

main "$@"
