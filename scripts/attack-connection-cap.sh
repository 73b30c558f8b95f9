#!/usr/bin/env bash
# One address (or twelve) holding the connection cap of the release example server with 1 024
# open files (a systemd default; cap 928), as issue 30 found it: ~950 connections that each
# send a slow upload (`Content-Length: 10000000`, one body byte every 20 s) or a
# `GET /health/live` every 8 s on a keep-alive connection, reopened when the server closes
# them. Meanwhile a probe from another loopback address opens a new connection every 0.25 s and
# asks `/health/live`; prints the share answered within 1 s and the server's RSS
# (docs/reliability.md, "One client holding the cap").
#
#   scripts/attack-connection-cap.sh                       # slow uploads, one address, 30 s
#   MODE=ping ATTACKERS=12 scripts/attack-connection-cap.sh
#   BINARY=/tmp/old/example-server DURATION=20 scripts/attack-connection-cap.sh
#
# Attackers bind 127.0.9.N, probes 127.1.0.N: all loopback. Bounded in time; every process
# started here is stopped by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30}
PORT=${PORT:-3932}
CONNECTIONS=${CONNECTIONS:-950}
ATTACKERS=${ATTACKERS:-1}
MODE=${MODE:-upload}
if [ -z "${BINARY:-}" ]; then
    cargo build --release -q -p example-server
    BINARY=target/release/example-server
fi

SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT
RUST_LOG=warn prlimit --nofile=1024:1024 "$BINARY" --listen "127.0.0.1:$PORT" --ops-listen public >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/live" && break; sleep 0.1; done

python3 - "$PORT" "$CONNECTIONS" "$DURATION" "$SERVER_PID" "$ATTACKERS" "$MODE" <<'PY'
import asyncio, sys, time

port, connections, duration, pid, attackers = (int(a) for a in sys.argv[1:6])
mode = sys.argv[6]
UPLOAD = b"POST /api/upload HTTP/1.1\r\nhost: a\r\ncontent-length: 10000000\r\n\r\nx"
PING = b"GET /health/live HTTP/1.1\r\nhost: a\r\n\r\n"

def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

async def hold(n, deadline, stats):
    source = f"127.0.9.{n % attackers + 1}"
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 5)
        except Exception:
            stats["connect_failed"] += 1
            await asyncio.sleep(0.5)
            continue
        stats["opened"] += 1
        try:
            if mode == "upload":
                writer.write(UPLOAD)
                await writer.drain()
                while time.monotonic() < deadline:
                    try:
                        if await asyncio.wait_for(reader.read(1024), 20) == b"":
                            break
                    except asyncio.TimeoutError:
                        writer.write(b"x")
                        await writer.drain()
            else:
                while time.monotonic() < deadline:
                    writer.write(PING)
                    await writer.drain()
                    if await asyncio.wait_for(reader.read(4096), 10) == b"":
                        break
                    await asyncio.sleep(8)
        except Exception:
            pass
        stats["closed_by_server"] += time.monotonic() < deadline
        writer.close()

async def probe(n, stats):
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, local_addr=(f"127.1.0.{n % 250 + 1}", 0)), 1)
        writer.write(b"GET /health/live HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(64), 1 - (time.monotonic() - started))
        writer.close()
        ok = answer.startswith(b"HTTP/1.1 200")
    except Exception:
        ok = False
    stats["probes"] += 1
    stats["answered"] += ok and time.monotonic() - started <= 1

async def main():
    deadline = time.monotonic() + duration
    stats = dict(opened=0, connect_failed=0, closed_by_server=0, probes=0, answered=0)
    holders = [asyncio.create_task(hold(n, deadline, stats)) for n in range(connections)]
    await asyncio.sleep(5)  # the cap fills
    rss = [rss_mib()]
    probes = []
    n = 0
    while time.monotonic() < deadline - 1:
        probes.append(asyncio.create_task(probe(n, stats)))
        n += 1
        await asyncio.sleep(0.25)
        if n % 20 == 0:
            rss.append(rss_mib())
    await asyncio.gather(*probes)
    for task in holders:
        task.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    share = stats["answered"] / max(stats["probes"], 1)
    print(f"mode={mode} attackers={attackers} connections={connections} duration={duration}s")
    print(f"attack connections opened={stats['opened']} closed_by_server={stats['closed_by_server']} connect_failed={stats['connect_failed']}")
    print(f"probes answered within 1 s: {stats['answered']}/{stats['probes']} ({100 * share:.1f} %)")
    print(f"RSS MiB: peak {max(rss):.1f}, end {rss[-1]:.1f}")

asyncio.run(main())
PY
