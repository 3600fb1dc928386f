# shellcheck shell=bash
# Load: 10 concurrent jobs all complete (seen running at once in /stats), 100 events all handled, memory per service.
# `check` runs each step in a subshell: figures travel through files in $CHECK_TMP.

# POST $2 (JSON) to $1 with the API key when set; the body lands in $3, the status is printed.
_post_json() {
  local args=(-s -o "$3" -w '%{http_code}' -X POST --max-time 10 -H 'Content-Type: application/json' --data "$2")
  [ -n "${API_KEY:-}" ] && args+=(-H "Authorization: Bearer $API_KEY")
  curl "${args[@]}" "$1"
}

_completed_total() {
  curl -sf --max-time 5 "$QUEUE_API/metrics" \
    | awk '/^queue_jobs_completed_total\{/ && /queue="async-processing"/ { sum += $2 } END { print sum + 0 }'
}

_active_now() { api GET "$QUEUE_API/stats"; echo "$API_BODY" | node -e '
  let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
    const queue = JSON.parse(s).queues.find((q) => q.name === "async-processing");
    process.stdout.write(String(queue.counts.active));
  });'; }

_concurrent_jobs() {
  local dir="$CHECK_TMP/load-jobs" i pids=() ids=() status before peak=0 active key scores done=0
  mkdir -p "$dir"
  before=$(_completed_total)
  # Ten POSTs at once, each a 1.5 s demo.sleep with its own id.
  for i in $(seq 1 10); do
    ids+=("check-load-$i-$(new_uuid)")
    _post_json "$QUEUE_API/jobs/async-processing" "{\"name\":\"demo.sleep\",\"data\":{\"durationMs\":1500,\"steps\":3},\"opts\":{\"jobId\":\"${ids[-1]}\"}}" "$dir/$i.json" >"$dir/$i.status" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  for i in $(seq 1 10); do
    status=$(cat "$dir/$i.status")
    [ "$status" = 201 ] || { echo "POST $i answered $status: $(cat "$dir/$i.json")"; return 1; }
  done
  # Until all ten are in the completed set: watch /stats for jobs running at once.
  key=$(bull_key async-processing completed)
  local deadline=$(( $(date +%s) + 30 ))
  while (( $(date +%s) <= deadline )); do
    active=$(_active_now) && (( active > peak )) && peak=$active
    scores=$(rcli_queue ZMSCORE "$key" "${ids[@]}")
    if ! echo "$scores" | grep -qvE '^[0-9]+$'; then done=1; break; fi
    sleep 0.2
  done
  ((done == 1)) || { echo "not all 10 jobs completed within 30 s (peak active $peak)"; return 1; }
  echo "$peak" >"$CHECK_TMP/load-peak-active"
  echo "$before" >"$CHECK_TMP/load-completed-before"
  (( peak >= 2 )) || { echo "/stats never showed two of them active at once (peak $peak)"; return 1; }
}
check "10 concurrent jobs (POSTed in parallel) all complete; /stats shows them running at once" _concurrent_jobs

_stats_follow() {
  local before after=0
  before=$(cat "$CHECK_TMP/load-completed-before" 2>/dev/null) || { echo "no figures from the concurrent-jobs check"; return 1; }
  # The counter is updated just after BullMQ marks a job completed: wait for it.
  _grown() { after=$(_completed_total); (( after - before >= 10 )); }
  wait_until 5 _grown || { echo "queue_jobs_completed_total{queue=async-processing} grew by $((after - before)), not 10"; return 1; }
}
check "queue stats: /metrics counted the 10 completions (queue_jobs_completed_total)" _stats_follow

# 100 events written with XADD in one redis-cli session (a foreign publisher), all handled:
# each fanned out exactly once on evinfra:events:user.updated, none left pending.
_event_batch() {
  local out="$CHECK_TMP/batch-sub" id_file="$CHECK_TMP/batch-ids" entries="$CHECK_TMP/batch-entries" sub now seen dupes pending
  node -e 'for (let i = 0; i < 100; i++) console.log(crypto.randomUUID())' >"$id_file"
  rcli_master_bg PSUBSCRIBE 'evinfra:events:*' >"$out" 2>&1 &
  sub=$!
  wait_until 5 grep -q psubscribe "$out" || { kill "$sub" 2>/dev/null; echo "PSUBSCRIBE did not start"; return 1; }
  now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
  awk -v stream="$STREAM_NAME" -v now="$now" '{
      printf "XADD %s * id %s type user.updated source test-script specversion 1.0 time %s data \"{\\\"userId\\\":\\\"u-batch-%d\\\",\\\"changes\\\":{\\\"n\\\":%d}}\"\n", stream, $1, now, NR, NR
    }' "$id_file" | rcli_streams >"$entries" || { kill "$sub" 2>/dev/null; echo "XADD batch failed"; return 1; }
  [ "$(grep -cE '^[0-9]+-[0-9]+$' "$entries")" = 100 ] || { kill "$sub" 2>/dev/null; echo "XADD answered: $(head -n 3 "$entries")"; return 1; }
  _batch_seen() { [ "$(grep -oE '"id":"[0-9a-f-]{36}"' "$out" | cut -d'"' -f4 | grep -cxF -f "$id_file")" -ge 100 ]; }
  wait_until 20 _batch_seen
  kill "$sub" 2>/dev/null
  wait "$sub" 2>/dev/null
  seen=$(grep -oE '"id":"[0-9a-f-]{36}"' "$out" | cut -d'"' -f4 | grep -xF -f "$id_file" | sort -u | wc -l)
  dupes=$(grep -oE '"id":"[0-9a-f-]{36}"' "$out" | cut -d'"' -f4 | grep -xF -f "$id_file" | sort | uniq -d | wc -l)
  (( seen == 100 )) || { echo "$seen of 100 events handled within 20 s"; return 1; }
  (( dupes == 0 )) || { echo "$dupes events fanned out more than once"; return 1; }
  pending=$(rcli_streams XPENDING "$STREAM_NAME" "$CONSUMER_GROUP" - + 10000) || { echo "XPENDING failed"; return 1; }
  ! grep -qxF -f "$entries" <<<"$pending" || { echo "some of the batch is still pending"; return 1; }
}
check "a batch of 100 events (XADD) is handled: each fanned out exactly once, none pending" _event_batch

_rss_ok() {
  local rss
  rss=$(curl -sf --max-time 5 "$1/metrics" | awk '$1 ~ /^process_resident_memory_bytes(\{|$)/ { print int($2) }')
  [ -n "$rss" ] || { echo "no process_resident_memory_bytes at $1/metrics"; return 1; }
  (( rss < 512 * 1024 * 1024 )) || { echo "resident memory $((rss / 1024 / 1024)) MiB"; return 1; }
}
_rss_all() { _rss_ok "$QUEUE_API" && _rss_ok "$EVENT_API" && _rss_ok "$DLQ_API"; }
check "resource usage: each service's resident memory (/metrics) is under 512 MiB" _rss_all
