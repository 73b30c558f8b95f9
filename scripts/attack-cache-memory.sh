#!/usr/bin/env bash
# The cache's byte limit against a flood of distinct URLs, each request carrying a large junk
# header (issue 12, item 1): the example server as the load benchmark runs it (bench.toml, a
# 32 MiB cache on /api/items/{id}, no effective rate limit), then the process's resident set.
#
#   scripts/attack-cache-memory.sh                     # 1 000 000 requests, 64 KiB junk each
#   REQUESTS=100000 JUNK=400000 scripts/attack-cache-memory.sh
#
# Loopback only; bounded by REQUESTS and by a 20-minute timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-1000000}
JUNK=${JUNK:-65536}
PORT=${PORT:-3918}

cargo build --release -q -p example-server --bin example-server
cargo build --release -q -p rampart-tests --example flood

RUST_LOG=warn target/release/example-server --config examples/server/bench.toml \
    --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/health/live" && break
    sleep 0.1
done

rss() { awk -v f="$1" '$1 == f":" { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
echo "before: VmRSS $(rss VmRSS) MiB"
timeout 1200 target/release/examples/flood "127.0.0.1:$PORT" "$REQUESTS" "$JUNK" '/api/items/{n}?q={n}'
cache=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "rampart_cache_size_bytes" { printf "%.1f", $2 / 1048576 }')
echo "after:  VmRSS $(rss VmRSS) MiB, peak VmHWM $(rss VmHWM) MiB, cache weighs ${cache} MiB (limit 32 MiB)"
