#!/usr/bin/env bash
# Authentication + TLS benchmark (issue 15): builds the benchmark in Release (which builds the
# `tiered` CLI it launches), waits until the machine is quiet, then runs `tiered-bench security`:
# the broker benchmark's publish phases (1 KB batched, 1 producer; 100 B unbatched, 1,000 in flight)
# against an open `tiered standalone` (cleartext, no token), then one serving TLS and checking tokens
# (a throw-away CA's certificate, --token-secret-key, a super-user token sent by the client over
# https://), then open, then secured — each a new standalone in a new data directory — and prints
# Markdown on stdout (progress on stderr): per phase msg/s, MB/s and publish p50/p99 off and on, the
# on ÷ off ratio (aim: within 10 % batched), every run as measured, and the disk's fsync/s and MB/s
# from the same run. About 4–5 minutes after the wait with the defaults (--duration 20 --warmup 5
# --rounds 2). Extra arguments go to the benchmark, e.g.
#   bash bench/security.sh --duration 3 --warmup 1 --rounds 1      (a short run)
# BENCH_SECURITY=auth or tls turns on only tokens or only TLS (default both), to tell their costs apart.
# BENCH_QUIET_WAIT=0 skips the wait; BENCH_QUIET_WAIT=SECONDS changes its limit (default 900).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2

. bench/wait-quiet.sh
wait_quiet

exec dotnet run -c Release --no-build --project bench/Tiered.Bench -- security "$@"
