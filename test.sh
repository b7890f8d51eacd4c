#!/usr/bin/env bash
# test.sh: install what the tests need, build the NativeAOT binary, run every test project, and end with
# one line "N passed, M failed" (totals over all test projects).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v clang >/dev/null 2>&1 || need+=(clang)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need+=(zlib1g-dev)
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
[[ -x /usr/sbin/sshd ]] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v sudo >/dev/null 2>&1 || need+=(sudo)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || need+=(haproxy)
[[ -x /usr/sbin/keepalived ]] || need+=(keepalived)
[[ -x /usr/sbin/nginx ]] || need+=(nginx)
dpkg -s libnginx-mod-stream >/dev/null 2>&1 || need+=(libnginx-mod-stream)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
command -v ssh-keyscan >/dev/null 2>&1 || need+=(openssh-client)
command -v apt-ftparchive >/dev/null 2>&1 || need+=(apt-utils)     # the lab's offline OS package mirror
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v ansible-playbook >/dev/null 2>&1 || need+=(ansible)   # the host-preparation benchmark's other side
command -v bc >/dev/null 2>&1 || need+=(bc)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "test.sh: installing ${need[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi
command -v kubectl >/dev/null 2>&1 || echo "test.sh: WARNING: kubectl is not installed; the kubeconfig tests need it" >&2

passed=0
failed=0
results="$here/.build/test-results"
rm -rf "$results"
mkdir -p "$results"

if ./build.sh; then
  passed=$((passed + 1))
  echo "test.sh: NativeAOT build: passed"
else
  failed=$((failed + 1))
  echo "test.sh: NativeAOT build: FAILED"
fi

for proj in tests/Kubeforge.Tests tests/Kubeforge.LeaderElection.Tests tests/Kubeforge.IntegrationTests; do
  name="$(basename "$proj")"
  echo "test.sh: running $name"
  dotnet test "$proj" --nologo -v q --logger "trx;LogFileName=$name.trx" --results-directory "$results" 2>&1 | grep -vE "^\s*$" | tail -n 40
  trx="$results/$name.trx"
  if [[ -f "$trx" ]]; then
    p=$(grep -o '<Counters [^>]*' "$trx" | grep -o 'passed="[0-9]*"' | grep -o '[0-9]*')
    f=$(grep -o '<Counters [^>]*' "$trx" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
    e=$(grep -o '<Counters [^>]*' "$trx" | grep -o 'error="[0-9]*"' | grep -o '[0-9]*')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${e:-0}))
  else
    echo "test.sh: $name did not produce results (build failure?)"
    failed=$((failed + 1))
  fi
done

echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
