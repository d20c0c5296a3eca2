#!/usr/bin/env bash
# Builds the solution once in Release and runs every test project. Extra arguments go to
# `dotnet test` (for example: ./test.sh --filter "FullyQualifiedName~Txn").
# The last line printed is always "N passed, N failed" (", N skipped" when some were skipped);
# the exit code is non-zero when the build failed, a test failed, or no test ran.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

# ---------------------------------------------------------------------------------------------
# install_test_dependencies: everything the tests need beyond what `dotnet restore` fetches.
# Later issues add their steps here (npm install for client tests, apt-get for peer systems).
# ---------------------------------------------------------------------------------------------
install_test_dependencies() {
    # Node.js runs the gRPC client generated from proto/client.proto by @grpc/proto-loader.
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "test.sh: installing Node.js and npm (apt-get)" >&2
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
        else
            sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
        fi
    fi
    # The host-name tests need a name other than localhost that resolves to 127.0.0.1 (a machine
    # whose own host name does not gets this one; see tests/Tiered.Testing/LoopbackHostName.cs).
    if ! getent hosts "$(hostname)" | grep -q '^127\.0\.0\.1' && ! grep -qE '\stiered-loopback(\s|$)' /etc/hosts; then
        echo "test.sh: mapping tiered-loopback to 127.0.0.1 in /etc/hosts" >&2
        if [ "$(id -u)" -eq 0 ]; then
            echo '127.0.0.1 tiered-loopback' >> /etc/hosts
        else
            echo '127.0.0.1 tiered-loopback' | sudo tee -a /etc/hosts >/dev/null
        fi
    fi
    # Not `npm ci`: the registry copy here lacks DuckDB's bindings for other platforms, so the
    # lock file cannot list them and `npm ci` refuses it; `npm install --no-save` follows the
    # lock for everything it lists and leaves it unchanged.
    (cd tests/node && npm install --no-audit --no-fund --no-save --loglevel=error >/dev/null)
    # The Kubernetes manifests (k8s/) are rendered by `kubectl kustomize`, which machines of this kind
    # come with (kustomize v5). Without one, Debian's kubernetes-client: its kustomize (v2) renders
    # k8s/base but not the example overlay, whose tests then fail saying so.
    if ! command -v kubectl >/dev/null; then
        echo "test.sh: installing kubectl (apt-get kubernetes-client)" >&2
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
        else
            sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
        fi
    fi
    # The validator of Kubernetes objects (tests/k8s/validate.mjs: kubernetes-models, yaml).
    (cd tests/k8s && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

results="$(mktemp -d "${TMPDIR:-/tmp}/tiered-test.XXXXXX")"
trap 'rm -rf "$results"' EXIT

summary() {
    echo "$1 passed, $2 failed${3:+, $3 skipped}"
}

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

install_test_dependencies

if ! dotnet build Tiered.sln -c Release -nologo -v minimal; then
    echo "test.sh: build failed" >&2
    summary 0 0
    exit 1
fi

test_status=0
dotnet test Tiered.sln -c Release --no-build --logger trx --results-directory "$results" "$@" || test_status=$?

# One .trx per test project (default names are unique; a fixed LogFileName would be overwritten
# by each project). Skipped tests are those counted in total but not executed.
read -r passed failed skipped < <(
    find "$results" -name '*.trx' -exec cat {} + 2>/dev/null | awk '
        function attr(name,   m) {
            if (match($0, name "=\"[0-9]+\"")) { m = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", m); return m + 0 }
            return 0
        }
        /<Counters / {
            total += attr("total"); executed += attr("executed"); passed += attr("passed")
            failed += attr("failed") + attr("error") + attr("timeout") + attr("aborted")
        }
        END { printf "%d %d %d\n", passed, failed, total - executed }')

status=0
if (( test_status != 0 )); then
    echo "test.sh: dotnet test exited with code $test_status" >&2
    status=1
fi
if (( failed > 0 )); then
    status=1
fi
if (( passed + failed == 0 )); then
    echo "test.sh: no test ran" >&2
    status=1
fi

if (( skipped > 0 )); then summary "$passed" "$failed" "$skipped"; else summary "$passed" "$failed"; fi
exit "$status"
