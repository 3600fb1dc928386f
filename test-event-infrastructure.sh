#!/usr/bin/env bash
# Checks a running stack (docker compose or local mode): one line per check, exit 1 if any
# check failed. Reads the same env file as the stack (ENV_FILE, ./.env, or the example).
#
#   ./test-event-infrastructure.sh                 run every check
#   ./test-event-infrastructure.sh --no-restart    skip the checks that restart the queue
#                                                  Redis and the queue processor
#   ./test-event-infrastructure.sh --mode local|compose
#                                                  how to restart them (default: detected;
#                                                  local = scripts/stack.sh restart NAME,
#                                                  compose = docker compose restart NAME)
#   ./test-event-infrastructure.sh --help          this text and the list of check files
#
# The checks live in scripts/checks/*.sh, sourced in name order. Each defines checks with
# `check "<description>" <command> [args…]`; the command's exit status decides PASS/FAIL.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/env.sh
. "$ROOT/scripts/lib/env.sh"
# shellcheck source=scripts/lib/processes.sh
. "$ROOT/scripts/lib/processes.sh"
# shellcheck source=scripts/lib/checks.sh
. "$ROOT/scripts/lib/checks.sh"

# Read by the check files: CHECK_RESTARTS (1: run the restart checks), CHECK_MODE
# (local|compose|auto).
CHECK_RESTARTS=1
CHECK_MODE=auto
# shellcheck disable=SC2034 # CHECK_* are read by the sourced check files
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help)
      sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
      echo
      echo "Check files:"
      for file in "$ROOT"/scripts/checks/*.sh; do echo "  $(basename "$file"): $(sed -n '2s/^# //p' "$file")"; done
      exit 0
      ;;
    --no-restart) CHECK_RESTARTS=0 ;;
    --mode)
      case "${2:-}" in local|compose) CHECK_MODE=$2 ;; *) echo "--mode takes local or compose" >&2; exit 2 ;; esac
      shift
      ;;
    --mode=local|--mode=compose) CHECK_MODE=${1#--mode=} ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

load_stack_env || exit 2
if [ "${STACK_REDIS_CLUSTER:-0}" = 1 ]; then export_stack_cluster_env || exit 2; fi
checks_init

for file in "$ROOT"/scripts/checks/*.sh; do
  # shellcheck source=/dev/null
  . "$file"
done

checks_summary
