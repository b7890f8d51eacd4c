#!/usr/bin/env bash
# build-standins.sh: publish kubeforge-labnode (the lab's TEST DOUBLES of kubelet, kube-apiserver, kube-scheduler and
# kube-controller-manager; see tests/lab/README.md) self-contained, single-file, linux-x64, to .build/lab-standins/ (or $1).
# Rebuilds only when a source it is built from changed (a hash of those files is kept next to the binary).
# Use: KFLAB_STANDINS="$(tests/lab/build-standins.sh)" tests/lab/lab.sh up 2   (prints the output folder on stdout)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$repo/.build/lab-standins}"
cd "$repo"
sources=(Directory.Build.props tests/lab/build-standins.sh src/Kubeforge src/Kubeforge.LeaderElection tests/Kubeforge.TestApiServer tests/Kubeforge.LabNode)
hash="$(find "${sources[@]}" -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.json' -o -name '*.sh' \) \
  -not -path '*/bin/*' -not -path '*/obj/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
if [ -x "$out/kubeforge-labnode" ] && [ "$(cat "$out/.source-hash" 2>/dev/null)" = "$hash" ]; then
  echo "$out"; exit 0
fi
log="$(mktemp)"; trap 'rm -f "$log"' EXIT
echo "build-standins.sh: publishing kubeforge-labnode to $out" >&2
mkdir -p "$out"
if ! dotnet publish tests/Kubeforge.LabNode/Kubeforge.LabNode.csproj -c Release -r linux-x64 --self-contained \
    -p:PublishSingleFile=true -p:InvariantGlobalization=true \
    -p:DebugType=none -o "$out" --nologo -v q -clp:NoSummary >"$log" 2>&1; then
  cat "$log" >&2; echo "build-standins.sh: publish failed" >&2; exit 1
fi
# only the single-file binary is needed (the runtime's native parts are linked into the single-file host); drop the rest
find "$out" -mindepth 1 -maxdepth 1 ! -name kubeforge-labnode ! -name .source-hash -exec rm -rf {} +
echo "$hash" > "$out/.source-hash"
echo "$out"
