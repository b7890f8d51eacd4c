#!/usr/bin/env bash
# hostprep-vs-ansible.sh: host preparation (OS preparation + containerd configuration and restart) on the same lab hosts,
# side by side in one run: Kubeforge (`up -f cluster.yaml --steps os-prepare,containerd`) and the equivalent Ansible
# playbook (bench/ansible/hostprep.yml, Debian's ansible package, default forks). For each host count the lab is booted
# fresh for each tool (same base, same state), so both start from identical hosts.
#   bench/hostprep-vs-ansible.sh [COUNTS...]     default: 3 10 20
# Prints one table and writes .build/bench/hostprep-vs-ansible.tsv (count, ansible s, kubeforge s, ratio, and the CPU
# seconds the whole machine — lab hosts included — spent during each tool's run).
# Uses the lab variables of tests/lab/lab.sh (KFLAB_BRIDGE, KFLAB_NET, KFLAB_STATE, KFLAB_RUNDIR). Root only.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
counts=("${@:-3 10 20}"); read -r -a counts <<<"${counts[*]}"
lab=tests/lab/lab.sh
net="${KFLAB_NET:-10.98.0}"
state="${KFLAB_STATE:-$here/tests/lab/.state}"
out="$here/.build/bench"; mkdir -p "$out"
command -v ansible-playbook >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible >/dev/null; }
[ -x artifacts/kubeforge ] || ./build.sh >/dev/null
kf="$here/artifacts/kubeforge"
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0

inventory() { # N
  echo "[nodes]"; for i in $(seq 1 "$1"); do echo "$net.$((10 + i))"; done
  echo "[nodes:vars]"
  echo "ansible_user=root"
  echo "ansible_ssh_private_key_file=$state/id_ed25519"
  echo "ansible_ssh_common_args=-o UserKnownHostsFile=$state/known_hosts -o StrictHostKeyChecking=yes"
  echo "ansible_python_interpreter=/usr/bin/python3"
}

cluster() { # N
  cat <<YAML
apiVersion: kubeforge.io/v1alpha1
kind: Cluster
metadata:
  name: bench
spec:
  kubernetesVersion: v1.29.3
  kubernetesBinaries: preinstalled
  hosts:
YAML
  for i in $(seq 1 "$1"); do
    if [ "$i" = 1 ]; then role=control-plane; else role=worker; fi
    printf '    - name: h%s\n      address: %s\n      sshKey: %s\n      roles: [%s]\n' "$i" "$net.$((10 + i))" "$state/id_ed25519" "$role"
  done
}

fresh() { # N: a freshly booted lab of N hosts, settled: every host finished booting, then the machine is idle again
  "$lab" down >/dev/null 2>&1 || true
  "$lab" up "$1" >/dev/null
  for i in $(seq 1 "$1"); do
    ssh -i "$state/id_ed25519" -o UserKnownHostsFile="$state/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes \
      "root@$net.$((10 + i))" 'timeout 120 systemctl is-system-running --wait >/dev/null 2>&1 || true' &
  done
  wait
  sleep 5
}

now() { date +%s.%N; }
# busy: CPU seconds this whole machine has spent working (user, nice, system, irq, softirq; USER_HZ 100) — the lab hosts
# share its cores, so this is what the hosts and the tool together used during a run
busy() { awk '/^cpu /{printf "%.2f\n", ($2 + $3 + $4 + $7 + $8) / 100}' /proc/stat; }
printf 'hosts\tansible_s\tkubeforge_s\tratio\tansible_cpu_s\tkubeforge_cpu_s\n' > "$out/hostprep-vs-ansible.tsv"
trap '"$lab" down >/dev/null 2>&1 || true' EXIT
for n in "${counts[@]}"; do
  inventory "$n" > "$out/inventory-$n.ini"
  cluster "$n" > "$out/cluster-$n.yaml"
  fresh "$n"
  c0=$(busy); t0=$(now); ansible-playbook -i "$out/inventory-$n.ini" bench/ansible/hostprep.yml > "$out/ansible-$n.log" 2>&1 \
    || { echo "ansible failed for $n hosts, see $out/ansible-$n.log" >&2; tail -20 "$out/ansible-$n.log" >&2; exit 1; }
  ta=$(echo "$(now) - $t0" | bc); ca=$(echo "$(busy) - $c0" | bc)
  fresh "$n"
  c0=$(busy); t0=$(now); "$kf" up -f "$out/cluster-$n.yaml" --steps os-prepare,containerd --known-hosts "$state/known_hosts" \
    --state-dir "$out/state-$n" --output plain > "$out/kubeforge-$n.log" 2>&1 \
    || { echo "kubeforge failed for $n hosts, see $out/kubeforge-$n.log" >&2; tail -20 "$out/kubeforge-$n.log" >&2; exit 1; }
  tk=$(echo "$(now) - $t0" | bc); ck=$(echo "$(busy) - $c0" | bc)
  rm -rf "$out/state-$n"
  printf '%s\t%.2f\t%.2f\t%.1f\t%.1f\t%.1f\n' "$n" "$ta" "$tk" "$(echo "$ta / $tk" | bc -l)" "$ca" "$ck" >> "$out/hostprep-vs-ansible.tsv"
done
column -t "$out/hostprep-vs-ansible.tsv"
