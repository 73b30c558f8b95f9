#!/usr/bin/env bash
# A slow-header flood against the release example server with 1 024 open files (a systemd
# default): 1 100 connections, each sending one header byte every 5 s and reopened when the
# server closes it, for DURATION seconds; /health/live is asked every 0.5 s meanwhile. Prints
# how long the health checks took (after the 10 s header-read timeout has passed, and overall)
# and the server's RSS (docs/reliability.md, "The server's edge").
#
#   scripts/attack-slow-headers.sh                 # 30 s
#   BINARY=/tmp/old/example-server DURATION=20 scripts/attack-slow-headers.sh
#
# Loopback only; every process started here is stopped by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30}
PORT=${PORT:-3931}
CONNECTIONS=${CONNECTIONS:-1100}
if [ -z "${BINARY:-}" ]; then
    cargo build --release -q -p example-server
    BINARY=target/release/example-server
fi

SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT
RUST_LOG=warn prlimit --nofile=1024:1024 "$BINARY" --listen "127.0.0.1:$PORT" --ops-listen public >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" && break; sleep 0.1; done

python3 - "$PORT" "$CONNECTIONS" "$DURATION" "$SERVER_PID" <<'PY'
import asyncio, statistics, sys, time

port, connections, duration, pid = (int(a) for a in sys.argv[1:])
HEAD = b"GET /api/hello HTTP/1.1\r\nx-slow: " + b"a" * 4096

def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

async def slow(deadline, stats):
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        except Exception:
            stats["connect_failed"] += 1
            await asyncio.sleep(0.5)
            continue
        stats["opened"] += 1
        try:
            for byte in HEAD:
                if time.monotonic() >= deadline:
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1), 5) == b"":
                        break
                except asyncio.TimeoutError:
                    pass
        except Exception:
            pass
        stats["closed_by_server"] += time.monotonic() < deadline
        writer.close()

async def health(start, deadline, samples, rss):
    while time.monotonic() < deadline:
        began = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
            writer.write(b"GET /health/live HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(64), 10)
            ok = answer.startswith(b"HTTP/1.1 200")
            writer.close()
        except Exception:
            ok = False
        samples.append((began - start, time.monotonic() - began, ok))
        rss.append(rss_mib())
        await asyncio.sleep(0.5)

async def main():
    start = time.monotonic()
    deadline = start + duration
    stats = {"opened": 0, "connect_failed": 0, "closed_by_server": 0}
    samples, rss = [], [rss_mib()]
    tasks = [asyncio.create_task(slow(deadline, stats)) for _ in range(connections)]
    await health(start, deadline, samples, rss)
    await asyncio.gather(*tasks)
    after = [s for s in samples if s[0] > 11]
    def summary(rows):
        times = [s[1] * 1000 for s in rows if s[2]]
        failed = sum(1 for s in rows if not s[2])
        if not times:
            return f"{failed} of {len(rows)} failed"
        return (f"p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms, "
                f"{failed} of {len(rows)} failed")
    print(f"slow connections: {connections} at once, {stats['opened']} opened, "
          f"{stats['closed_by_server']} closed by the server, {stats['connect_failed']} connects failed")
    print(f"/health/live after the header timeout (t > 11 s): {summary(after)}")
    print(f"/health/live over the whole run: {summary(samples)}")
    print(f"server RSS: {rss[0]:.1f} MiB at start, {max(rss):.1f} MiB peak, {rss[-1]:.1f} MiB at the end")

asyncio.run(main())
PY
