#!/usr/bin/env bash
# p99 latency by route over time, from a real Prometheus scraping the example server under a
# constant-rate (open-loop) load: the plot in docs/operations.md (docs/img/p99-by-route.png).
#
#   scripts/p99-by-route.sh             # about 2.5 minutes
#   SECONDS_PER_RUN=60 scripts/p99-by-route.sh
#
# The example server (examples/server/bench.toml: every layer, quotas too high to refuse) runs
# with one tokio worker pinned to CPU 0; Prometheus scrapes it every second and evaluates
# deploy/prometheus/rampart.rules.yml; four open-loop generators (CPU 1) load four routes at
# constant rates for the run. Halfway through, the database behind /api/work gets four times
# slower (POST /admin/chaos {"query_ms": 40}): its p99 climbs, the concurrency limit sheds the
# excess, and the other routes stay fast. Then the p99 of each route over 15 s windows is read
# back from Prometheus (query_range) and plotted. Loopback only; every process is stopped by
# its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=${SECONDS_PER_RUN:-120}
PORT=${PORT:-3951}
PROM_PORT=${PROM_PORT:-3952}
TOKEN=p99-plot-admin-token
OUT=target/p99-by-route

need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need gnuplot gnuplot-nox
need jq jq
need prometheus prometheus
need taskset util-linux

cargo build --release -q -p example-server -p open-loop
rm -rf "$OUT" && mkdir -p "$OUT"
PIDS=()
trap 'for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

RAMPART_ADMIN_TOKEN=$TOKEN RUST_LOG=error TOKIO_WORKER_THREADS=1 taskset -c 0 \
    target/release/example-server --config examples/server/bench.toml \
    --listen "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
PIDS+=($!)
cat >"$OUT/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/deploy/prometheus/rampart.rules.yml
scrape_configs:
  - job_name: example-server
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
YAML
taskset -c 1 prometheus --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$OUT/prometheus.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" &&
        curl -fs -o /dev/null "http://127.0.0.1:$PROM_PORT/-/ready" && break
    sleep 0.2
done

START=$(date +%s)
HALF=$((RUN / 2))
generate() {
    taskset -c 1 target/release/open-loop "http://127.0.0.1:$PORT$1" "$2" "$RUN" "${@:3}" \
        >"$OUT/load$(tr '/' '_' <<<"$1").json" &
    PIDS+=($!)
}
generate /api/hello 400
generate /api/items/42 200
generate /api/report 50
generate /api/work 500 --change-at "$HALF" "http://127.0.0.1:$PORT/admin/chaos" "$TOKEN" '{"query_ms": 40}'
wait "${PIDS[@]:2}"
sleep 3
END=$(date +%s)

QUERY='histogram_quantile(0.99, sum by (http_route, le) (rate(http_server_request_duration_seconds_bucket{http_route=~"/api/.*"}[15s])))'
curl -fsG "http://127.0.0.1:$PROM_PORT/api/v1/query_range" --data-urlencode "query=$QUERY" \
    --data-urlencode "start=$START" --data-urlencode "end=$END" --data-urlencode "step=2" \
    >"$OUT/p99.json"
jq -r --argjson start "$START" '.data.result[] | .metric.http_route as $route |
    .values[] | select(.[1] != "NaN") | [$route, (.[0] - $start), ((.[1] | tonumber) * 1000)] | @tsv' \
    "$OUT/p99.json" >"$OUT/p99.tsv"
ROUTES=$(cut -f1 "$OUT/p99.tsv" | sort -u | tr '\n' ' ')
echo "routes: $ROUTES"
for route in $ROUTES; do
    awk -F'\t' -v r="$route" '$1 == r { print $2, $3 }' "$OUT/p99.tsv" >"$OUT/$(tr '/{}' '___' <<<"$route").dat"
done

gnuplot <<GNUPLOT
set terminal png size 1100,600 noenhanced
set output "$OUT/p99-by-route.png"
set title "p99 by route from Prometheus (15 s windows); /api/work's database 4x slower at ${HALF} s"
set xlabel "seconds"; set ylabel "p99 (ms)"; set logscale y; set grid
set key outside right
files = "$(for route in $ROUTES; do printf '%s ' "$OUT/$(tr '/{}' '___' <<<"$route").dat"; done)"
titles = "$ROUTES"
plot for [i=1:words(files)] word(files, i) using 1:2 with lines lw 2 title word(titles, i), 200 with lines dt 2 lc rgb "gray" title "SLO 200 ms"
GNUPLOT
echo
for file in "$OUT"/load_api_*.json; do
    echo "$(basename "$file" .json): $(jq -c '{goodput_per_s, p99_ok_ms, refused, other_status}' "$file")"
done
echo "plot: $OUT/p99-by-route.png"
