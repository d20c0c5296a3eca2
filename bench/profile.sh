#!/usr/bin/env bash
# Where the standalone spends its CPU and its allocations under one workload of `tiered-bench compare`
# (issue 18). Runs Tiered alone on that workload for --duration seconds and, once it is warm:
#   - dotnet-counters (CPU, allocation rate, GC pauses, thread-pool work items) for 10 s,
#   - perf record -g for 10 s (if perf is installed; JIT frames named through DOTNET_PerfMapEnabled),
#   - dotnet-trace --profile gc-verbose for 5 s, summarised by tiered-bench-profile (bytes by type and site).
# Prints the figures and the top frames; keeps the raw files in the output directory.
# usage: bash bench/profile.sh WORKLOAD [OUTDIR]   (WORKLOAD 1, 2 or 3: the timed publish workloads)
# Installs dotnet-trace and dotnet-counters (dotnet tool install -g) if missing. Not part of ./test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
workload=${1:?usage: bash bench/profile.sh WORKLOAD [OUTDIR]}
out=${2:-$(mktemp -d /tmp/tiered-profile-XXXXXX)}
mkdir -p "$out"
export PATH="$PATH:$HOME/.dotnet/tools"
command -v dotnet-trace >/dev/null || dotnet tool install -g dotnet-trace 1>&2
command -v dotnet-counters >/dev/null || dotnet tool install -g dotnet-counters 1>&2
dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2
dotnet build bench/Tiered.Bench.Profile -c Release -nologo -v quiet -nodeReuse:false 1>&2

# The server inherits these from the benchmark: perf can then name JIT-compiled frames.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
dotnet bench/Tiered.Bench/bin/Release/net10.0/tiered-bench.dll compare --systems tiered --workloads "$workload" \
  --duration 50 --warmup 3 > "$out/report.md" 2> "$out/progress.txt" &
bench_pid=$!
trap 'kill -TERM "$bench_pid" 2>/dev/null || true' INT TERM
server=""
for _ in $(seq 600); do
  server=$(grep -o "server PID [0-9]*" "$out/progress.txt" | grep -o "[0-9]*$" || true)
  grep -q "warm-up" "$out/progress.txt" && [ -n "$server" ] && break
  sleep 0.5
done
[ -n "$server" ] || { echo "the standalone did not start; see $out/progress.txt" >&2; exit 1; }
echo "standalone PID $server; letting it warm up (JIT) for 15 s..." >&2
sleep 15
dotnet-counters collect -p "$server" --refresh-interval 5 --duration 00:00:00:11 --format csv -o "$out/counters.csv" \
  --counters System.Runtime >/dev/null 2>&1 || true
if command -v perf >/dev/null; then
  perf record -F 499 -g -p "$server" -o "$out/perf.data" -- sleep 10 >/dev/null 2>&1 || true
fi
dotnet-trace collect -p "$server" --profile gc-verbose --duration 00:00:00:05 -o "$out/alloc.nettrace" >/dev/null 2>&1 || true
wait "$bench_pid"

rate=$(grep -E "^ +$workload\)" "$out/progress.txt" | grep -o "[0-9,]* msg/s" | head -1 | tr -d ', msg/')
echo "== workload $workload: $(grep -E "^ +$workload\)" "$out/progress.txt" | sed 's/^ *//')"
echo "== counters (per 5 s)"
grep -E "cpu.time|total_allocated|pause.time|work_item.count|gc.collections|lock_contentions" "$out/counters.csv" | cut -d, -f3- | sort -u || true
if [ -f "$out/perf.data" ]; then
  perf script -i "$out/perf.data" 2>/dev/null > "$out/perf.txt"
  echo "== CPU by library (perf, self)"
  perf report -i "$out/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E "^ +[0-9.]+%" | head -8
  echo "== CPU, inclusive / self % of samples, Tiered, gRPC, Kestrel frames"
  python3 bench/perf-inclusive.py 'Tiered|Grpc|Kestrel|Protobuf' 40 < "$out/perf.txt"
fi
echo "== allocations"
dotnet bench/Tiered.Bench.Profile/bin/Release/net10.0/tiered-bench-profile.dll "$out/alloc.nettrace" "$(( ${rate:-0} * 5 ))"
echo "raw files: $out" >&2
