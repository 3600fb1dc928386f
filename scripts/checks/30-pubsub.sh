# shellcheck shell=bash
# Pub/sub on the master delivers a published message to a subscriber.
_pubsub() {
  local channel="evinfra:check:$$" out="$CHECK_TMP/sub"
  rcli_master_bg SUBSCRIBE "$channel" >"$out" 2>&1 &
  local sub=$!
  wait_until 5 grep -q subscribe "$out" || { kill "$sub"; return 1; }
  local receivers
  receivers=$(rcli_master PUBLISH "$channel" hello)
  wait_until 5 grep -qx hello "$out"
  local ok=$?
  kill "$sub" 2>/dev/null
  wait "$sub" 2>/dev/null
  [ "$ok" -eq 0 ] && [ "$receivers" -ge 1 ]
}
check "pub/sub on the master delivers to a subscriber" _pubsub
