#!/usr/bin/env bash
# The largest /metrics page the label-set bound allows, and what a scrape of it costs: the
# release example server gets normal traffic, then issue 30's attack (every method over
# HTTP/1.0 and 1.1, origin- and absolute-form `https://` request lines, on every route), then
# is scraped 200 times; prints the page's size before and after the attack and the server's CPU
# time per scrape (utime + stime from /proc, so only the server's own work counts).
#
#   scripts/metrics-page-cost.sh
#   BINARY=/tmp/old/example-server scripts/metrics-page-cost.sh
#
# Loopback only; bounded; the server is stopped by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-3933}
SCRAPES=${SCRAPES:-200}
if [ -z "${BINARY:-}" ]; then
    cargo build --release -q -p example-server
    BINARY=target/release/example-server
fi

SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT
RUST_LOG=error "$BINARY" --listen "127.0.0.1:$PORT" --ops-listen public >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" && break; sleep 0.1; done

python3 - "$PORT" "$SCRAPES" "$SERVER_PID" <<'PY'
import os, socket, sys, time

port, scrapes, pid = (int(a) for a in sys.argv[1:])
ROUTES = ["/api/hello", "/api/items/1", "/api/items/zzz", "/api/report", "/api/upload",
          "/api/slow?ms=1", "/health/live", "/health/ready", "/nope"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "BREW"]
TICKS = os.sysconf("SC_CLK_TCK")

def ask(head):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer

def get(path):
    return ask(f"GET {path} HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")

def cpu_seconds():
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS

for route in ROUTES:
    get(route)
normal = len(get("/metrics"))
for route in ROUTES:
    for method in METHODS:
        for line in ("HTTP/1.0", "HTTP/1.1"):
            for target in (route, f"https://127.0.0.1:{port}{route}"):
                ask(f"{method} {target} {line}\r\nhost: a\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
page = len(get("/metrics"))
before = cpu_seconds()
started = time.monotonic()
for _ in range(scrapes):
    get("/metrics")
elapsed = time.monotonic() - started
spent = cpu_seconds() - before
print(f"page: {normal} bytes after normal traffic, {page} after the attack ({page / normal:.2f}x)")
print(f"{scrapes} scrapes: {1000 * spent / scrapes:.2f} ms of server CPU each, {1000 * elapsed / scrapes:.2f} ms wall")
PY
