#!/usr/bin/env bash
# certs-vs-openssl.sh — times `kubeforge init phase certs all` against an openssl CLI script that makes the
# same 11 files (10 certificates + sa key pair: same subjects, SANs, key usages, EKUs, basic constraints,
# SKI/AKI, RSA-2048 PKCS#1 keys, modes).
#
# Usage: bench/certs-vs-openssl.sh [RUNS]
#   KF_CMD   command to time; "{DIR}" is replaced by a fresh rootfs folder
#            (default: ./kubeforge init phase certs all --rootfs {DIR})
#   Uses hyperfine when installed (apt-get install hyperfine), else a loop timed with date +%s%N.
#   Prints each mean in ms and the ratio kubeforge/openssl.
set -euo pipefail

RUNS="${1:-10}"
KF_CMD="${KF_CMD:-./kubeforge init phase certs all --rootfs {DIR}}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kf-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }

# ---- the openssl equivalent -------------------------------------------------------------------
OSSL="$WORK/openssl-certs.sh"
cat >"$OSSL" <<'SCRIPT'
#!/usr/bin/env bash
# openssl-certs.sh ROOTFS — kubeadm's PKI with the openssl CLI (node node1, advertise 192.0.2.10, services 10.96.0.0/12)
set -euo pipefail
d="$1/etc/kubernetes/pki"
mkdir -p "$d/etcd"; chmod 0755 "$d" "$d/etcd"
cnf="$d/.openssl.cnf"
export CN=unused EKU=clientAuth SAN=DNS:unused  # every ${ENV::X} must be set when the file is read
cat >"$cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyEncipherment,keyCertSign
subjectKeyIdentifier = hash
subjectAltName = DNS:${ENV::CN}
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = ${ENV::EKU}
authorityKeyIdentifier = keyid
subjectKeyIdentifier = none
subjectAltName = ${ENV::SAN}
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
subjectKeyIdentifier = none
CNF
serial() { echo "0x$(openssl rand -hex 8 | sed 's/^./7/')"; }
key() { openssl genrsa -traditional -out "$d/$1.key" 2048 2>/dev/null; chmod 0600 "$d/$1.key"; }
ca() { # base CN
  key "$1"
  CN="$2" openssl req -x509 -new -config "$cnf" -extensions ca -key "$d/$1.key" -subj "/CN=$2" \
    -days 3650 -set_serial "$(serial)" -sha256 -out "$d/$1.crt"
  chmod 0644 "$d/$1.crt"
}
leaf() { # base ca subject section eku san
  key "$1"
  openssl req -new -config "$cnf" -key "$d/$1.key" -subj "$3" -out "$d/$1.csr"
  EKU="$5" SAN="${6:-DNS:unused}" openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.crt" -CAkey "$d/$2.key" \
    -set_serial "$(serial)" -days 365 -sha256 -extfile "$cnf" -extensions "$4" -out "$d/$1.crt" 2>/dev/null
  rm -f "$d/$1.csr"; chmod 0644 "$d/$1.crt"
}
ca ca kubernetes
leaf apiserver ca "/CN=kube-apiserver" server serverAuth \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:node1,IP:10.96.0.1,IP:192.0.2.10"
leaf apiserver-kubelet-client ca "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" client clientAuth
ca front-proxy-ca front-proxy-ca
leaf front-proxy-client front-proxy-ca "/CN=front-proxy-client" client clientAuth
ca etcd/ca etcd-ca
etcdsan="DNS:localhost,DNS:node1,IP:192.0.2.10,IP:127.0.0.1,IP:::1"
leaf etcd/server etcd/ca "/CN=node1" server serverAuth,clientAuth "$etcdsan"
leaf etcd/peer etcd/ca "/CN=node1" server serverAuth,clientAuth "$etcdsan"
leaf etcd/healthcheck-client etcd/ca "/CN=kube-etcd-healthcheck-client" client clientAuth
leaf apiserver-etcd-client etcd/ca "/CN=kube-apiserver-etcd-client" client clientAuth
key sa
openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null; chmod 0600 "$d/sa.pub"
rm -f "$cnf"
SCRIPT
chmod +x "$OSSL"

KF_DIR="$WORK/kf"; OS_DIR="$WORK/os"
KF="${KF_CMD//\{DIR\}/$KF_DIR}"
OS="$OSSL $OS_DIR"

first="${KF%% *}"
if ! command -v "$first" >/dev/null && [ ! -x "$first" ]; then
  echo "kubeforge command not found: $first (set KF_CMD)" >&2; exit 1
fi

if command -v hyperfine >/dev/null; then
  hyperfine --runs "$RUNS" --export-json "$WORK/h.json" \
    --prepare "rm -rf '$KF_DIR'" -n kubeforge "$KF" \
    --prepare "rm -rf '$OS_DIR'" -n openssl "$OS" >&2
  mapfile -t means < <(grep -o '"mean": *[0-9.e+-]*' "$WORK/h.json" | awk '{print $2 * 1000}')
  kf_ms="${means[0]}"; os_ms="${means[1]}"
else
  time_cmd() { # dir cmd -> mean ms
    local dir="$1" cmd="$2" total=0 t0 t1
    for _ in $(seq "$RUNS"); do
      rm -rf "$dir"
      t0=$(date +%s%N); bash -c "$cmd" >/dev/null; t1=$(date +%s%N)
      total=$((total + t1 - t0))
    done
    awk -v t="$total" -v n="$RUNS" 'BEGIN { printf "%.1f", t / n / 1e6 }'
  }
  kf_ms=$(time_cmd "$KF_DIR" "$KF")
  os_ms=$(time_cmd "$OS_DIR" "$OS")
fi

awk -v k="$kf_ms" -v o="$os_ms" -v n="$RUNS" 'BEGIN {
  printf "runs:      %d\nkubeforge: %.1f ms (mean)\nopenssl:   %.1f ms (mean)\nratio:     %.2f (kubeforge / openssl)\n", n, k, o, k / o }'
