# shellcheck shell=bash
# Each Redis answers PING with its password, and runs with AOF on.
_redis_pong() { [ "$("$1" PING)" = "PONG" ]; }
_redis_aof() { "$1" CONFIG GET appendonly | grep -qx yes; }
for role in master streams queue; do
  check "redis ($role) answers PING" _redis_pong "rcli_$role"
  check "redis ($role) has appendonly yes" _redis_aof "rcli_$role"
done
