#!/usr/bin/env bash
# Overload benchmark (issue 14): the example's GET /api/work (one query on a simulated pool of
# 8 connections x 10 ms, about 800 queries/s) under constant-rate demand from 0.5x to 8x that
# capacity, for:
#   rampart        the example server with examples/server/bench.toml (adaptive limit, group
#                  `database`, the whole stack around it)
#   no-limit       the same server and config without the limit
#   tower-fixed    the handlers behind tower's ConcurrencyLimit(8) + LoadShed, hand-tuned to
#                  the pool (benches/peer)
#   aimd           the handlers behind tower-resilience's AIMD limiter + LoadShed (benches/peer)
# then the pool halved through /admin/chaos mid-run at 2x demand.
#
#   scripts/overload.sh                  # 10 s per load, about 6 minutes
#   SECONDS_PER_RUN=5 scripts/overload.sh
#
# Each run starts its server afresh, pinned to CPU 0 with one tokio worker; the open-loop
# generator (benches/open-loop: constant rate, latency from each request's scheduled start)
# runs pinned to CPU 1. Prints markdown tables and writes target/overload/overload.png
# (gnuplot). Loopback only; every run is bounded in time and in requests in flight.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=${SECONDS_PER_RUN:-10}
PORT=${PORT:-3941}
CAPACITY=800
LOADS=(0.5 1 2 4 8)
VARIANTS=(rampart no-limit tower-fixed aimd)
TOKEN=overload-benchmark-token
OUT=target/overload
LIMIT_SERIES='rampart_concurrency_limit{limiter="database"}'

need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need gnuplot gnuplot-nox
need jq jq
need taskset util-linux

cargo build --release -q -p example-server -p peer-server -p open-loop
mkdir -p "$OUT"
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT

# bench.toml without the limit on /api/work.
grep -v -e '^\[stack\.concurrency' -e '^\[stack\.routes\."/api/work"\.concurrency\]' \
    -e '^group = "database"' examples/server/bench.toml >"$OUT/no-limit.toml"

start() {
    local variant=$1 command
    case $variant in
        rampart) command=(target/release/example-server --config examples/server/bench.toml) ;;
        no-limit) command=(target/release/example-server --config "$OUT/no-limit.toml") ;;
        tower-fixed) command=(target/release/peer-server --overload fixed) ;;
        aimd) command=(target/release/peer-server --overload aimd) ;;
    esac
    RAMPART_ADMIN_TOKEN=$TOKEN RUST_LOG=error TOKIO_WORKER_THREADS=1 taskset -c 0 \
        "${command[@]}" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" && return
        sleep 0.1
    done
    echo "$variant did not start" >&2
    exit 1
}

stop() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# generate VARIANT RATE NAME [open-loop flags...]: one run, its JSON summary in $OUT/NAME.json.
generate() {
    local variant=$1 rate=$2 name=$3
    start "$variant"
    taskset -c 1 target/release/open-loop "http://127.0.0.1:$PORT/api/work" "$rate" "$RUN" \
        --watch "http://127.0.0.1:$PORT/metrics" "$LIMIT_SERIES" \
        --timeline "$OUT/$name.csv" "${@:4}" >"$OUT/$name.json"
    stop
}

for variant in "${VARIANTS[@]}"; do
    for load in "${LOADS[@]}"; do
        rate=$(jq -n "$load * $CAPACITY")
        echo "$variant at ${load}x ($rate/s)" >&2
        generate "$variant" "$rate" "$variant-$load"
    done
done

echo
echo "Demand from 0.5x to 8x the pool's capacity ($CAPACITY/s), ${RUN} s each; goodput = 200s within"
echo "200 ms per second; latencies in ms from each request's scheduled start."
echo
echo "| variant | load | goodput/s | p50 200 | p99 200 | p99 503 | refused | other | errors | limit settled after (s) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for variant in "${VARIANTS[@]}"; do
    for load in "${LOADS[@]}"; do
        jq -r --arg v "$variant" --arg l "${load}x" \
            '"| \($v) | \($l) | \(.goodput_per_s) | \(.p50_ok_ms) | \(.p99_ok_ms) | \(.p99_refused_ms) | \(.refused) | \(.other_status) | \(.errors + .skipped) | \(.settle_s // "-" | if type == "number" then (. * 10 | round / 10) else . end) |"' \
            "$OUT/$variant-$load.json"
    done
done

# Capacity halved mid-run: pool 8 -> 4 at 5 s, demand at 2x the original capacity.
TARGET=$(jq -n "[3 * $(jq .p99_ok_ms "$OUT/rampart-0.5.json"), 50] | min | ceil")
HALVE_RUN=$((RUN + 10))
echo
echo "Pool halved (8 -> 4 connections) at 5 s under $((2 * CAPACITY))/s, ${HALVE_RUN} s; target p99 of 200s:"
echo "${TARGET} ms (3x rampart's unloaded p99, at most 50)."
echo
echo "| variant | goodput/s | p99 200 | limit settled after the change (s) | p99 back under target after (s) |"
echo "|---|---|---|---|---|"
for variant in rampart tower-fixed aimd; do
    RUN=$HALVE_RUN generate "$variant" $((2 * CAPACITY)) "$variant-halved" \
        --change-at 5 "http://127.0.0.1:$PORT/admin/chaos" "$TOKEN" '{"pool_size": 4}' \
        --target-ms "$TARGET"
    jq -r --arg v "$variant" \
        '"| \($v) | \(.goodput_per_s) | \(.p99_ok_ms) | \(.settle_after_change_s // "-" | if type == "number" then (. * 10 | round / 10) else . end) | \(.p99_back_under_target_s // "never") |"' \
        "$OUT/$variant-halved.json"
done

gnuplot <<GNUPLOT
set terminal png size 1200,800
set output "$OUT/overload.png"
set datafile separator ","
set key autotitle columnhead
set multiplot layout 2,2 title "GET /api/work on a pool of 8 x 10 ms (capacity about 800/s), open-loop demand"
set title "Goodput (200s within 200 ms) per second vs demand"
set xlabel "demand (x capacity)"; set ylabel "goodput/s"; set logscale x 2; set xrange [0.4:10]; set key right center
plot for [v in "rampart no-limit tower-fixed aimd"] "< echo load,value; for l in 0.5 1 2 4 8; do jq -r \"[\$l, .goodput_per_s] | @csv\" $OUT/".v."-\$l.json; done" using 1:2 with linespoints title v
set title "p99 of 200s (ms) vs demand"
set ylabel "p99 ms"; set logscale y; set key right center
plot for [v in "rampart no-limit tower-fixed aimd"] "< echo load,value; for l in 0.5 1 2 4 8; do jq -r \"[\$l, .p99_ok_ms] | @csv\" $OUT/".v."-\$l.json; done" using 1:2 with linespoints title v
unset logscale; set autoscale x
set title "Pool halved at 5 s (2x demand): p99 of 200s per 250 ms"
set xlabel "seconds"; set ylabel "p99 ms"; set yrange [0:*]; set key right center
plot for [v in "rampart tower-fixed aimd"] "$OUT/".v."-halved.csv" using 1:3 with lines title v
set title "Pool halved at 5 s: rampart's limit and goodput"
set ylabel "limit"; set y2label "goodput/s"; set y2tics; set ytics nomirror; set y2range [0:*]; set key right bottom
plot "$OUT/rampart-halved.csv" using 1:5 with lines title "limit", "" using 1:2 axes x1y2 with lines title "goodput/s"
unset multiplot
GNUPLOT
echo
echo "plot: $OUT/overload.png"
