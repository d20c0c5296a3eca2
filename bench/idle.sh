#!/usr/bin/env bash
# Idle cost: how much CPU and memory Tiered's server processes use while nothing is sent.
# Starts `tiered standalone` on free loopback ports in a new data directory, lets it settle for
# SETTLE seconds (start-up JIT and tiered compilation are over by then), then reads utime+stime of
# /proc/PID/stat over SECONDS seconds and prints the CPU used as a percentage of one core, with the
# resident size (VmRSS) at the end. With --cluster it does the same for a cluster whose roles run
# as separate processes: one metadata node, one bookie (ensemble = quorums = 1) and one broker.
# A 1 % figure is 10 ms of CPU per second; on a shared machine run it quiet (the script waits).
# Usage: bash bench/idle.sh [--cluster] [SECONDS (default 60)] [SETTLE (default 60)]
set -euo pipefail
cd "$(dirname "$0")/.."
cluster=0
if [ "${1:-}" = "--cluster" ]; then cluster=1; shift; fi
seconds=${1:-60}
settle=${2:-60}

./tiered --help >/dev/null   # builds the executable first, outside the measured run
. bench/wait-quiet.sh
wait_quiet

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data=$(mktemp -d "${TMPDIR:-/tmp}/tiered-idle.XXXXXX")
pids=()
names=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$data"
}
trap cleanup EXIT

wait_for() {   # FILE PATTERN: waits up to 120 s for PATTERN in FILE
    for _ in $(seq 1 240); do grep -q "$2" "$1" && return 0; sleep 0.5; done
    echo "idle: '$2' did not appear in $1:" >&2; tail -20 "$1" >&2; exit 1
}

if [ "$cluster" = 0 ]; then
    grpc=$(free_port); http=$(free_port); meta=$(free_port); bookie=$(free_port)
    ./tiered standalone --data-dir "$data" --metadata-port "$meta" --bookie-port "$bookie" --grpc-port "$grpc" --http-port "$http" \
        --log-level Warning >"$data/standalone.log" 2>&1 &
    pids+=($!); names+=(standalone)
    wait_for "$data/standalone.log" 'Tiered standalone ready'
else
    meta=$(free_port); meta_http=$(free_port); raft=$(free_port); bookie=$(free_port); bookie_http=$(free_port); grpc=$(free_port); http=$(free_port); silo=$(free_port)
    ./tiered metadata --listen "127.0.0.1:$meta" --peers "127.0.0.1:$raft" --http-listen "127.0.0.1:$meta_http" --data-dir "$data/md" --log-level Information >"$data/metadata.log" 2>&1 &
    pids+=($!); names+=(metadata)
    ./tiered bookie --metadata "127.0.0.1:$meta" --listen "127.0.0.1:$bookie" --http-listen "127.0.0.1:$bookie_http" --data-dir "$data/b1" \
        --log-level Information >"$data/bookie.log" 2>&1 &
    pids+=($!); names+=(bookie)
    for attempt in $(seq 1 60); do   # the metadata node may still be electing itself
        ./tiered initialize-cluster --metadata "127.0.0.1:$meta" --cluster-name idle \
            --web-service-url "http://127.0.0.1:$http" --broker-service-url "http://127.0.0.1:$grpc" >"$data/init.log" 2>&1 && break
        [ "$attempt" -lt 60 ] || { echo "idle: initialize-cluster failed:" >&2; cat "$data/init.log" >&2; exit 1; }
        sleep 1
    done
    ./tiered broker --metadata "127.0.0.1:$meta" --cluster-name idle --grpc-listen "127.0.0.1:$grpc" --http-listen "127.0.0.1:$http" \
        --silo-port "$silo" --ensemble-size 1 --write-quorum 1 --ack-quorum 1 --log-level Information >"$data/broker.log" 2>&1 &
    pids+=($!); names+=(broker)
    for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null && break; sleep 0.5; done
    curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null || { echo "idle: the broker did not get ready" >&2; tail -20 "$data/broker.log" >&2; exit 1; }
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC'); settle ${settle} s, measured over ${seconds} s"
sleep "$settle"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
before=()
for p in "${pids[@]}"; do before+=("$(ticks "$p")"); done
read -r busy1 total1 < <(machine_busy)
sleep "$seconds"
read -r busy2 total2 < <(machine_busy)
hz=$(getconf CLK_TCK)
for i in "${!pids[@]}"; do
    p=${pids[$i]}
    after=$(ticks "$p")
    awk -v n="${names[$i]}" -v a="${before[$i]}" -v b="$after" -v s="$seconds" -v hz="$hz" -v rss="$(awk '/VmRSS/ { print $2 }' "/proc/$p/status")" \
        -v threads="$(ls "/proc/$p/task" | wc -l)" \
        'BEGIN { printf "%-10s idle CPU %5.2f %% of a core (%d ms over %d s), resident %d MB, %d threads\n", n, (b - a) / hz / s * 100, (b - a) * 1000 / hz, s, rss / 1024, threads }'
done
awk -v b1="$busy1" -v t1="$total1" -v b2="$busy2" -v t2="$total2" \
    'BEGIN { printf "everything else: the whole machine was %.0f %% busy meanwhile\n", (t2 > t1 ? 100 * (b2 - b1) / (t2 - t1) : 0) }'
