# shellcheck shell=bash
# Process and port helpers for scripts/stack.sh (local mode).

# Password in the URL (percent-decoded) wins over the separate variable, as in the services.
url_password() {
  local rest=${1#*://} userinfo pass
  case "$rest" in *@*) userinfo=${rest%%@*} ;; *) return 0 ;; esac
  case "$userinfo" in *:*) pass=${userinfo#*:} ;; *) return 0 ;; esac
  printf '%b' "${pass//%/\\x}"
}

# pid_of NAME PATTERN: prints the pid from $RUN_DIR/NAME.pid when that process is alive and its
# command line contains PATTERN (a recycled pid is not ours).
pid_of() {
  local file="$RUN_DIR/$1.pid" pid
  [ -f "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  echo "$pid"
}

# A pid that exited but was not reaped yet (a zombie: init here reaps slowly) counts as gone.
alive() { kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# Waits until none of the pids is alive, up to $1 seconds; returns 1 if some still are.
wait_gone() {
  local seconds=$1 deadline pid any
  shift
  deadline=$(( $(now_ms) + seconds * 1000 ))
  while :; do
    any=0
    for pid in "$@"; do alive "$pid" && any=1; done
    ((any == 0)) && return 0
    (( $(now_ms) > deadline )) && return 1
    sleep 0.1
  done
}

# Something listens on port $1 (on any address: it would block our bind to 127.0.0.1).
port_in_use() {
  if command -v ss >/dev/null; then
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Last lines of this run in a log file on stderr, indented (nothing when the file does not
# exist): the lines after byte offset $2 when given (the size before the start), else after the
# last "--- ... starting" marker line that start_service writes. Older runs' lines never show.
log_tail() {
  [ -f "$1" ] || return 0
  if [ -n "${2:-}" ]; then
    tail -c "+$(($2 + 1))" "$1"
  else
    awk '/^--- .* starting / { n = 0; delete lines; next } { lines[++n] = $0 } END { for (i = 1; i <= n; i++) print lines[i] }' "$1"
  fi | tail -n 15 | sed 's/^/    /' >&2
}

# Size of a file in bytes (0 when it does not exist).
file_size() { if [ -f "$1" ]; then stat -c %s "$1"; else echo 0; fi; }
