#!/usr/bin/env bash
# bench.sh: the measurements recorded in docs/benchmarks.md, in one run.
# Starts a private redis-server on a loopback port, runs redis-benchmark
# EVALSHA for comparison, the routing Go benchmarks, and loadgen at the
# given rates, then stops the server. Usage (from the repository root):
#   cmd/loadgen/bench.sh [duration] [rate...]
set -euo pipefail
dur=${1:-10s}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(1000 2000 3000 4000)
port=${BENCH_PORT:-6391}
dir=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes \
  --logfile "$dir/redis.log" >/dev/null
sleep 0.5

echo "## machine"
echo "date: $(date -u +%FT%TZ)"
echo "nproc: $(nproc)"
lscpu | grep 'Model name' || true
free -m | awk '/Mem:/{print "memory: " $2 " MiB"}'
redis-server --version
go version
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## redis-benchmark EVALSHA (50 clients, no pipelining)"
trivial=$(redis-cli -p "$port" script load "return 1")
claim=$(redis-cli -p "$port" script load "local m = redis.call('ZPOPMIN', KEYS[1]) if m[1] then redis.call('HSET', KEYS[2], 'owner', m[1]) end redis.call('ZADD', KEYS[1], 1, 'x') return 1")
redis-benchmark -p "$port" -n 200000 -c 50 -q evalsha "$trivial" 0 | tr '\r' '\n' | tail -1
redis-benchmark -p "$port" -n 200000 -c 50 -q evalsha "$claim" 2 'bench:{b}:z' 'bench:{b}:h' | tr '\r' '\n' | tail -1

echo "## go test -bench (routing, 200 agents)"
go test ./routing/ -run '^$' -bench . -benchtime 3000x | grep Benchmark

go build -o "$dir/loadgen" ./cmd/loadgen
for r in "${rates[@]}"; do
  echo "## loadgen -rate $r -duration $dur -agents 200 -gateways 1 (load average $(cut -d' ' -f1 /proc/loadavg))"
  REDIS_URL="redis://127.0.0.1:$port/0" "$dir/loadgen" -rate "$r" -duration "$dur" -agents 200 -gateways 1 | tail -4
done
echo "## loadgen -rate ${rates[0]} -duration $dur -agents 200 -gateways 2 (load average $(cut -d' ' -f1 /proc/loadavg))"
REDIS_URL="redis://127.0.0.1:$port/0" "$dir/loadgen" -rate "${rates[0]}" -duration "$dur" -agents 200 -gateways 2 | tail -4
# The same highest rate with one connection per script call (no
# autopipelining), for comparison in the same conditions.
last=${rates[${#rates[@]}-1]}
echo "## loadgen -rate $last -duration $dur -agents 200 -gateways 1 -direct (load average $(cut -d' ' -f1 /proc/loadavg))"
REDIS_URL="redis://127.0.0.1:$port/0" "$dir/loadgen" -rate "$last" -duration "$dur" -agents 200 -gateways 1 -direct | tail -4
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
