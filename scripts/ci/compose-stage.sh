#!/usr/bin/env bash
# The compose stage of .ci/run: the stack of docker-compose.yml on a real Docker engine.
#   1. engine: DOCKER_HOST when it is set and answers; otherwise a private dockerd started here
#      (socket /run/evinfra-dockerd.sock, data /var/lib/evinfra-docker; Debian's docker.io is
#      installed when dockerd is missing) and stopped by its pid at the end. The default socket
#      /var/run/docker.sock is never used.
#   2. Compose v2: `docker compose` (scripts/ci/compose-plugin.sh when missing).
#   3. base images: node:20-slim and redis:7-alpine when present or pullable, else the Debian
#      stand-ins of scripts/ci/standin-images.sh (NODE_IMAGE, REDIS_IMAGE); npm in the build
#      trusts the machine's CA bundle (build secret extra_ca).
#   4. free loopback host ports for every published port (a range of 3 for the event processor);
#      build (image size printed), up -d --wait, the check script --mode compose,
#      --scale event-processor=3 (replicas share the group, events handled once), the kill
#      checks of scripts/ci/compose-faults.sh, down -v; then the `cluster` profile
#      (scripts/ci/compose-cluster.sh; CI_COMPOSE_CLUSTER=0 skips it);
#   5. the test harness against this engine (which cannot pull): one test file passes on
#      redis-server processes after one line saying why.
# Run as root (dockerd, debootstrap). Reads COMPOSE_STAGE_TIMEOUT_SEC (360: the whole stage).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
stage_started=$SECONDS
CACHE_DIR=${STANDIN_CACHE_DIR:-/var/cache/evinfra}
PRIVATE_SOCKET=/run/evinfra-dockerd.sock
DOCKERD_PID=
PROJECT=evinfra-ci

say() { printf '[compose %3ds] %s\n' "$((SECONDS - stage_started))" "$*"; }
# Why the stage failed, repeated after the containers' logs at exit so that it is the last
# thing a failed run prints: die's message and every FAIL line of the checks (scripts/lib/checks.sh).
FAILURE=
export CHECKS_FAIL_LOG
CHECKS_FAIL_LOG=$(mktemp)
die() { FAILURE=$*; echo "compose stage: $*" >&2; exit 1; }

cleanup() {
  local status=$?
  if [ -n "${COMPOSE_PROJECT_NAME:-}" ] && docker info >/dev/null 2>&1; then
    if ((status != 0)); then
      docker compose -f "$ROOT/docker-compose.yml" --env-file "$ENV_FILE" --profile cluster ps -a >&2 || true
      docker compose -f "$ROOT/docker-compose.yml" --env-file "$ENV_FILE" --profile cluster logs --tail 30 >&2 || true
    fi
    # --profile cluster: the cluster profile's containers too, when its check was running.
    docker compose -f "$ROOT/docker-compose.yml" --env-file "$ENV_FILE" --profile cluster down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  if [ -n "$DOCKERD_PID" ]; then
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
    echo "[compose] stopped the private dockerd (pid $DOCKERD_PID)"
  fi
  if ((status != 0)); then
    echo "compose stage FAILED (exit $status) after $((SECONDS - stage_started)) s: ${FAILURE:-see above}" >&2
    [ -s "$CHECKS_FAIL_LOG" ] && sed 's/^/  /' "$CHECKS_FAIL_LOG" >&2
  fi
  rm -f "$CHECKS_FAIL_LOG"
  exit "$status"
}
trap cleanup EXIT

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

ensure_engine() {
  if [ -n "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then
    say "engine: $DOCKER_HOST (given), $(docker version -f 'server {{.Server.Version}}')"
    return 0
  fi
  export DOCKER_HOST="unix://$PRIVATE_SOCKET"
  if docker info >/dev/null 2>&1; then
    say "engine: $DOCKER_HOST (already running), $(docker version -f 'server {{.Server.Version}}')"
    return 0
  fi
  command -v dockerd >/dev/null || { say "installing docker.io"; apt_install docker.io; }
  command -v docker >/dev/null || apt_install docker.io
  mkdir -p /var/lib/evinfra-docker /run/evinfra-docker
  dockerd -H "$DOCKER_HOST" --pidfile /run/evinfra-dockerd.pid --data-root /var/lib/evinfra-docker \
    --exec-root /run/evinfra-docker >/var/log/evinfra-dockerd.log 2>&1 &
  DOCKERD_PID=$!
  local i
  for i in $(seq 1 300); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -n 20 /var/log/evinfra-dockerd.log >&2; die "dockerd exited (log above)"; }
    sleep 0.1
  done
  docker info >/dev/null 2>&1 || die "dockerd did not answer within 30 s (/var/log/evinfra-dockerd.log)"
  say "engine: private dockerd pid $DOCKERD_PID on $DOCKER_HOST, $(docker version -f 'server {{.Server.Version}}')"
}

ensure_compose() {
  docker compose version >/dev/null 2>&1 || bash "$ROOT/scripts/ci/compose-plugin.sh" >/dev/null
  docker compose version >/dev/null 2>&1 || die "docker compose (v2) is not available"
  say "$(docker compose version)"
}

ensure_images() {
  if { docker image inspect node:20-slim >/dev/null 2>&1 || timeout 60 docker pull -q node:20-slim >/dev/null 2>&1; } \
    && { docker image inspect redis:7-alpine >/dev/null 2>&1 || timeout 60 docker pull -q redis:7-alpine >/dev/null 2>&1; }; then
    say "base images: node:20-slim, redis:7-alpine"
    CAN_PULL=1
    return 0
  fi
  CAN_PULL=0
  say "node:20-slim / redis:7-alpine cannot be pulled: Debian stand-ins"
  bash "$ROOT/scripts/ci/standin-images.sh"
  export NODE_IMAGE=evinfra-standin/node:20-trixie REDIS_IMAGE=evinfra-standin/redis:8-trixie
}

# Nine consecutive free loopback ports from a random base; prints the base.
free_port_base() {
  node -e '
    const net = require("node:net");
    const free = (port) => new Promise((resolve) => {
      const server = net.createServer().once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    (async () => {
      for (let attempt = 0; attempt < 50; attempt += 1) {
        const base = 20000 + Math.floor(Math.random() * 30000);
        let ok = true;
        for (let port = base; port < base + 9 && ok; port += 1) ok = await free(port);
        if (ok) { console.log(base); return; }
      }
      process.exit(1);
    })();'
}

compose() { docker compose -f "$ROOT/docker-compose.yml" --env-file "$ENV_FILE" "$@"; }
# compose_quiet ARGS...: compose with its progress lines in $COMPOSE_LOG, shown when it fails.
COMPOSE_LOG=$(mktemp)
compose_quiet() {
  compose --progress quiet "$@" >"$COMPOSE_LOG" 2>&1 || { tail -n 40 "$COMPOSE_LOG" >&2; die "docker compose $* failed"; }
}

[ "$(id -u)" -eq 0 ] || die "needs root (dockerd, debootstrap)"
ensure_engine
ensure_compose
ensure_images

export ENV_FILE="$ROOT/env-example-event-infrastructure" COMPOSE_PROJECT_NAME=$PROJECT
export EXTRA_CA_CERTS_FILE=${EXTRA_CA_CERTS_FILE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$EXTRA_CA_CERTS_FILE" ] || EXTRA_CA_CERTS_FILE=/dev/null
base=$(free_port_base) || die "no nine consecutive free ports"
export REDIS_HOST_PORT=$base REDIS_STREAMS_HOST_PORT=$((base + 1)) REDIS_QUEUE_HOST_PORT=$((base + 2))
export QUEUE_PROCESSOR_HOST_PORT=$((base + 3)) DLQ_PROCESSOR_HOST_PORT=$((base + 4))
export EVENT_PROCESSOR_HOST_PORTS="$((base + 5))-$((base + 7))"
compose down -v --remove-orphans >/dev/null 2>&1 || true
compose config -q
say "docker-compose.yml is valid; host ports $base-$((base + 7)) on 127.0.0.1"

build_started=$SECONDS
compose_quiet build
size=$(docker image inspect -f '{{.Size}}' "${EVINFRA_IMAGE:-event-infrastructure:local}")
base_size=$(docker image inspect -f '{{.Size}}' "${NODE_IMAGE:-node:20-slim}")
say "image ${EVINFRA_IMAGE:-event-infrastructure:local}: $((size / 1000000)) MB ($(((size - base_size) / 1000000)) MB over its base ${NODE_IMAGE:-node:20-slim}), built in $((SECONDS - build_started)) s"

up_started=$SECONDS
compose_quiet up -d --wait
say "up --wait: all six healthy in $((SECONDS - up_started)) s"
# shellcheck disable=SC2046 # one id per word
say "memory after start: $(docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' $(compose ps -q) | sed -E "s/^$PROJECT-//; s/-1 / /; s| / .*||" | paste -sd, - | sed 's/,/, /g')"
docker top "$(compose ps -q redis)" | grep -q redis-server || die "docker top shows no redis-server"
docker top "$(compose ps -q redis)" | grep -qe requirepass -e change-me && die "a Redis password is on redis-server's command line"
docker inspect "$(compose ps -q redis)" | grep -qF "$(grep '^REDIS_PASSWORD=' "$ENV_FILE" | cut -d= -f2-)" \
  && die "the Redis password shows in docker inspect"
say "Redis passwords: not in argv, not in docker inspect"
# The image's malloc threshold (Dockerfile ENV, docs/benchmarks/memory.md, "Event processor peak", twelfth pass)
# reaches each service's node process (PID 1 is tini; node is its child).
want=$(sed -n 's/^ENV \(MALLOC_MMAP_THRESHOLD_=[0-9]*\)$/\1/p' "$ROOT/Dockerfile")
[ -n "$want" ] || die "the Dockerfile sets no MALLOC_MMAP_THRESHOLD_"
for service in queue-processor event-processor dlq-processor; do
  node_pid=$(pgrep -P "$(docker inspect -f '{{.State.Pid}}' "$(compose ps -q "$service")")" -x node) || die "no node process in $service"
  tr '\0' '\n' <"/proc/$node_pid/environ" | grep -qx "$want" || die "$service's node process runs without $want"
done
say "every service's node process runs with $want"

bash "$ROOT/test-event-infrastructure.sh" --mode compose
say "check script (--mode compose) passed"

compose_quiet up -d --wait --scale event-processor=3
bash "$ROOT/scripts/ci/compose-faults.sh" scale
bash "$ROOT/test-event-infrastructure.sh" --mode compose --no-restart | tail -n 3
say "three event-processor replicas: checks passed"

compose_quiet up -d --wait --scale event-processor=1
bash "$ROOT/scripts/ci/compose-faults.sh" kill
say "kill checks passed"
# shellcheck disable=SC2046 # one id per word
say "memory after the checks: $(docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' $(compose ps -q) | sed -E "s/^$PROJECT-//; s/-1 / /; s| / .*||" | paste -sd, - | sed 's/,/, /g')"

compose_quiet down -v --remove-orphans
[ -z "$(compose ps -aq)" ] || die "containers left after down -v"
say "down -v: nothing left"

# The `cluster` profile (scripts/ci/compose-cluster.sh): the services on a six-node Redis
# Cluster, a job, a DLQ entry, an event, the kill of a master. CI_COMPOSE_CLUSTER=0 skips it.
if [ "${CI_COMPOSE_CLUSTER:-1}" != 0 ]; then
  cluster_started=$SECONDS
  cluster_base=$(free_port_base) || die "no free ports for the cluster profile"
  export CLUSTER_QUEUE_PROCESSOR_HOST_PORT=$cluster_base CLUSTER_EVENT_PROCESSOR_HOST_PORTS=$((cluster_base + 1)) CLUSTER_DLQ_PROCESSOR_HOST_PORT=$((cluster_base + 2))
  bash "$ROOT/scripts/ci/compose-cluster.sh" || die "the cluster profile's checks failed"
  say "cluster profile: checks passed in $((SECONDS - cluster_started)) s"
fi

if ((CAN_PULL == 0)); then
  out=$(env -u EVINFRA_TEST_REDIS npx vitest run --project shared packages/shared/test/flat-command.test.ts 2>&1) \
    || { echo "$out" | tail -n 30 >&2; die "the test harness failed on an engine that cannot pull"; }
  grep -q '^test Redis: a Docker engine answers but no redis:7-alpine container started' <<<"$out" \
    || { echo "$out" | tail -n 30 >&2; die "the test harness did not say why it used redis-server processes"; }
  say "test harness on this engine: fell back to redis-server processes with one line"
fi
say "compose stage passed in $((SECONDS - stage_started)) s"
