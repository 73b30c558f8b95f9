#!/usr/bin/env bash
# Instructions per request of one example-server binary on one route, under valgrind's
# callgrind: far steadier than req/s on a shared machine for changes of a few percent.
#
#   scripts/instructions-per-request.sh target/release/example-server /api/hello
#   scripts/instructions-per-request.sh OLD_BINARY /api/report br
#   CONFIG=old-bench.toml scripts/instructions-per-request.sh OLD_BINARY /api/hello
#
# The server runs with examples/server/bench.toml (or $CONFIG) and one tokio worker; counters are zeroed
# after a 3 s warm-up, then wrk (1 thread, 16 connections, 5 s) drives it and the dumped
# instruction count is divided by the requests wrk saw. Background work that runs per second
# (metrics upkeep, cache maintenance) is in the count too, so compare runs of similar request
# counts. Loopback only; bounded; the server is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 BINARY PATH [ACCEPT_ENCODING]" >&2; exit 2; }
BINARY=$1 ROUTE=$2 ENCODING=${3:-}
PORT=${PORT:-3931}
for tool in valgrind callgrind_control wrk curl; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install valgrind wrk curl)" >&2; exit 1; }
done
OUT=$(mktemp -d)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$OUT"' EXIT
RUST_LOG=warn TOKIO_WORKER_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" \
    "$BINARY" --config "${CONFIG:-examples/server/bench.toml}" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" && break; sleep 0.2; done
HEADER=()
[ -n "$ENCODING" ] && HEADER=(-H "Accept-Encoding: $ENCODING")
wrk -t1 -c16 -d3s "${HEADER[@]}" "http://127.0.0.1:$PORT$ROUTE" >/dev/null
callgrind_control -z "$SERVER_PID" >/dev/null
REQUESTS=$(wrk -t1 -c16 -d5s "${HEADER[@]}" "http://127.0.0.1:$PORT$ROUTE" | awk '/requests in/ {print $1}')
callgrind_control -d "$SERVER_PID" >/dev/null
INSTRUCTIONS=$(grep -h "^summary:" "$OUT"/cg.*.1 | awk '{print $2}')
echo "$BINARY $ROUTE requests=$REQUESTS instructions_per_request=$((INSTRUCTIONS / REQUESTS))"
