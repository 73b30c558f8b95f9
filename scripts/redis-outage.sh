#!/usr/bin/env bash
# What a Redis outage costs the example server (docs/reliability.md, "Redis brown-outs").
#
# For two routes, /api/hello (rate limited: one Redis call per request) and /api/items/<random>
# (rate limited and a cache miss: a Redis read and a write too), wrk measures throughput and p99
# of the release server (examples/server/bench.toml, one tokio worker on CPU 0; wrk 1 thread,
# 64 connections on CPU 1) in four states: without Redis at all, with Redis, with Redis hung
# (SIGSTOP), with Redis killed. The outage states are measured from one second after the outage
# began: that first second (requests in flight wait out their deadlines until the tiers stop
# asking) is the onset, reported on its own as the longest request wrk saw. Then it times how
# long after Redis returns the instance decides through it again.
#
#   scripts/redis-outage.sh                  # 5 s per run
#   DURATION=10s scripts/redis-outage.sh
#   BINARY=/tmp/old/target/release/example-server scripts/redis-outage.sh   # another build
#
# Loopback only; every process started here is stopped by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
PORT=${PORT:-3921}
REDIS_PORT=${REDIS_PORT:-6391}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
if [ -z "${BINARY:-}" ]; then
    cargo build --release -q -p example-server
    BINARY=target/release/example-server
fi

WORK=$(mktemp -d)
SERVER_PID="" REDIS_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    if [ -n "$REDIS_PID" ]; then kill -CONT "$REDIS_PID" 2>/dev/null || true; kill "$REDIS_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/random-items.lua" <<'LUA'
request = function()
  return wrk.format("GET", "/api/items/" .. math.random(1, 1000000000))
end
LUA

start_redis() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
    echo "redis-server did not start" >&2; exit 1
}
stop_redis() {
    kill -CONT "$REDIS_PID" 2>/dev/null || true
    kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""
}
start_server() {
    RUST_LOG=warn TOKIO_WORKER_THREADS=1 taskset -c 0 "$BINARY" --config examples/server/bench.toml \
        --listen "127.0.0.1:$PORT" "$@" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" && return; sleep 0.1; done
    echo "example-server did not start" >&2; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

# wrk on one route for $2 (default DURATION): "<requests/s> <p99 ms> <max ms>".
load() {
    local route=$1 duration=${2:-$DURATION} script=()
    [ "$route" = items ] && script=(-s "$WORK/random-items.lua")
    taskset -c 1 wrk -t1 -c64 -d"$duration" --latency "${script[@]}" "http://127.0.0.1:$PORT/api/hello" |
        awk 'function ms(v) {if (v ~ /us$/) {sub(/us$/,"",v); return v/1000} if (v ~ /ms$/) {sub(/ms$/,"",v); return v+0} sub(/s$/,"",v); return v*1000}
             /^Requests\/sec/ {rps=$2}
             $1 == "Latency" && NF >= 4 {max=ms($4)}
             $1 == "99%" {p99=ms($2)}
             END {printf "%s %.2f %.1f\n", rps, p99, max}'
}

# The number of rate-limit decisions Redis has run.
decisions() {
    redis-cli -p "$REDIS_PORT" info commandstats |
        awk -F'[:=,]' '/^cmdstat_(evalsha|eval):/ {n += $3} END {print n + 0}'
}

declare -A RESULT
for route in hello items; do
    start_server
    RESULT[$route,none]=$(load "$route")
    stop_server

    start_redis
    start_server --redis-url "redis://127.0.0.1:$REDIS_PORT/"
    RESULT[$route,up]=$(load "$route")
    kill -STOP "$REDIS_PID"
    RESULT[$route,hung-onset]=$(load "$route" 1s)
    RESULT[$route,hung]=$(load "$route")
    stop_server
    stop_redis

    start_redis
    start_server --redis-url "redis://127.0.0.1:$REDIS_PORT/"
    load "$route" 1s >/dev/null
    stop_redis
    RESULT[$route,killed-onset]=$(load "$route" 1s)
    RESULT[$route,killed]=$(load "$route")
    stop_server
done

# Sharing resumes: Redis hung under load, then continued; the time until Redis runs a
# decision of the instance again.
start_redis
start_server --redis-url "redis://127.0.0.1:$REDIS_PORT/"
kill -STOP "$REDIS_PID"
taskset -c 1 wrk -t1 -c8 -d3s "http://127.0.0.1:$PORT/api/hello" >/dev/null
kill -CONT "$REDIS_PID"
before=$(decisions)
began=$(date +%s%N)
resumed=""
for _ in $(seq 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/hello" || true
    if [ "$(decisions)" -gt "$before" ]; then
        resumed=$(( ($(date +%s%N) - began) / 1000000 )); break
    fi
    sleep 0.05
done
stop_server
stop_redis

echo "| route | state | req/s | p99 ms | max ms | req/s vs no Redis | p99 added ms |"
echo "|---|---|---|---|---|---|---|"
for route in hello items; do
    read -r base_rps base_p99 _ <<<"${RESULT[$route,none]}"
    label=$([ "$route" = hello ] && echo '`/api/hello` (limited)' || echo '`/api/items/<random>` (limited, cache miss)')
    for state in none up hung-onset hung killed-onset killed; do
        read -r rps p99 max <<<"${RESULT[$route,$state]}"
        python3 -c "import sys; r,s,rps,p99,mx,brps,bp99=sys.argv[1:]; print(f'| {r} | {s} | {float(rps):,.0f} | {float(p99):.2f} | {float(mx):.1f} | {float(rps)/float(brps):.2f}x | {float(p99)-float(bp99):+.2f} |')" \
            "$label" "$state" "$rps" "$p99" "$max" "$base_rps" "$base_p99"
    done
done
echo
echo "sharing resumed ${resumed:-never (over 10 s)} ms after Redis came back"
