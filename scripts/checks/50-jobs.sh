# shellcheck shell=bash
# Queue processor: a job created over HTTP completes, a permanently failing job ends in the
# dead-letter queue, /stats lists the four queues.

_job_completes() {
  local id
  api POST "$QUEUE_API/jobs/async-processing" '{"name":"demo.sleep","data":{"durationMs":200,"steps":2}}'
  [ "$API_STATUS" = 201 ] || { echo "POST /jobs/async-processing answered $API_STATUS: $API_BODY"; return 1; }
  id=$(echo "$API_BODY" | json_get id) || return 1
  wait_until 30 job_state async-processing "$id" completed || { echo "job $id did not complete: $API_BODY"; return 1; }
}
check "queue-processor: a demo.sleep job created over HTTP completes" _job_completes

_failing_job_dead_lettered() {
  local id dlq=${DLQ_QUEUE_NAME:-dead-letter-queue}
  id="check-fail-$(new_uuid)"
  api POST "$QUEUE_API/jobs/async-processing" "{\"name\":\"demo.fail\",\"data\":{\"permanent\":true,\"message\":\"check script\"},\"opts\":{\"jobId\":\"$id\"}}"
  [ "$API_STATUS" = 201 ] || { echo "POST answered $API_STATUS: $API_BODY"; return 1; }
  wait_until 30 job_state async-processing "$id" failed || { echo "job $id did not fail: $API_BODY"; return 1; }
  # The DLQ entry's job id is deterministic: job-<queue>-<jobId>-<dlqRetries>. Whatever state
  # the DLQ processor has moved it to, the entry exists and names its origin.
  _dlq_entry() { api GET "$QUEUE_API/jobs/$dlq/job-async-processing-$id-0"; [ "$API_STATUS" = 200 ]; }
  wait_until 30 _dlq_entry || { echo "no entry in $dlq for $id ($API_STATUS)"; return 1; }
  [ "$(echo "$API_BODY" | json_get data.origin.jobId)" = "$id" ] && [ "$(echo "$API_BODY" | json_get data.error.permanent)" = true ]
}
check "queue-processor: a permanently failing demo.fail job ends in the dead-letter queue" _failing_job_dead_lettered

_stats_four_queues() {
  local name
  api GET "$QUEUE_API/stats"
  [ "$API_STATUS" = 200 ] || return 1
  for name in long-running-jobs async-processing event-driven-jobs "${DLQ_QUEUE_NAME:-dead-letter-queue}"; do
    echo "$API_BODY" | grep -q "\"name\":\"$name\"" || { echo "/stats lacks $name"; return 1; }
  done
}
check "queue-processor: /stats lists the four queues with counts" _stats_four_queues
