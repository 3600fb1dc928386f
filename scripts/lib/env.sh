# shellcheck shell=bash
# Loads the stack's env file into the current shell: $ENV_FILE, else ./.env, else the example.
# Sourced by scripts/stack.sh and test-event-infrastructure.sh so both read the same values.

evinfra_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

load_stack_env() {
  local root file
  root=$(evinfra_root)
  file=${ENV_FILE:-}
  if [ -z "$file" ]; then
    if [ -f "$root/.env" ]; then file="$root/.env"; else file="$root/env-example-event-infrastructure"; fi
  fi
  if [ ! -f "$file" ]; then
    echo "env file not found: $file" >&2
    return 1
  fi
  # Only KEY=VALUE lines; values already in the environment win (so CI can override ports).
  local line key value
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    value=${line#*=}
    [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
    if [ -z "${!key+x}" ]; then export "$key=$value"; fi
  done < "$file"
  export EVINFRA_ENV_FILE="$file"
}

# host:port of a redis URL (default port 6379).
redis_host_port() {
  local url=$1 rest
  rest=${url#*://}
  rest=${rest##*@}
  rest=${rest%%/*}
  case "$rest" in *:*) echo "$rest" ;; *) echo "$rest:6379" ;; esac
}

# STACK_REDIS_CLUSTER=1 (local mode on one Redis Cluster): exports what the services and the
# check script read for it: every role's URL at the first node, one password (REDIS_PASSWORD or
# the one in REDIS_URL) for all roles, REDIS_*_CLUSTER_NODES listing the STACK_CLUSTER_NODES (6)
# nodes from STACK_CLUSTER_PORT_BASE (7101). Prints an error and returns 1 on bad values.
export_stack_cluster_env() {
  local count=${STACK_CLUSTER_NODES:-6} base=${STACK_CLUSTER_PORT_BASE:-7101} password k seeds=""
  if ! [[ "$count" =~ ^[0-9]+$ ]] || ((count < 6 || count % 2 != 0)); then
    echo "STACK_CLUSTER_NODES must be an even number >= 6 (3 masters with a replica each; got '$count')" >&2; return 1
  fi
  if ! [[ "$base" =~ ^[0-9]+$ ]] || ((base < 1024 || base + count > 55535)); then
    echo "STACK_CLUSTER_PORT_BASE must be a port from 1024 with room for $count nodes below 55535 (got '$base')" >&2; return 1
  fi
  password=$(url_password "${REDIS_URL:-}")
  [ -n "$password" ] || password=${REDIS_PASSWORD:-}
  [ -n "$password" ] || { echo "REDIS_PASSWORD is empty: every Redis runs with a password (see env-example-event-infrastructure)" >&2; return 1; }
  for ((k = 0; k < count; k++)); do seeds+="${seeds:+,}127.0.0.1:$((base + k))"; done
  export REDIS_URL="redis://127.0.0.1:$base" REDIS_STREAMS_URL="redis://127.0.0.1:$base" REDIS_QUEUE_URL="redis://127.0.0.1:$base"
  export REDIS_PASSWORD="$password" REDIS_STREAMS_PASSWORD="$password" REDIS_QUEUE_PASSWORD="$password"
  export REDIS_CLUSTER_NODES="$seeds" REDIS_STREAMS_CLUSTER_NODES="$seeds" REDIS_QUEUE_CLUSTER_NODES="$seeds"
  STACK_CLUSTER_NODE_COUNT=$count STACK_CLUSTER_BASE=$base
}
