#!/usr/bin/env bash
# Slow readers of large storable misses through examples/cache-proxy (issue 30, item 7): 400
# clients (receive buffers of 4 KB) each ask a distinct URL for a 900 KB body and read 1 KB of
# it, then stall for HOLD seconds. Run once with bodies the cache stores (`max-age=60`) and once with bodies it may not
# (`no-store`); prints the proxy's peak RSS for each and their ratio. Copies of streaming misses
# used to sit outside the cache's budget: 580-661 MB against 321 MB not stored.
#
#   scripts/attack-slow-readers.sh
#   BINARY=/tmp/old/cache-proxy CLIENTS=200 scripts/attack-slow-readers.sh
#
# Loopback only; bounded in time; every process started here is stopped by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-400}
HOLD=${HOLD:-8}
ORIGIN_PORT=${ORIGIN_PORT:-3934}
PROXY_PORT=${PROXY_PORT:-3935}
if [ -z "${BINARY:-}" ]; then
    cargo build --release -q -p cache-proxy
    BINARY=target/release/cache-proxy
fi

ORIGIN_PID="" PROXY_PID=""
trap 'for pid in $ORIGIN_PID $PROXY_PID; do kill "$pid" 2>/dev/null || true; done' EXIT
python3 - "$ORIGIN_PORT" <<'PY' &
import http.server, socketserver, sys
BODY = b"x" * 900_000
class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        policy = "no-store" if self.path.startswith("/nostore") else "max-age=60"
        self.send_header("cache-control", policy)
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        try:
            self.wfile.write(BODY)
        except OSError:
            pass
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024
Server(("127.0.0.1", int(sys.argv[1])), Origin).serve_forever()
PY
ORIGIN_PID=$!
# One fresh proxy per kind of body: freed pages stay in a process, so a second run in the
# same one would start from the first one's peak.
peak() {
    RUST_LOG=error "$BINARY" --origin "http://127.0.0.1:$ORIGIN_PORT" --listen "127.0.0.1:$PROXY_PORT" >/dev/null 2>&1 &
    PROXY_PID=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PROXY_PORT/nostore/warm" && break; sleep 0.1; done
    python3 - "$PROXY_PORT" "$CLIENTS" "$HOLD" "$PROXY_PID" "$1" <<'PY'
import asyncio, socket, sys

port, clients, hold, pid = (int(a) for a in sys.argv[1:5])

def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

async def reader(path):
    # A small receive buffer, as a slow mobile client has: the body cannot drain into the
    # kernel, so the proxy holds what the client has not read.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    writer.write(f"GET {path} HTTP/1.1\r\nhost: a\r\n\r\n".encode())
    await writer.drain()
    await reader.read(1024)
    await asyncio.sleep(hold)
    writer.close()

async def run(prefix):
    peak = rss_mib()
    tasks = [asyncio.create_task(reader(f"/{prefix}/{n}")) for n in range(clients)]
    while not all(task.done() for task in tasks):
        await asyncio.sleep(0.2)
        peak = max(peak, rss_mib())
    return peak

print(f"{asyncio.run(run(sys.argv[5])):.1f}")
PY
    kill "$PROXY_PID"
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
}
stored=$(peak store)
not_stored=$(peak nostore)
echo "clients=$CLIENTS body=900000 B hold=${HOLD}s"
echo "peak RSS, storable bodies: $stored MiB; no-store bodies: $not_stored MiB; ratio $(python3 -c "print(f'{$stored / $not_stored:.2f}')")"
