#!/usr/bin/env bash
# Micro-benchmarks (BenchmarkDotNet) of the hot functions: time and bytes allocated per operation.
# Not part of ./test.sh. Arguments go to BenchmarkDotNet, e.g.
#   bash bench/micro.sh --filter '*BookieAdd*'
#   bash bench/micro.sh --list flat
# Without arguments every benchmark runs (a minute or two each on 2 cores). Do not pass --job: the
# benchmarks run in process (see Program.cs), a job of another toolchain fails to build.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Tiered.Bench.Micro -c Release -nologo -v quiet -nodeReuse:false 1>&2
if [ "$#" -eq 0 ]; then set -- --filter '*'; fi
cd bench/Tiered.Bench.Micro/bin/Release/net10.0
exec dotnet tiered-bench-micro.dll "$@"
