#!/usr/bin/env bash
# RFC 9111 conformance of rampart's cache on the public suite behind cache-tests.fyi
# (http-tests/cache-tests, vendored at a pinned commit in vendor/cache-tests; see its README).
#
#   scripts/cache-tests.sh              # run, print our line beside the published ones
#   CACHE_TESTS_ID=freshness-max-age scripts/cache-tests.sh   # one test, with its messages
#
# Starts the suite's origin server and examples/cache-proxy (rampart's CacheLayer with a
# default rule, forwarding everything to that origin) on free loopback ports, runs the suite's
# client against the proxy, writes target/cache-tests/results.json, and fails on any required
# or setup failure (interim-* aside: hyper's server cannot send 1xx responses). Loopback only;
# bounded to 10 minutes; both processes stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
    echo "installing nodejs" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi

cargo build -q -p cache-proxy --bin cache-proxy
out=target/cache-tests
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Waits until FILE has a line matching PATTERN, then prints the port of its first address.
port_from() {
    local file=$1 pattern=$2
    for _ in $(seq 1 100); do
        if grep -q "$pattern" "$file" 2>/dev/null; then
            grep -m1 "$pattern" "$file" | grep -oE '127\.0\.0\.1:[0-9]+|localhost:[0-9]+|\]:[0-9]+' | head -1 | grep -oE '[0-9]+$'
            return
        fi
        sleep 0.1
    done
    echo "no line matching '$pattern' in $file:" >&2
    cat "$file" >&2
    exit 1
}

suite=vendor/cache-tests
npm_package_config_protocol=http npm_package_config_port=0 \
    npm_package_config_pidfile="$work/origin.pid" \
    node "$suite/test-engine/server/server.mjs" >"$work/origin.log" 2>&1 &
pids+=($!)
origin_port=$(port_from "$work/origin.log" "Listening on")

RUST_LOG=warn,cache_proxy=info target/debug/cache-proxy \
    --origin "http://127.0.0.1:$origin_port" --listen 127.0.0.1:0 >"$work/proxy.log" 2>&1 &
pids+=($!)
proxy_port=$(port_from "$work/proxy.log" "cache-proxy listening")
echo "origin on 127.0.0.1:$origin_port, cache-proxy on 127.0.0.1:$proxy_port" >&2

id=${CACHE_TESTS_ID:-}
if [[ -n "$id" ]]; then
    npm_config_base="http://127.0.0.1:$proxy_port" npm_config_id="$id" npm_package_config_id="$id" \
        timeout 120 node --no-warnings "$suite/test-engine/cli.mjs"
    exit 0
fi
npm_config_base="http://127.0.0.1:$proxy_port" npm_config_id= npm_package_config_id= \
    timeout 600 node --no-warnings "$suite/test-engine/cli.mjs" >"$out/results.json"
node scripts/cache-tests/summary.mjs "$out/results.json" --failures
