#!/usr/bin/env bash
# e2e-bench.sh: end-to-end figures of docs/benchmarks.md ("Through the real
# binary"), one short run each, before and after a change when given two
# binaries. Each run spawns one gateway and its own redis-server on
# loopback, 200 agents. Usage (from the repository root):
#   cmd/loadgen/e2e-bench.sh LOADGEN BINARY [BINARY...]
# Env: RATES (default "100 300 1000"), DUR (default 5s), IDLE (default 3000).
set -euo pipefail
loadgen=$1
shift
rates=${RATES:-100 300 1000}
dur=${DUR:-5s}
idle=${IDLE:-3000}
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }

echo "## redis-benchmark EVALSHA (same machine, same minute)"
port=$((20000 + RANDOM % 20000))
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --logfile "$dir/r.log" >/dev/null
sleep 0.5
sha=$(redis-cli -p "$port" script load "return 1")
load; redis-benchmark -p "$port" -n 100000 -c 50 -q evalsha "$sha" 0 | tr '\r' '\n' | tail -1
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
rm -rf "$dir"

for bin in "$@"; do
  for ch in sms chat; do
    for r in $rates; do
      echo "## $bin: $ch $r/s for $dur, 1 gateway, 200 agents"
      load
      "$loadgen" -spawn 1 -bin "$bin" -agents 200 -rate "$r" -duration "$dur" -mix "$ch=1" -handle 1s -drain 10s | tail -5
    done
  done
  echo "## $bin: chat messages, 500 chats/s for $dur, each served customer writing every 250ms"
  load
  "$loadgen" -spawn 1 -bin "$bin" -agents 200 -rate 500 -duration "$dur" -mix chat=1 -handle 3s -msg-every 250ms -drain 10s | tail -3
  echo "## $bin: $idle waiting chat visitors"
  load
  "$loadgen" -spawn 1 -bin "$bin" -chat-idle "$idle" -idle-measure 10s | tail -2
done
