# shellcheck shell=bash
# Real time: an event published over POST /events lands on the stream, reaches a PSUBSCRIBE on the master within seconds, and is acknowledged.

# Stream ids are <ms>-<seq>: compare numerically.
_rt_id_ge() { local a_ms=${1%-*} a_seq=${1#*-} b_ms=${2%-*} b_seq=${2#*-}; (( a_ms > b_ms || (a_ms == b_ms && a_seq >= b_seq) )); }

# Entry id of the stream entry whose `id` field is $1, among the last 1000 entries.
_rt_entry_of() {
  rcli_streams XREVRANGE "$STREAM_NAME" + - COUNT 1000 | awk -v want="$1" '
    /^[0-9]+-[0-9]+$/ { entry = $0; next }
    prev == "id" && $0 == want { print entry; exit }
    { prev = $0 }'
}

# The group read past $1 and no consumer holds it pending.
_rt_acknowledged() {
  local last pending
  last=$(rcli_streams XINFO GROUPS "$STREAM_NAME" | awk -v g="$CONSUMER_GROUP" 'f&&/last-delivered-id/{getline; print; exit} $0==g{f=1}')
  # Captured first: with pipefail, grep -q closing the pipe early could fail the pipeline.
  pending=$(rcli_streams XPENDING "$STREAM_NAME" "$CONSUMER_GROUP" - + 10000) || return 1
  [ -n "$last" ] && _rt_id_ge "$last" "$1" && ! grep -qx "$1" <<<"$pending"
}

_realtime() {
  local out="$CHECK_TMP/psub" sub event_id entry ok
  # evinfra:events:* is EVENT_CHANNEL_PATTERN: one channel per event type.
  rcli_master_bg PSUBSCRIBE 'evinfra:events:*' >"$out" 2>&1 &
  sub=$!
  wait_until 5 grep -q psubscribe "$out" || { kill "$sub" 2>/dev/null; echo "PSUBSCRIBE did not start"; return 1; }
  api POST "$QUEUE_API/events" '{"type":"user.updated","data":{"userId":"u-realtime","changes":{"plan":"pro"}}}'
  if [ "$API_STATUS" != 202 ]; then kill "$sub" 2>/dev/null; echo "POST /events answered $API_STATUS: $API_BODY"; return 1; fi
  event_id=$(echo "$API_BODY" | json_get id)
  wait_until 5 grep -q "\"id\":\"$event_id\"" "$out"
  ok=$?
  kill "$sub" 2>/dev/null
  wait "$sub" 2>/dev/null
  [ "$ok" -eq 0 ] || { echo "event $event_id not seen on evinfra:events:* within 5 s"; return 1; }
  grep -q '^evinfra:events:user.updated$' "$out" || { echo "not on its type's channel evinfra:events:user.updated"; return 1; }
  entry=$(_rt_entry_of "$event_id")
  [ -n "$entry" ] || { echo "event $event_id is not on stream $STREAM_NAME"; return 1; }
  wait_until 5 _rt_acknowledged "$entry" || { echo "entry $entry ($event_id) not acknowledged by $CONSUMER_GROUP"; return 1; }
}
check "real time: POST /events → on stream $STREAM_NAME → PSUBSCRIBE evinfra:events:* within 5 s → acknowledged" _realtime
