# shellcheck shell=bash
# Ports: each Redis answers on its port and refuses commands without its password; each service port (and Bull Board) answers.
_tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Answers PING with the password, NOAUTH without it (redis-cli exits 0 on an error reply: read it).
_redis_port() {
  local role=$1 url=$2 hp reply
  hp=$(redis_host_port "$url")
  _tcp_open "${hp%:*}" "${hp##*:}" || { echo "nothing listens on $hp"; return 1; }
  [ "$("rcli_$role" PING)" = PONG ] || { echo "no PONG with the password on $hp"; return 1; }
  reply=$(redis-cli -h "${hp%:*}" -p "${hp##*:}" PING 2>&1)
  case "$reply" in NOAUTH*) ;; *) echo "answered '$reply' without a password on $hp"; return 1 ;; esac
}
check "redis (master) on $(redis_host_port "${REDIS_URL:-redis://127.0.0.1:6382}") answers, and refuses without its password" _redis_port master "${REDIS_URL:-redis://127.0.0.1:6382}"
check "redis (streams) on $(redis_host_port "${REDIS_STREAMS_URL:-redis://127.0.0.1:6380}") answers, and refuses without its password" _redis_port streams "${REDIS_STREAMS_URL:-redis://127.0.0.1:6380}"
check "redis (queue) on $(redis_host_port "${REDIS_QUEUE_URL:-redis://127.0.0.1:6381}") answers, and refuses without its password" _redis_port queue "${REDIS_QUEUE_URL:-redis://127.0.0.1:6381}"

_http_port() {
  local url=$1 expected=$2 status
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" 2>/dev/null)
  [[ "$status" =~ ^($expected)$ ]] || { echo "$url answered ${status:-nothing}"; return 1; }
}
check "queue-processor port answers: $QUEUE_API/health" _http_port "$QUEUE_API/health" 200
check "event-processor port answers: $EVENT_API/health" _http_port "$EVENT_API/health" 200
check "dlq-processor port answers: $DLQ_API/health" _http_port "$DLQ_API/health" 200
# 401 when ADMIN_USER/ADMIN_PASSWORD are set: the UI is there, closed.
check "Bull Board answers: $QUEUE_API/admin/queues (200, or 401 with admin credentials set)" _http_port "$QUEUE_API/admin/queues" '200|401'

# Local mode with EVENT_PROCESSOR_REPLICAS=N: replica k >= 2 on EVENT_PROCESSOR_REPLICA_PORT_BASE + k - 2.
if [ "${CHECK_MODE:-auto}" != compose ] && [[ "${EVENT_PROCESSOR_REPLICAS:-1}" =~ ^[0-9]+$ ]] && ((EVENT_PROCESSOR_REPLICAS > 1)); then
  for ((_replica = 2; _replica <= EVENT_PROCESSOR_REPLICAS; _replica++)); do
    _replica_url="http://$STACK_HOST:$((${EVENT_PROCESSOR_REPLICA_PORT_BASE:-8020} + _replica - 2))/health"
    check "event-processor replica $_replica port answers: $_replica_url" _http_port "$_replica_url" 200
  done
fi
