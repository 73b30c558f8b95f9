#!/usr/bin/env bash
# One instance flooded with distinct URLs, and what that costs Redis and the other instance
# sharing it (issue 30, items 2 and 8). Two example servers share one Redis (`maxmemory` +
# `noeviction`) for their quotas and their cache tier. An attacker (wrk, on instance A) asks
# distinct `/api/items/<n>?<120-byte query>` (long keys, two tags each) and, one request in ten,
# a distinct `/api/report?n=<n>` (33 KB entries, so writes must evict). Instance B serves a
# constant 300 req/s of `/api/hello` (a shared quota decision in Redis per request), measured
# by the open-loop generator, first quiet, then during the flood. Prints:
#   - B's p99, quiet and during the flood, and their ratio;
#   - scripts in Redis's SLOWLOG over 1 and 2 ms, and plain commands for the noise floor (on a
#     shared machine a `GET` is sometimes descheduled for milliseconds too);
#   - Redis's used_memory growth against the tier's books, and against maxmemory;
#   - rate-limit decisions that fell back to local (outcome="error") on either instance.
#
#   scripts/attack-redis-tier.sh
#   REPORTS_PER_TEN=0 scripts/attack-redis-tier.sh   # items only: long keys, small entries
#   BINARY=/tmp/old/target/release/example-server scripts/attack-redis-tier.sh   # another build
#
# Redis alone on CPU 0, so SLOWLOG times its own work; A, B, the attacker and the probe on
# CPU 1, A and the attacker at the lowest priority (as if on machines of their own), so what B
# loses is what Redis makes it wait. Loopback only; bounded in time; every process started
# here is stopped by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${SECONDS_EACH:-10}
REDIS_PORT=${REDIS_PORT:-6393}
A_PORT=${A_PORT:-3941}
B_PORT=${B_PORT:-3942}
MAXMEMORY=${MAXMEMORY:-48mb}
# Requests in ten that ask a report (33 KB entries) rather than an item (1.2 KB, long key).
REPORTS_PER_TEN=${REPORTS_PER_TEN:-1}
TIER_BYTES=${TIER_BYTES:-33554432}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
cargo build --release -q -p open-loop
if [ -z "${BINARY:-}" ]; then
    cargo build --release -q -p example-server
    BINARY=target/release/example-server
fi

WORK=$(mktemp -d)
REDIS_PID="" A_PID="" B_PID=""
cleanup() {
    for pid in $A_PID $B_PID $REDIS_PID; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

taskset -c 0 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --maxmemory "$MAXMEMORY" --maxmemory-policy noeviction \
    --slowlog-log-slower-than 1000 --slowlog-max-len 10000 >/dev/null 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis() { redis-cli -p "$REDIS_PORT" "$@"; }

cat >"$WORK/rampart.toml" <<TOML
[server]
log_format = "text"
shutdown_grace = "2s"

[[stack.ratelimit.policies]]
name = "per_ip"
limit = 1000000000
period = "1s"
key = "client_ip"

[stack.ratelimit.redis]
url = "redis://127.0.0.1:$REDIS_PORT/"

[stack.cache]
max_bytes = 8388608

[stack.cache.redis]
url = "redis://127.0.0.1:$REDIS_PORT/"
max_bytes = $TIER_BYTES

[stack.routes."/api/items/{id}".cache]
[stack.routes."/api/report".cache]
TOML
cat >"$WORK/flood.lua" <<LUA
local query = string.rep("q", 120)
request = function()
  local n = math.random(1, 1000000000)
  if n % 10 < $REPORTS_PER_TEN then
    return wrk.format("GET", "/api/report?n=" .. n)
  end
  return wrk.format("GET", "/api/items/" .. n .. "?" .. query)
end
LUA

start() { # NICENESS PORT -> PID in $started; /metrics and /health/* on PORT + 100
    RUST_LOG=error TOKIO_WORKER_THREADS=1 taskset -c 1 nice -n "$1" "$BINARY" --config "$WORK/rampart.toml" \
        --listen "127.0.0.1:$2" --ops-listen "127.0.0.1:$(($2 + 100))" >"$WORK/server-$2.log" 2>&1 &
    started=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$(($2 + 100))/health/live" && return; sleep 0.1; done
    echo "example-server did not start" >&2; exit 1
}
start 19 "$A_PORT"; A_PID=$started
start 0 "$B_PORT"; B_PID=$started

probe() { # -> "p50 p99" of B's /api/hello at 300 req/s
    taskset -c 1 target/release/open-loop "http://127.0.0.1:$B_PORT/api/hello" 300 "$SECONDS_EACH" |
        python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["p50_ok_ms"], s["p99_ok_ms"], s["ok"], s["sent"])'
}
fallbacks() { # rate-limit decisions made without Redis on instance $1
    curl -fs "http://127.0.0.1:$(($1 + 100))/metrics" |
        awk '/^rampart_ratelimit_requests_total\{.*outcome="error"/ {n += $NF} END {print n + 0}'
}

quiet=$(probe)
memory_before=$(redis info memory | awk -F: '/^used_memory:/ {print $2+0}')
redis slowlog reset >/dev/null
taskset -c 1 nice -n 19 wrk -t1 -c16 -d"$((SECONDS_EACH + 2))s" -s "$WORK/flood.lua" "http://127.0.0.1:$A_PORT" \
    >"$WORK/wrk.txt" 2>&1 &
WRK_PID=$!
sleep 1
flooded=$(probe)
wait "$WRK_PID"
sleep 1

memory_after=$(redis info memory | awk -F: '/^used_memory:/ {print $2+0}')
maxmemory=$(redis info memory | awk -F: '/^maxmemory:/ {print $2+0}')
# Books as this version names them, or as versions before issue 30 did.
books=$(redis get rampart:cache:books:used)
[ -n "$books" ] || books=$(redis get rampart:cache:b:used)
entries=$(redis zcard rampart:cache:books:expiry)
[ "$entries" != 0 ] || entries=$(redis zcard rampart:cache:b:expiry)
slowest=$(redis slowlog get 10000 | python3 -c '
import re, sys
lines = [l.strip() for l in sys.stdin.buffer.read().decode("latin-1").split("\n")]
# An entry: its id, a Unix timestamp, the duration in us, the command name, its arguments.
entries = [(int(lines[i + 2]), lines[i + 3]) for i in range(len(lines) - 3)
           if lines[i].isdigit() and re.fullmatch(r"1[0-9]{9}", lines[i + 1])
           and lines[i + 2].isdigit() and re.fullmatch(r"[A-Z]+", lines[i + 3])]
scripts = [d for d, c in entries if c.startswith("EVAL")]
others = [d for d, c in entries if not c.startswith("EVAL")]
print(len(scripts), sum(1 for d in scripts if d > 2000), max(scripts, default=0),
      len(others), sum(1 for d in others if d > 2000), max(others, default=0))')

read -r q50 q99 _ _ <<<"$quiet"
read -r f50 f99 fok fsent <<<"$flooded"
read -r scripts_n scripts_over scripts_max others_n others_over others_max <<<"$slowest"
echo "attacker on A: $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt") req/s"
echo "B /api/hello p50/p99 quiet: $q50/$q99 ms; during the flood: $f50/$f99 ms ($fok/$fsent ok); p99 ratio $(python3 -c "print(f'{$f99 / $q99:.2f}')")"
echo "SLOWLOG, scripts: $scripts_n over 1 ms, $scripts_over over 2 ms, the longest $scripts_max us; other commands (the noise floor): $others_n over 1 ms, $others_over over 2 ms, the longest $others_max us"
echo "scripts run: $(redis info commandstats | awk -F'[:=,]' '/^cmdstat_evalsha:/ {print $3 " calls, " $7 " us per call"}')"
echo "Redis used_memory grew by $((memory_after - memory_before)) B; the tier's books say $books B ($entries entries); used_memory $memory_after of maxmemory $maxmemory"
echo "rate-limit decisions without Redis: A $(fallbacks "$A_PORT"), B $(fallbacks "$B_PORT")"
