#!/usr/bin/env bash
# Memory of the delayed-delivery tracker holding 1,000,000 delayed messages (issue 17 aims under 64 MB): the broker's
# tracker class filled directly, no broker process. Reports the tracker's own accounting (stats'
# delayedMessageIndexSizeInBytes) and the managed heap's growth, for a 1 h spread of delays and for a spread wide
# enough to spill. Extra arguments go to the program: --messages N --spread-seconds S --tick-ms T --max-index-mb M.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Tiered.Bench.DelayedMemory -c Release -nologo -v quiet -nodeReuse:false 1>&2
exec dotnet bench/Tiered.Bench.DelayedMemory/bin/Release/net10.0/tiered-bench-delayed-memory.dll "$@"
