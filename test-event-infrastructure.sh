#!/usr/bin/env bash
# Checks a running stack (docker compose or local mode): one line per check, exit 1 if any
# check failed. Reads the same env file as the stack (ENV_FILE, ./.env, or the example).
#
#   ./test-event-infrastructure.sh            run every check
#   ./test-event-infrastructure.sh --help     this text and the list of check files
#
# The checks live in scripts/checks/*.sh, sourced in name order. Each defines checks with
# `check "<description>" <command> [args…]`; the command's exit status decides PASS/FAIL.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/env.sh
. "$ROOT/scripts/lib/env.sh"
# shellcheck source=scripts/lib/checks.sh
. "$ROOT/scripts/lib/checks.sh"

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  echo
  echo "Check files:"
  for file in "$ROOT"/scripts/checks/*.sh; do echo "  $(basename "$file"): $(sed -n '2s/^# //p' "$file")"; done
  exit 0
fi

load_stack_env || exit 2
checks_init

for file in "$ROOT"/scripts/checks/*.sh; do
  # shellcheck source=/dev/null
  . "$file"
done

checks_summary
