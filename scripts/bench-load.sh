#!/usr/bin/env bash
# Load benchmark of the example server: bare routes, the full rampart stack, the same stack
# without its response cache ("uncached": what the cache buys), and the same routes under the
# crate stack users assemble today ("peer", and "peer-tuned" whose cache stores compressed
# bytes; benches/peer).
#
#   scripts/bench-load.sh                 # 3 interleaved rounds, 10 s per route
#   ROUNDS=5 DURATION=20s scripts/bench-load.sh
#
# Builds release binaries, then per round and per variant starts the example server pinned to
# CPU 0 with one tokio worker, and runs wrk pinned to CPU 1 (1 thread, 64 keep-alive
# connections) against each route. Prints a markdown table of medians (requests per second,
# p50, p99, the server's peak RSS, ratio to bare), then instructions per request on
# /api/hello counted by callgrind: in-process (no socket), and in the whole server over a socket.
# Loopback only; every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-3917}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
VARIANTS=(bare rampart uncached peer peer-tuned)
ROUTES=("/api/hello||" "/api/items/42||" "/api/report|br|" "/api/report|gzip|" "/metrics||")

need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need wrk wrk
need valgrind valgrind
need taskset util-linux

# One invocation, so that the baseline and the counter get the example server's features.
cargo build --release -q -p example-server -p load-targets --bins
cargo build --release -q -p peer-server
SERVER=target/release/example-server
BARE=target/release/bare-server
PEER=target/release/peer-server
COUNTER=target/release/count-requests
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# bench.toml without its cache tables: every route as configured, nothing stored.
grep -v '^\[stack\.routes\..*\.cache\]$' examples/server/bench.toml >"$WORK/uncached.toml"

start_server() {
    local variant=$1 wrapper=("${@:2}") flags=(--config examples/server/bench.toml --listen "127.0.0.1:$PORT")
    [ "$variant" = uncached ] && flags=(--config "$WORK/uncached.toml" --listen "127.0.0.1:$PORT")
    local binary=$SERVER
    case $variant in
        bare) binary=$BARE ;;
        peer) binary=$PEER flags=(--listen "127.0.0.1:$PORT") ;;
        peer-tuned) binary=$PEER flags=(--tuned --listen "127.0.0.1:$PORT") ;;
    esac
    RUST_LOG=warn TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "${wrapper[@]}" "$binary" \
        "${flags[@]}" >"$WORK/server.log" 2>&1 &
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

# wrk's latency figures in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; gsub(/[0-9.]/, "", u);
        if (u == "us") print n; else if (u == "ms") print n * 1000; else if (u == "s") print n * 1000000; else print n
    }'
}

: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
    for variant in "${VARIANTS[@]}"; do
        start_server "$variant"
        for route in "${ROUTES[@]}"; do
            IFS='|' read -r path encoding _ <<<"$route"
            header=()
            [ -n "$encoding" ] && header=(-H "Accept-Encoding: $encoding")
            out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
                "${header[@]}" "http://127.0.0.1:$PORT$path")
            rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
            p50=$(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
            p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
            non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
            rss=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
            echo "$variant ${path}${encoding:+ ($encoding)} $rps $p50 $p99 $rss ${non2xx:-0}" >>"$WORK/results"
            echo "round $round $variant ${path}${encoding:+ ($encoding)}: $rps req/s" >&2
        done
        stop_server
    done
done

echo
echo "| route | variant | req/s | p50 | p99 | peak RSS | vs bare | rampart ÷ this | non-2xx |"
echo "|---|---|---|---|---|---|---|---|---|"
python3 - "$WORK/results" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    *name, rps, p50, p99, rss, bad = line.split()
    variant, route = name[0], " ".join(name[1:])
    rows[(route, variant)].append((float(rps), float(p50), float(p99), int(rss), int(bad)))
routes = list(dict.fromkeys(route for route, _ in rows))
for route in routes:
    def median_rps(variant):
        runs = rows.get((route, variant))
        return statistics.median(r[0] for r in runs) if runs else None
    bare, ours = median_rps("bare"), median_rps("rampart")
    for variant in ("bare", "rampart", "uncached", "peer", "peer-tuned"):
        runs = rows.get((route, variant))
        if not runs:
            continue
        rps = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        p99 = statistics.median(r[2] for r in runs)
        rss = max(r[3] for r in runs) / 1024
        bad = sum(r[4] for r in runs)
        ratio = f"{rps / bare:.2f}×" if bare else ""
        versus = f"{ours / rps:.2f}×" if ours and variant not in ("bare", "rampart") else ""
        print(f"| `{route}` | {variant} | {rps:,.0f} | {p50:,.0f} µs | {p99:,.0f} µs | {rss:.1f} MiB | {ratio} | {versus} | {bad} |")
PY

echo
echo "Instructions per request on /api/hello (callgrind, (I(2N) - I(N)) / N, N = 2000,"
echo "counted inside the request loop only; stack = the Stack alone over the same handlers,"
echo "without the example's request ids and access log):"
count() {
    local command=("$COUNTER" "$1" "$2")
    [ "$1" = peer ] && command=("$PEER" count "$2")
    valgrind --tool=callgrind --collect-atstart=no '--toggle-collect=*drive_requests*' \
        --callgrind-out-file="$WORK/cg.$1.$2" "${command[@]}" >/dev/null 2>"$WORK/cg.$1.$2.log"
    awk '/Collected/ {print $NF}' "$WORK/cg.$1.$2.log"
}
for variant in bare rampart stack peer; do
    once=$(count "$variant" 2000)
    twice=$(count "$variant" 4000)
    echo "- $variant: $(( (twice - once) / 2000 ))"
done

echo
echo "Instructions per request on /api/hello in the whole server over a socket (callgrind on"
echo "the server, counters zeroed once it answers, wrk 1 thread / 16 connections for 5 s; hyper,"
echo "the socket and the runtime included, so the ratios track the req/s ratios above):"
for variant in bare rampart peer; do
    start_server "$variant" valgrind --tool=callgrind --callgrind-out-file="$WORK/cgs.$variant"
    callgrind_control --zero "$SERVER_PID" >/dev/null 2>&1
    served=$(taskset -c "$LOAD_CPU" wrk -t1 -c16 -d5s "http://127.0.0.1:$PORT/api/hello" |
        awk '/requests in/ {print $1}')
    callgrind_control --dump "$SERVER_PID" >/dev/null 2>&1
    stop_server
    spent=$(awk '/^summary:/ {print $2}' "$WORK/cgs.$variant.1")
    echo "- $variant: $(( spent / served )) ($served requests)"
done
