#!/usr/bin/env bash
# lab.sh: N throwaway Debian hosts on this machine for trying Kubeforge over SSH.
#   lab.sh up N     build the base once, boot hosts h1..hN (systemd-nspawn -b, one netns each, bridge kflab0)
#   lab.sh down     stop every host by PID, remove overlays, bridge and state
#   lab.sh status   list hosts, PIDs and whether sshd answers
#   lab.sh restart hI   power host hI off and boot it again on the same overlay (a reboot: changes on disk stay)
#   lab.sh poweroff hI  kill host hI at once (no shutdown: a crash or a pulled plug); lab.sh boot hI starts it again
# Host hI has address 10.98.0.(10+I), user root and user kf (sudo NOPASSWD) with the lab key
# tests/lab/.state/id_ed25519. Host h2 (when N>=2) makes kf's sudo ask for the password in .state/sudo-password.
# Several labs can run at once when each sets its own KFLAB_BRIDGE, KFLAB_NET (first three octets), KFLAB_STATE
# and KFLAB_RUNDIR (defaults: kflab0, 10.98.0, tests/lab/.state, /var/lib/kubeforge-lab).
# Mode: KFLAB_MODE=nspawn (default) or netns (plain network namespaces running only sshd; shares the filesystem).
# KFLAB_STANDINS=DIR (nspawn mode): bind DIR (tests/lab/build-standins.sh output) read-only at /opt/kubeforge-standins in every
# host and install the kubelet TEST DOUBLE the way the kubelet and kubeadm packages install kubelet (see tests/lab/README.md).
# KFLAB_SWAP=1 (at up; kept for restarts): hosts may run swapon/swapoff (nspawn's seccomp filter blocks them by default) on
# swap files in /var/lib/kflab-swap, a bind mount of $RUNDIR/hI/swap (overlayfs cannot hold a swap file). Swap is
# kernel-global: restart and down swapoff every file there before stopping a host.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
STATE="${KFLAB_STATE:-$HERE/.state}"
BASE="${KFLAB_BASE:-/var/cache/kubeforge-lab/base}"
RUNDIR="${KFLAB_RUNDIR:-/var/lib/kubeforge-lab}"
BR="${KFLAB_BRIDGE:-kflab0}"
NET="${KFLAB_NET:-10.98.0}"
MODE="${KFLAB_MODE:-nspawn}"
SUDOPW_HOST="${KFLAB_SUDOPW_HOST:-2}"
STANDINS="${KFLAB_STANDINS:-}"
SWAP_DIR=/var/lib/kflab-swap

die() { echo "lab.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it creates namespaces, mounts and a bridge)"

need_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  if [ "$MODE" = netns ]; then command -v /usr/sbin/sshd >/dev/null || missing+=(openssh-server); fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

lab_key() {
  mkdir -p "$STATE"; chmod 700 "$STATE"
  [ -f "$STATE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C kubeforge-lab -f "$STATE/id_ed25519"
  [ -f "$STATE/sudo-password" ] || { head -c 12 /dev/urandom | base64 | tr -d '/+=' > "$STATE/sudo-password"; chmod 600 "$STATE/sudo-password"; }
}

# Packages a node needs beyond the boot essentials (containerd, runc, kmod/modprobe, sysctl, iptables, CA tools).
# conntrack, socat, ebtables, ethtool are what kubeadm's preflight looks for; python3 (full) is what Ansible needs for the benchmark; haproxy, keepalived, nginx (stream) and etcd are what the HA load balancer and the stand-in control plane run.
NODE_PKGS="containerd runc kmod procps iptables ca-certificates curl haproxy keepalived nginx libnginx-mod-stream etcd-server etcd-client python3 conntrack socat ebtables ethtool"
BASE_VERSION=5

build_base() {
  mkdir -p "$(dirname "$BASE")"; exec 9>"$(dirname "$BASE")/.base.lock"   # (a `2>/dev/null` here silenced the whole script)
  flock 9
  build_base_locked
  flock -u 9
}

build_base_locked() {
  if [ -f "$BASE/.kubeforge-lab-ready" ]; then
    # an older base: add the node packages in place instead of rebuilding it
    if [ "$(cat "$BASE/.kubeforge-lab-ready")" != "$BASE_VERSION" ]; then
      echo "adding node packages to the base: $NODE_PKGS"
      cp /etc/resolv.conf "$BASE/etc/resolv.conf.lab-build" 2>/dev/null || true
      chroot "$BASE" sh -c "cp /etc/resolv.conf.lab-build /etc/resolv.conf 2>/dev/null; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $NODE_PKGS" \
        >"$(dirname "$BASE")/base-upgrade.log" 2>&1 || die "installing node packages into the base failed, see $(dirname "$BASE")/base-upgrade.log"
      rm -f "$BASE/etc/resolv.conf.lab-build"; chroot "$BASE" apt-get clean
      chroot "$BASE" systemctl disable etcd haproxy keepalived nginx >/dev/null 2>&1 || true
      echo "$BASE_VERSION" > "$BASE/.kubeforge-lab-ready"
    fi
    return
  fi
  echo "building base root filesystem in $BASE (once, about a minute)"
  rm -rf "$BASE.tmp"; mkdir -p "$(dirname "$BASE")"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,openssh-server,iproute2,sudo,python3-minimal,${NODE_PKGS// /,} \
    bookworm "$BASE.tmp" http://deb.debian.org/debian >"$(dirname "$BASE")/debootstrap.log" 2>&1 \
    || die "debootstrap failed, see $(dirname "$BASE")/debootstrap.log"
  chroot "$BASE.tmp" useradd -m -s /bin/bash -G sudo kf
  rm -f "$BASE.tmp"/etc/ssh/ssh_host_*          # every host makes its own keys
  echo 'kf ALL=(ALL) NOPASSWD: ALL' > "$BASE.tmp/etc/sudoers.d/kf"; chmod 440 "$BASE.tmp/etc/sudoers.d/kf"
  ln -sf /dev/null "$BASE.tmp/etc/systemd/system/systemd-networkd-wait-online.service"
  # installed, not running: Kubeforge (load balancer) and the kubelet stand-in (etcd) start what a node needs
  chroot "$BASE.tmp" systemctl disable etcd haproxy keepalived nginx >/dev/null 2>&1 || true
  echo "$BASE_VERSION" > "$BASE.tmp/.kubeforge-lab-ready"
  mv "$BASE.tmp" "$BASE"
}

bridge_up() {
  ip link show "$BR" >/dev/null 2>&1 || { ip link add "$BR" type bridge; ip addr add "$NET.1/24" dev "$BR"; }
  ip link set "$BR" up
}

# prepare_root DIR I: per-host identity in a host root (keys, hostname, sudo mode).
prepare_root() {
  local root=$1 i=$2 pub; pub="$(cat "$STATE/id_ed25519.pub")"
  echo "h$i" > "$root/etc/hostname"
  echo '127.0.0.1 localhost' > "$root/etc/hosts"
  for j in $(seq 1 "$LAB_N"); do echo "$NET.$((10 + j)) h$j" >> "$root/etc/hosts"; done
  : > "$root/etc/resolv.conf"   # no DNS in the lab: fail fast instead of waiting on unreachable servers
  ssh-keygen -q -A -f "$root"
  for home in root home/kf; do
    mkdir -p "$root/$home/.ssh"; echo "$pub" > "$root/$home/.ssh/authorized_keys"; chmod 700 "$root/$home/.ssh"; chmod 600 "$root/$home/.ssh/authorized_keys"
  done
  chroot "$root" chown -R kf:kf /home/kf/.ssh
  if [ "$i" = "$SUDOPW_HOST" ]; then
    echo 'kf ALL=(ALL) ALL' > "$root/etc/sudoers.d/kf"
    echo "kf:$(cat "$STATE/sudo-password")" | chroot "$root" chpasswd
  fi
  if [ -n "$STANDINS" ]; then install_standins "$root"; fi
}

# install_standins ROOT: what the kubelet and kubeadm packages install, with the kubelet TEST DOUBLE (kubeforge-labnode, bound
# at /opt/kubeforge-standins) behind /usr/bin/kubelet: the package's kubelet.service (+ KillMode=process, so static pod
# processes outlive a kubelet restart like containers do), enabled, and kubeadm's 10-kubeadm.conf drop-in.
install_standins() {
  local root=$1
  cat > "$root/usr/bin/kubelet" <<'WRAP'
#!/bin/sh
# kubelet TEST DOUBLE (kubeforge-labnode), installed by tests/lab/lab.sh: not the real kubelet.
exec /opt/kubeforge-standins/kubeforge-labnode kubelet "$@"
WRAP
  chmod 755 "$root/usr/bin/kubelet"
  cat > "$root/usr/bin/crictl" <<'WRAP'
#!/bin/sh
# crictl TEST DOUBLE (kubeforge-labnode), installed by tests/lab/lab.sh: "ps" and "rmp --all" of the static pod processes.
exec /opt/kubeforge-standins/kubeforge-labnode crictl "$@"
WRAP
  chmod 755 "$root/usr/bin/crictl"
  cat > "$root/lib/systemd/system/kubelet.service" <<'UNIT'
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10
# lab stand-in only: static pods are processes in this unit's cgroup; keep them when the kubelet restarts
KillMode=process

[Install]
WantedBy=multi-user.target
UNIT
  mkdir -p "$root/etc/systemd/system/kubelet.service.d" "$root/etc/systemd/system/multi-user.target.wants"
  cat > "$root/etc/systemd/system/kubelet.service.d/10-kubeadm.conf" <<'DROPIN'
# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
DROPIN
  ln -sf /lib/systemd/system/kubelet.service "$root/etc/systemd/system/multi-user.target.wants/kubelet.service"
  mkdir -p "$root/opt/kubeforge-standins"
}

wait_ssh() {
  local addr=$1 t=0
  until timeout 1 bash -c "exec 3<>/dev/tcp/$addr/22" 2>/dev/null; do
    t=$((t + 1)); [ $t -lt 90 ] || return 1; sleep 1
  done
}

# wait_booted ADDR: after a restart or boot, wait (up to 60 s) until systemd has finished booting the host — before that,
# pam_nologin turns non-root logins away ("System is booting up") and services are still starting
wait_booted() {
  ssh -q -i "$STATE/id_ed25519" -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes \
    -o ConnectTimeout=5 "root@$1" 'timeout 60 systemctl is-system-running --wait >/dev/null 2>&1 || true' </dev/null || true
}

up_nspawn() {
  local i=$1 name="h$i" addr="$NET.$((10 + i))" d="$RUNDIR/h$i"
  mkdir -p "$d/upper" "$d/work" "$d/root"
  mountpoint -q "$d/root" || mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$d/upper,workdir=$d/work" "$d/root"
  prepare_root "$d/root" "$i"
  boot_nspawn "$i"
}

# boot_nspawn I: boot host hI from its (mounted) overlay and give it its address.
boot_nspawn() {
  local i=$1; local name="h$i" addr="$NET.$((10 + i))" d="$RUNDIR/h$i" extra=()
  [ -z "$STANDINS" ] || extra+=(--bind-ro="$STANDINS:/opt/kubeforge-standins")
  if [ "$(cat "$STATE/swap" 2>/dev/null)" = 1 ]; then
    mkdir -p "$d/swap"; extra+=(--system-call-filter=@swap "--bind=$d/swap:$SWAP_DIR")
  fi
  # machine name $BR-hI: nspawn names the host-side veth (vb-NAME) and /run/systemd/nspawn/propagate/NAME after it, which
  # must differ between labs running at once; the host name inside stays hI
  setsid systemd-nspawn -q -D "$d/root" --register=no --keep-unit --resolv-conf=off -b --network-bridge="$BR" -M "$BR-$name" \
    --hostname="$name" "${extra[@]}" </dev/null >"$STATE/$name.log" 2>&1 &
  local pid=$!; echo "$pid" > "$STATE/$name.pid"
  local init="" t=0
  while [ -z "$init" ]; do
    [ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null || echo Z)" != Z ] || die "$name: nspawn exited at once: $(tail -n 5 "$STATE/$name.log" | tr '\n' ' ')"
    init="$(cat /proc/"$pid"/task/*/children 2>/dev/null | awk '{print $1}' | head -1 || true)"
    t=$((t + 1)); [ $t -lt 600 ] || die "$name: nspawn (pid $pid) did not start, see $STATE/$name.log"; sleep 0.1
  done
  # the first child seen may be nspawn's short-lived helper (still in our network namespace): re-read it until host0 shows
  t=0; until nsenter -t "$init" -n ip link show host0 >/dev/null 2>&1; do
    t=$((t+1)); [ $t -lt 600 ] || die "$name: no host0"; sleep 0.1
    init="$(cat /proc/"$pid"/task/*/children 2>/dev/null | awk '{print $1}' | head -1 || true)"; [ -n "$init" ] || init=$pid
  done
  echo "$init" > "$STATE/$name.init"   # the container's PID 1: down/poweroff kill it even if nspawn is gone
  nsenter -t "$init" -n ip addr add "$addr/24" dev host0
  nsenter -t "$init" -n ip link set host0 up
  nsenter -t "$init" -n ip route add default via "$NET.1" 2>/dev/null || true
  echo "$addr" > "$STATE/$name.addr"
}

up_netns() {
  local i=$1 name="h$i" addr="$NET.$((10 + i))" d="$RUNDIR/h$i" ns="$BR-h$i"
  mkdir -p "$d"
  ip netns add "$ns"
  ip link add "${BR}v$i" type veth peer name eth0 netns "$ns"
  ip link set "${BR}v$i" master "$BR" up
  ip netns exec "$ns" ip addr add "$addr/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up; ip netns exec "$ns" ip link set lo up
  ssh-keygen -q -t ed25519 -N '' -f "$d/host_ed25519"
  cat "$STATE/id_ed25519.pub" > "$d/authorized_keys"; chmod 600 "$d/authorized_keys"
  mkdir -p /run/sshd
  ip netns exec "$ns" /usr/sbin/sshd -f /dev/null -h "$d/host_ed25519" -o PidFile="$d/sshd.pid" \
    -o AuthorizedKeysFile="$d/authorized_keys" -o PermitRootLogin=prohibit-password -o StrictModes=no \
    -o ListenAddress="$addr"
  sleep 0.3; cat "$d/sshd.pid" > "$STATE/$name.pid"
  echo "$addr" > "$STATE/$name.addr"
}

cmd_up() {
  local n=${1:-1}; [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "usage: lab.sh up N (1..99)"
  need_tools; lab_key; LAB_N=$n
  if [ -n "${KFLAB_SWAP:-}" ] || [ ! -f "$STATE/swap" ]; then echo "${KFLAB_SWAP:-0}" > "$STATE/swap"; fi
  if [ "$MODE" = nspawn ]; then build_base; fi
  # every booted systemd takes several inotify instances: the default 128 per user runs out at about 16 hosts
  [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -ge 8192 ] || sysctl -qw fs.inotify.max_user_instances=8192
  [ "$(cat /proc/sys/fs/inotify/max_user_watches)" -ge 524288 ] || sysctl -qw fs.inotify.max_user_watches=524288
  bridge_up; echo "$MODE" > "$STATE/mode"
  if [ -n "$STANDINS" ]; then
    [ "$MODE" = nspawn ] || die "KFLAB_STANDINS needs nspawn mode"
    [ -x "$STANDINS/kubeforge-labnode" ] || die "KFLAB_STANDINS=$STANDINS has no kubeforge-labnode (run tests/lab/build-standins.sh)"
    STANDINS="$(cd "$STANDINS" && pwd)"; echo "$STANDINS" > "$STATE/standins"
  else
    rm -f "$STATE/standins"
  fi
  local start=$SECONDS
  for i in $(seq 1 "$n"); do
    [ -f "$STATE/h$i.pid" ] && kill -0 "$(cat "$STATE/h$i.pid")" 2>/dev/null && continue
    "up_$MODE" "$i"
  done
  for i in $(seq 1 "$n"); do
    wait_ssh "$(cat "$STATE/h$i.addr")" || die "h$i: sshd did not answer in 90 s, see $STATE/h$i.log"
  done
  # known_hosts for the lab, so Kubeforge can check host keys without --accept-new-host-keys
  : > "$STATE/known_hosts"
  for i in $(seq 1 "$n"); do ssh-keyscan -T 5 -t ed25519 "$(cat "$STATE/h$i.addr")" 2>/dev/null >> "$STATE/known_hosts" || true; done
  echo "lab up: $n host(s) in $((SECONDS - start)) s; key $STATE/id_ed25519, known_hosts $STATE/known_hosts"
  cmd_status
}

# swapoff_host I: deactivate the swap files of host hI (swap outlives the container: it is the kernel's).
swapoff_host() {
  local f
  for f in "$RUNDIR/h$1"/swap/*; do [ -f "$f" ] && { swapoff "$f" 2>/dev/null || true; }; done
  return 0
}

stop_pid() {
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "pid $pid did not stop in 30 s, sending SIGKILL"; kill -KILL "$pid"; sleep 0.5; }
  fi
  return 0
}

cmd_restart() {
  local name=${1:-}; [[ "$name" =~ ^h[1-9][0-9]?$ ]] || die "usage: lab.sh restart hI"
  [ "$(cat "$STATE/mode" 2>/dev/null)" = nspawn ] || die "restart needs nspawn mode"
  [ -f "$STATE/$name.pid" ] || die "$name is not up"
  [ -n "$STANDINS" ] || STANDINS="$(cat "$STATE/standins" 2>/dev/null || true)"   # the stand-ins the host was booted with
  local start=$SECONDS
  swapoff_host "${name#h}"
  stop_pid "$(cat "$STATE/$name.pid")"
  boot_nspawn "${name#h}"
  wait_ssh "$(cat "$STATE/$name.addr")" || die "$name: sshd did not answer in 90 s after restart, see $STATE/$name.log"
  wait_booted "$(cat "$STATE/$name.addr")"
  echo "$name restarted in $((SECONDS - start)) s"
}

# cmd_poweroff hI: kill host hI at once (SIGKILL to nspawn: no shutdown, like pulling the plug); its overlay stays.
cmd_poweroff() {
  local name=${1:-}; [[ "$name" =~ ^h[1-9][0-9]?$ ]] || die "usage: lab.sh poweroff hI"
  [ "$(cat "$STATE/mode" 2>/dev/null)" = nspawn ] || die "poweroff needs nspawn mode"
  [ -f "$STATE/$name.pid" ] || die "$name is not up"
  swapoff_host "${name#h}"
  local pid init; pid="$(cat "$STATE/$name.pid")"
  # SIGKILL the container's init (PID 1 of its PID namespace: the kernel then kills every process in it, and its network
  # namespace with the VIP goes away), then nspawn; killing only nspawn leaves the container running
  init="$(cat /proc/"$pid"/task/*/children 2>/dev/null | awk '{print $1}' | head -1 || true)"
  [ -n "$init" ] || init="$(cat "$STATE/$name.init" 2>/dev/null || true)"
  local at; at="$(date +%s.%N)"
  [ -z "$init" ] || kill -KILL "$init" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "$name powered off (killed at $at)"
}

# cmd_boot hI: boot a powered-off host hI again on its overlay.
cmd_boot() {
  local name=${1:-}; [[ "$name" =~ ^h[1-9][0-9]?$ ]] || die "usage: lab.sh boot hI"
  [ -f "$STATE/$name.addr" ] || die "$name was never up"
  kill -0 "$(cat "$STATE/$name.pid" 2>/dev/null || echo 0)" 2>/dev/null && die "$name is running"
  [ -n "$STANDINS" ] || STANDINS="$(cat "$STATE/standins" 2>/dev/null || true)"
  local start=$SECONDS veth="vb-$BR-$name" t=0
  # a killed container's network namespace (with the host side of its veth) is freed by the kernel asynchronously, up to a
  # minute later on a busy machine; nspawn then fails with "File exists" on the veth: give it 2 s, then delete the old pair
  if [ ${#veth} -le 15 ]; then
    while ip link show "$veth" >/dev/null 2>&1 && [ $t -lt 20 ]; do t=$((t + 1)); sleep 0.1; done
    ! ip link show "$veth" >/dev/null 2>&1 || ip link delete "$veth" 2>/dev/null || true
  fi
  boot_nspawn "${name#h}"
  wait_ssh "$(cat "$STATE/$name.addr")" || die "$name: sshd did not answer in 90 s after boot, see $STATE/$name.log"
  wait_booted "$(cat "$STATE/$name.addr")"
  echo "$name booted in $((SECONDS - start)) s"
}

cmd_down() {
  local mode; mode="$(cat "$STATE/mode" 2>/dev/null || echo "$MODE")"
  for pf in "$STATE"/h*.pid; do
    [ -f "$pf" ] || continue
    local pid; pid="$(cat "$pf")"
    local hn; hn="$(basename "$pf" .pid)"; swapoff_host "${hn#h}"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { echo "pid $pid did not stop in 30 s, sending SIGKILL"; kill -KILL "$pid"; sleep 0.5; }
    fi
    rm -f "$pf"
  done
  for f in "$STATE"/h*.init; do
    [ -f "$f" ] || continue
    local ip; ip="$(cat "$f")"
    # a container whose nspawn died (e.g. killed) keeps running under PID 1 of the machine: stop it by its own PID 1
    [ "$(cat /proc/"$ip"/comm 2>/dev/null)" = systemd ] && kill -KILL "$ip" 2>/dev/null || true
    rm -f "$f"
  done
  for d in "$RUNDIR"/h*; do
    [ -d "$d" ] || continue
    mountpoint -q "$d/root" 2>/dev/null && umount "$d/root"
    rm -rf "$d"
  done
  for ns in $(ip netns list 2>/dev/null | awk -v p="^$BR-h" '$1 ~ p {print $1}'); do ip netns del "$ns"; done
  ip link show "$BR" >/dev/null 2>&1 && ip link del "$BR"
  rm -f "$STATE"/h*.addr "$STATE"/h*.log "$STATE/mode" "$STATE/swap" "$STATE/known_hosts" "$STATE/standins"
  echo "lab down"
}

cmd_status() {
  local any=0
  for af in "$STATE"/h*.addr; do
    [ -f "$af" ] || continue; any=1
    local name; name="$(basename "$af" .addr)"; local addr; addr="$(cat "$af")"; local pid; pid="$(cat "$STATE/$name.pid" 2>/dev/null || echo -)"
    local alive=stopped; kill -0 "$pid" 2>/dev/null && alive=running
    local ssh=no; timeout 1 bash -c "exec 3<>/dev/tcp/$addr/22" 2>/dev/null && ssh=yes
    local sudo=nopasswd; [ "${name#h}" = "$SUDOPW_HOST" ] && sudo=password
    [ "$(cat "$STATE/mode" 2>/dev/null)" = netns ] && sudo="n/a (netns mode: root only)"
    printf '%-4s %-12s pid %-8s %-8s sshd:%-4s kf-sudo:%s\n' "$name" "$addr" "$pid" "$alive" "$ssh" "$sudo"
  done
  [ $any = 1 ] || echo "no lab hosts"
}

case "${1:-}" in
  up) cmd_up "${2:-1}" ;;
  restart) cmd_restart "${2:-}" ;;
  poweroff) cmd_poweroff "${2:-}" ;;
  boot) cmd_boot "${2:-}" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  base) need_tools; lab_key; build_base ;;
  *) echo "usage: $0 up N | down | status | restart hI | poweroff hI | boot hI" >&2; exit 2 ;;
esac
