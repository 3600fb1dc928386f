# shellcheck shell=bash
# Stream write and read through a consumer group (a check group, so the processor's is untouched).
_stream_roundtrip() {
  local group="evinfra-check-$$" event_id entry reply
  event_id=$(new_uuid)
  rcli_streams XGROUP CREATE "$STREAM_NAME" "$group" '$' MKSTREAM >/dev/null || return 1
  entry=$(rcli_streams XADD "$STREAM_NAME" '*' id "$event_id" type workspace.created source test-script \
    specversion 1.0 time "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" \
    data "{\"workspaceId\":\"w-check\",\"name\":\"check\",\"ownerId\":\"u-check\"}") || return 1
  reply=$(rcli_streams XREADGROUP GROUP "$group" checker COUNT 10 STREAMS "$STREAM_NAME" '>')
  rcli_streams XACK "$STREAM_NAME" "$group" "$entry" >/dev/null
  rcli_streams XGROUP DESTROY "$STREAM_NAME" "$group" >/dev/null
  echo "$reply" | grep -q "$event_id"
}
check "stream $STREAM_NAME: XADD then XREADGROUP/XACK through a consumer group" _stream_roundtrip

# Stream ids are <ms>-<seq>: compare numerically.
_id_ge() { local a_ms=${1%-*} a_seq=${1#*-} b_ms=${2%-*} b_seq=${2#*-}; (( a_ms > b_ms || (a_ms == b_ms && a_seq >= b_seq) )); }
_group_acknowledges() {
  local entry
  entry=$(rcli_streams XADD "$STREAM_NAME" '*' id "$(new_uuid)" type user.created source test-script \
    specversion 1.0 time "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" data '{"userId":"u-check","email":"check@example.com"}') || return 1
  # Acknowledged once no consumer of the processor's group holds it pending.
  _entry_done() {
    local last
    last=$(rcli_streams XINFO GROUPS "$STREAM_NAME" | awk -v g="$CONSUMER_GROUP" 'f&&/last-delivered-id/{getline; print; exit} $0==g{f=1}')
    [ -n "$last" ] && _id_ge "$last" "$entry" && ! rcli_streams XPENDING "$STREAM_NAME" "$CONSUMER_GROUP" - + 1000 | grep -qx "$entry"
  }
  wait_until 10 _entry_done
}
check "event processor's group ($CONSUMER_GROUP) reads and acknowledges a new entry" _group_acknowledges
