# shellcheck shell=bash
# A permanently failing job is parked in the DLQ, listed by GET /dlq, retried by POST /dlq/:id/retry.
# `check` runs each step in a subshell: the entry id travels through a file in $CHECK_TMP.
_DLQ_STATE="$CHECK_TMP/dlq-entry"

_dlq_parks_failing_job() {
  local job_id entry
  api POST "$QUEUE_API/jobs/async-processing" \
    '{"name":"demo.fail","data":{"message":"check: permanent failure","permanent":true}}'
  [ "$API_STATUS" = 201 ] || { echo "POST /jobs/async-processing answered $API_STATUS: $API_BODY"; return 1; }
  job_id=$(echo "$API_BODY" | json_get id) || return 1
  # Entry id of a first failure: job-<queue>-<jobId>-<dlqRetries> (deadLetterJobId).
  entry="job-async-processing-${job_id}-0"
  echo "$entry" >"$_DLQ_STATE"
  _parked() { api GET "$DLQ_API/dlq/$entry"; [ "$API_STATUS" = 200 ] && [ "$(echo "$API_BODY" | json_get status)" = parked ]; }
  wait_until 30 _parked || { echo "entry $entry not parked (last: $API_STATUS $API_BODY)"; return 1; }
  [ "$(echo "$API_BODY" | json_get classification)" = permanent ]
}
check "a permanently failing job (demo.fail) is parked in the DLQ as permanent" _dlq_parks_failing_job

_dlq_lists_entry() {
  local entry
  entry=$(cat "$_DLQ_STATE" 2>/dev/null) || return 1
  api GET "$DLQ_API/dlq?origin=async-processing&status=parked&limit=200"
  [ "$API_STATUS" = 200 ] || { echo "GET /dlq answered $API_STATUS"; return 1; }
  echo "$API_BODY" | grep -q "\"id\":\"$entry\"" || { echo "$entry not in GET /dlq"; return 1; }
}
check "GET /dlq?origin=async-processing&status=parked lists the parked entry" _dlq_lists_entry

_dlq_retries_entry() {
  local entry
  entry=$(cat "$_DLQ_STATE" 2>/dev/null) || return 1
  api POST "$DLQ_API/dlq/$entry/retry"
  [ "$API_STATUS" = 202 ] || { echo "POST /dlq/$entry/retry answered $API_STATUS: $API_BODY"; return 1; }
  [ "$(echo "$API_BODY" | json_get retriedTo.queue)" = async-processing ] || return 1
  # The job runs again, fails permanently again, and comes back to the same entry: parked, retries 1.
  _back() {
    api GET "$DLQ_API/dlq/$entry"
    [ "$(echo "$API_BODY" | json_get status)" = parked ] && [ "$(echo "$API_BODY" | json_get retries)" = 1 ]
  }
  wait_until 30 _back || { echo "entry not back after the retry (last: $API_BODY)"; return 1; }
}
check "POST /dlq/:id/retry sends the job back; it fails again and returns to the same entry" _dlq_retries_entry

_dlq_404() { api GET "$DLQ_API/dlq/no-such-entry"; [ "$API_STATUS" = 404 ] && [ "$(echo "$API_BODY" | json_get error)" = not_found ]; }
check "GET /dlq/<unknown> is 404 not_found" _dlq_404

# The operator console (README "Operator console") serves its page shell. With ADMIN_USERS set and
# no API_KEY in this environment, the check can only see the login challenge.
_dlq_console() {
  api GET "$DLQ_API/console"
  if [ "$API_STATUS" = 401 ] && [ -z "${API_KEY:-}" ]; then return 0; fi
  [ "$API_STATUS" = 200 ] || { echo "GET /console answered $API_STATUS"; return 1; }
  echo "$API_BODY" | grep -q 'src="/console/assets/app.js"' || { echo "GET /console is not the console page"; return 1; }
}
check "GET /console serves the operator console" _dlq_console
