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
