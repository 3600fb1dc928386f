# shellcheck shell=bash
# Event processor: an event published over POST /events is routed and fanned out; a trigger makes a job.

# POSTs one event to the queue processor; prints its id (202 {"id"}).
_post_event() {
  api POST "$QUEUE_API/events" "$1"
  [ "$API_STATUS" = 202 ] || { echo "POST /events answered $API_STATUS: $API_BODY"; return 1; }
  echo "$API_BODY" | json_get id
}

_event_fanned_out() {
  local type=workspace.updated out="$CHECK_TMP/fanout" event_id sub ok
  # The processor PUBLISHes each handled event on evinfra:events:<type> on the master.
  rcli_master_bg SUBSCRIBE "evinfra:events:$type" >"$out" 2>&1 &
  sub=$!
  wait_until 5 grep -q subscribe "$out" || { kill "$sub" 2>/dev/null; return 1; }
  event_id=$(_post_event "{\"type\":\"$type\",\"data\":{\"workspaceId\":\"w-check\",\"changes\":{\"name\":\"checked\"}}}") || { kill "$sub" 2>/dev/null; echo "$event_id"; return 1; }
  wait_until 10 grep -q "\"id\":\"$event_id\"" "$out"
  ok=$?
  kill "$sub" 2>/dev/null
  wait "$sub" 2>/dev/null
  [ "$ok" -eq 0 ] || { echo "event $event_id not seen on evinfra:events:$type"; return 1; }
}
check "POST /events: the event processor routes the event and fans it out on pub/sub" _event_fanned_out

_processor_counts() {
  api GET "$EVENT_API/stats"
  [ "$API_STATUS" = 200 ] || return 1
  echo "$API_BODY" | json_get counters.processed >/dev/null && echo "$API_BODY" | json_get consumerLoops >/dev/null
}
check "event processor /stats reports counters and consumer loops" _processor_counts

_trigger_job_completes() {
  local event_id
  event_id=$(_post_event '{"type":"workspace.created","data":{"workspaceId":"w-trigger","name":"trigger check","ownerId":"u-check"}}') || { echo "$event_id"; return 1; }
  # The example triggers file maps workspace.created to demo.sleep with jobId evt-<trigger>-<event id>.
  _job_completed() {
    rcli_queue ZRANGE "$(bull_key event-driven-jobs completed)" +inf -inf BYSCORE REV LIMIT 0 1000 | grep -q -- "-$event_id\$"
  }
  wait_until 20 _job_completed || { echo "no completed job for event $event_id in event-driven-jobs"; return 1; }
}
check "an event matching a trigger creates a job in event-driven-jobs that completes" _trigger_job_completes
