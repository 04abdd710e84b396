#!/usr/bin/env bash
# Build kfp-authcheck from the action's checkout; the version is the action's ref (a tag such as v1.2.0), else
# the checkout's description. Writes the binary's path to the step output "bin".
set -euo pipefail
src="${GITHUB_ACTION_PATH:?}"
version="${ACTION_REF:-}"
if [ -z "$version" ]; then
  version="$(git -C "$src" describe --tags --always --dirty 2>/dev/null || echo dev)"
fi
bin="${RUNNER_TEMP:-/tmp}/kfp-authcheck-bin/kfp-authcheck"
mkdir -p "$(dirname "$bin")"
(cd "$src" && go build -trimpath -ldflags "-X main.version=$version" -o "$bin" ./cmd/kfp-authcheck)
"$bin" version
echo "bin=$bin" >> "${GITHUB_OUTPUT:?}"
