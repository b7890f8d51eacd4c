#!/usr/bin/env bash
# build.sh: publish the NativeAOT single binary to artifacts/kubeforge. Fails on any AOT/trim warning.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if ! command -v clang >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
  echo "build.sh: a C toolchain is needed for NativeAOT: apt-get install -y clang zlib1g-dev" >&2
  exit 1
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! dotnet publish src/Kubeforge/Kubeforge.csproj -c Release -r linux-x64 -o artifacts/publish --nologo -v q -clp:NoSummary >"$log" 2>&1; then
  cat "$log" >&2
  echo "build.sh: publish failed" >&2
  exit 1
fi
if grep -E "warning (IL[0-9]+|CS[0-9]+)" "$log" >&2; then
  echo "build.sh: the NativeAOT publish produced warnings (above); fix them" >&2
  exit 1
fi
mkdir -p artifacts
cp artifacts/publish/kubeforge artifacts/kubeforge
echo "build.sh: artifacts/kubeforge ($(du -h artifacts/kubeforge | cut -f1))"
