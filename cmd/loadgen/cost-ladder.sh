#!/usr/bin/env bash
# cost-ladder.sh: what each process costs per contact at each rate
# (docs/benchmarks.md, "What each process costs per contact"). For every
# rate it starts a fresh redis-server on a loopback port and runs loadgen
# with one spawned gateway against it; "pinned" puts Redis on CPU 1 and
# loadgen with its gateway on CPU 0. Usage (from the repository root,
# after make build and go build -o loadgen ./cmd/loadgen):
#   cmd/loadgen/cost-ladder.sh shared|pinned sms|chat RATE...
# Extra loadgen flags go in LOADGEN_FLAGS, e.g. "-msg-every 100ms".
set -euo pipefail
mode=$1 mix=$2
shift 2
port=${BENCH_PORT:-6392}
dir=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
redis_on=() gen_on=()
if [ "$mode" = pinned ]; then redis_on=(taskset -c 1); gen_on=(taskset -c 0); fi
for rate in "$@"; do
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  "${redis_on[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize yes --logfile "$dir/redis.log" >/dev/null
  sleep 0.3
  echo "== $(date -u +%T) $mode $mix rate=$rate, load $(cut -d' ' -f1 /proc/loadavg)"
  # shellcheck disable=SC2086
  REDIS_URL="redis://127.0.0.1:$port" "${gen_on[@]}" ./loadgen -spawn 1 -bin ./switchboard -agents 200 \
    -rate "$rate" -duration 6s -mix "$mix=1" -handle 1s -drain 10s -twilio-delay 150ms ${LOADGEN_FLAGS:-} \
    | grep -E '^routed=|^per routed contact|^chat customer messages|^customer message' || true
done
