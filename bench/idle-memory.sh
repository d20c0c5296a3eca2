#!/usr/bin/env bash
# Idle memory after load: starts `tiered standalone` on free loopback ports in a new data
# directory, records its resident size (VmRSS) idle, publishes MESSAGES messages of 1 KB with
# `tiered perf produce` while `tiered perf consume` reads them, then samples the resident size
# every 15 s for IDLE_SECONDS of idleness. The process gives its heap back 10 s and 60 s after
# load stops, and trims the C heap each time (cli/Tiered.Cli/IdleMemoryRelease.cs). bench/idle.sh measures idle CPU.
# Usage: bash bench/idle-memory.sh [MESSAGES (default 1000000)] [RATE msg/s (default 50000)] [IDLE_SECONDS (default 120)]
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-1000000}
rate=${2:-50000}
idle=${3:-120}
duration=$(( (messages + rate - 1) / rate ))

./tiered --help >/dev/null   # builds the executable first, outside the measured run
. bench/wait-quiet.sh
wait_quiet

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data=$(mktemp -d "${TMPDIR:-/tmp}/tiered-idle-memory.XXXXXX")
grpc=$(free_port); http=$(free_port); meta=$(free_port); bookie=$(free_port)
./tiered standalone --data-dir "$data" --metadata-port "$meta" --bookie-port "$bookie" --grpc-port "$grpc" --http-port "$http" \
    --log-level Information >"$data/standalone.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 120); do grep -q 'Tiered standalone ready' "$data/standalone.log" && break; sleep 1; done
rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC')"
sleep 15   # the idle standalone settles (its own idle release included)
echo "idle before load: $(rss) MB resident"
url="http://127.0.0.1:$grpc"
./tiered perf consume idle-memory --from earliest --url "$url" --duration $(( duration + 30 )) --log-level Warning >"$data/consume.txt" 2>&1 &
consumer=$!
./tiered perf produce idle-memory --rate "$rate" --duration "$duration" --url "$url" --log-level Warning >"$data/produce.txt" 2>&1
grep '^perf produce: [0-9]' "$data/produce.txt" || true
echo "right after the load: $(rss) MB resident"
wait "$consumer" || true
grep '^perf consume: [0-9]' "$data/consume.txt" || true
for t in $(seq 0 15 "$idle"); do
    echo "idle ${t} s after the consumer stopped: $(rss) MB resident"
    [ "$t" -lt "$idle" ] && sleep 15
done
grep 'Idle after load' "$data/standalone.log" | sed 's/^/standalone: /' || true
