# shellcheck shell=bash
# Every service's /health answers 200 with status ok, and /stats answers.
_healthy() { api GET "$1/health"; [ "$API_STATUS" = 200 ] && [ "$(echo "$API_BODY" | json_get status)" = ok ]; }
_stats() { api GET "$1/stats"; [ "$API_STATUS" = 200 ]; }
check "queue-processor /health is 200 ok ($QUEUE_API)" _healthy "$QUEUE_API"
check "event-processor /health is 200 ok ($EVENT_API)" _healthy "$EVENT_API"
check "dlq-processor /health is 200 ok ($DLQ_API)" _healthy "$DLQ_API"
check "queue-processor /stats answers" _stats "$QUEUE_API"
check "event-processor /stats answers" _stats "$EVENT_API"
check "dlq-processor /stats answers" _stats "$DLQ_API"
