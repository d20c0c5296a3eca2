#!/usr/bin/env bash
# Metadata service benchmark: builds the solution in Release (the benchmark launches the real
# `tiered` CLI from cli/Tiered.Cli/bin/Release) and runs it. Extra arguments go to the benchmark,
# e.g. bash bench/metadata.sh --duration 20 --nodes 3
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Tiered.sln -c Release -nologo -v quiet 1>&2
exec dotnet run -c Release --no-build --project bench/Tiered.Bench -- metadata "$@"
