#!/usr/bin/env bash
# What tracing costs the example server: /api/hello and /api/items/42 under wrk with
#   untraced  no OTLP endpoint, log at `warn`: the request span compiled in, nobody wants it
#   logged    the access log at `info` (to a file): the span's fields formatted per request
#   exported  OTLP/HTTP export at 100 % sampling to a sink on loopback, log at `warn`
#
#   scripts/bench-trace.sh                 # 3 interleaved rounds, 10 s per route
#   ROUNDS=5 DURATION=20s scripts/bench-trace.sh
#   BASELINE=/tmp/old/example-server scripts/bench-trace.sh
#                                          # also `untraced` and `logged` of an older build
#
# The server is pinned to CPU 0 with one tokio worker (the SDK's export thread shares that
# core, so its work is counted), wrk to CPU 1 (1 thread, 64 connections). The sink is a
# Python HTTP server answering 200 to every export, counting the spans' bytes it received.
# Prints medians of req/s and the extra time per request against `untraced`. Loopback only;
# every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
PORT=${PORT:-3918}
SINK_PORT=${SINK_PORT:-4319}
ROUTES=(/api/hello /api/items/42)
command -v wrk >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}

cargo build --release -q -p example-server --bin example-server
SERVER=target/release/example-server
WORK=$(mktemp -d)
SERVER_PID=""
SINK_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 - "$SINK_PORT" "$WORK/sink" <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(out, "a") as f:
            f.write(f"{len(body)}\n")
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
PY
SINK_PID=$!

VARIANTS=(untraced logged exported)
[ -n "${BASELINE:-}" ] && VARIANTS+=(baseline-untraced baseline-logged)

start_server() {
    local variant=$1 env=(RUST_LOG=warn) binary=$SERVER
    case $variant in
        logged | baseline-logged) env=(RUST_LOG=info) ;;
        exported) env=(RUST_LOG=warn "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$SINK_PORT") ;;
    esac
    [[ $variant == baseline-* ]] && binary=$BASELINE
    env "${env[@]}" TOKIO_WORKER_THREADS=1 taskset -c 0 "$binary" \
        --config examples/server/bench.toml --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do
        curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" && return
        sleep 0.1
    done
    echo "the server did not start:" >&2
    cat "$WORK/server.log" >&2
    exit 1
}

stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
    for variant in "${VARIANTS[@]}"; do
        start_server "$variant"
        for path in "${ROUTES[@]}"; do
            rps=$(taskset -c 1 wrk -t1 -c64 -d"$DURATION" "http://127.0.0.1:$PORT$path" |
                awk '/^Requests\/sec/ {print $2}')
            echo "$variant $path $rps" >>"$WORK/results"
            echo "round $round $variant $path: $rps req/s" >&2
        done
        stop_server
        grep -h "lost spans" "$WORK/server.log" >&2 || true
    done
done

echo
echo "| route | variant | req/s | vs untraced | extra per request |"
echo "|---|---|---|---|---|"
python3 - "$WORK/results" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    variant, route, rps = line.split()
    rows[(route, variant)].append(float(rps))
for route in dict.fromkeys(route for route, _ in rows):
    base = statistics.median(rows[(route, "untraced")])
    for variant in ("untraced", "logged", "exported", "baseline-untraced", "baseline-logged"):
        if (route, variant) not in rows:
            continue
        rps = statistics.median(rows[(route, variant)])
        extra = (1 / rps - 1 / base) * 1e6
        print(f"| `{route}` | {variant} | {rps:,.0f} | {rps / base:.2f}× | {extra:+.1f} µs |")
PY
spans_bytes=$(awk '{s += $1} END {print s + 0}' "$WORK/sink" 2>/dev/null || echo 0)
echo
echo "The sink received $(wc -l <"$WORK/sink" 2>/dev/null || echo 0) exports, $spans_bytes bytes."
