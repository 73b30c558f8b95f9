#!/usr/bin/env bash
# Alternated A/B load run of two example-server binaries (say, main before and after a change),
# as scripts/bench-load.sh runs one: server pinned to CPU 0 with one tokio worker and
# examples/server/bench.toml, wrk pinned to CPU 1 (1 thread, 64 connections). Alternating the
# binaries round by round keeps machine noise out of the ratio.
#
#   scripts/ab-load.sh BEFORE_BINARY AFTER_BINARY            # 3 rounds of 4 s per route
#   ROUNDS=5 DURATION=5s scripts/ab-load.sh old/example-server target/release/example-server
#   BEFORE_CONFIG=old-bench.toml scripts/ab-load.sh ...   # when the config format changed
#
# Loopback only; every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 2 ] || { echo "usage: $0 BEFORE_BINARY AFTER_BINARY" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4s}
PORT=${PORT:-3919}
ROUTES=("/api/hello|" "/api/report|br")
BEFORE_CONFIG=${BEFORE_CONFIG:-examples/server/bench.toml}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT
run() {
    local binary=$1 path=$2 encoding=$3 config=$4
    RUST_LOG=warn TOKIO_WORKER_THREADS=1 taskset -c 0 "$binary" --config "$config" \
        --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" && break; sleep 0.1; done
    local header=()
    [ -n "$encoding" ] && header=(-H "Accept-Encoding: $encoding")
    taskset -c 1 wrk -t1 -c64 -d"$DURATION" "${header[@]}" "http://127.0.0.1:$PORT$path" |
        awk '/^Requests\/sec/ {print $2}'
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

for route in "${ROUTES[@]}"; do
    IFS='|' read -r path encoding <<<"$route"
    before=() after=()
    for _ in $(seq "$ROUNDS"); do
        before+=("$(run "$1" "$path" "$encoding" "$BEFORE_CONFIG")")
        after+=("$(run "$2" "$path" "$encoding" examples/server/bench.toml)")
    done
    python3 - "$path${encoding:+ ($encoding)}" "${before[*]}" "${after[*]}" <<'PY'
import statistics, sys
route, before, after = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
b, a = statistics.median(before), statistics.median(after)
print(f"| `{route}` | {b:,.0f} | {a:,.0f} | {a / b:.3f}x | {' '.join(f'{x:,.0f}' for x in before)} / {' '.join(f'{x:,.0f}' for x in after)} |")
PY
done
