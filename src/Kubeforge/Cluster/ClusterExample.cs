namespace Kubeforge.Cluster;

/// <summary>ClusterExample is the commented example cluster file <c>kubeforge config print cluster</c> prints.</summary>
public static class ClusterExample
{
    /// <summary>Text is an HA cluster: 3 control planes behind a keepalived VIP and haproxy, 2 workers, Aliyun mirrors.</summary>
    public const string Text = """
        # Kubeforge cluster file: "kubeforge plan -f cluster.yaml" shows what "kubeforge up -f cluster.yaml" would do.
        apiVersion: kubeforge.io/v1alpha1
        kind: Cluster
        metadata:
          name: kubernetes                  # the cluster name (kubeadm clusterName)
        spec:
          kubernetesVersion: v1.30.6        # a full release; the packages and images of this release are installed

          kubernetesBinaries: packages      # packages (install kubelet/kubectl from the mirror) or preinstalled (golden image: only verify)
          images: pull                      # pull (through containerd from the mirror) or preinstalled (skip pulling)
          # knownHosts: ./known_hosts       # host keys to check (default: --known-hosts or ~/.ssh/known_hosts)
          # ignorePreflightErrors: [NumCPU] # checks whose errors become warnings on every host

          # Every machine, reached over SSH from where kubeforge runs. The first control plane runs "kubeadm init";
          # the others join one at a time (etcd grows member by member); workers join in parallel.
          hosts:
            - name: master1                 # the Kubernetes node name
              address: 192.168.10.11        # IP address for SSH (and the node IP unless nodeIp is set)
              port: 22                      # SSH port (default 22)
              user: root                    # SSH user (default root; others need password-less sudo)
              sshKey: ~/.ssh/id_ed25519     # private key on this machine (default: ssh-agent / ~/.ssh keys)
              roles: [control-plane]
              interface: eth0               # NIC for cluster traffic (flannel) and the VIP (keepalived)
            - name: master2
              address: 192.168.10.12
              roles: [control-plane]
              interface: eth0
            - name: master3
              address: 192.168.10.13
              roles: [control-plane]
              interface: eth0
            - name: worker1
              address: 192.168.10.21
              passwordFrom: env:WORKER_PASSWORD   # a reference (env:NAME or file:PATH), never the password itself
              roles: [worker]
              labels:
                disktype: ssd
            - name: worker2
              address: 192.168.10.22
              nodeIp: 10.0.0.22             # the address used inside the cluster when it differs from address
              roles: [worker]
              taints: ["dedicated=gpu:NoSchedule"]

          # Where images and packages come from. Presets: default (registry.k8s.io, pkgs.k8s.io),
          # aliyun (registry.aliyuncs.com/google_containers, mirrors.aliyun.com), custom (give both repositories).
          mirror:
            preset: aliyun
            # imageRepository: registry.example.com/k8s     # overrides the preset
            # packageRepository: http://10.0.0.1/k8s/       # Kubernetes packages in the pkgs.k8s.io layout (<base>v1.29/deb/, /rpm/)
            # packageKey: ./k8s-mirror.asc                  # the key that repository is signed with (default: its Release.key)
            # osPackageRepository: http://10.0.0.1/debian   # offline mirror of the OS's packages (containerd, runc), GPG-checked
            # osPackageKey: ./os-mirror.asc                 # the key that mirror is signed with (file on this machine)
            registryMirrors:                # containerd mirrors for images outside imageRepository (e.g. flannel)
              - registry: docker.io
                endpoints: ["https://docker.m.daocloud.io"]

          containerd:
            version: distro                 # the OS package, or a release such as 1.7.22
            # sandboxImage: registry.aliyuncs.com/google_containers/pause:3.9   # default: the release's pause image

          network:
            podSubnet: 10.244.0.0/16        # flannel's default
            serviceSubnet: 10.96.0.0/12
            dnsDomain: cluster.local
            cni: flannel                    # flannel or none (install your own)
            flannelBackend: vxlan           # vxlan or host-gw (all nodes in one L2 subnet)

          # More than one control plane needs a shared endpoint: keepalived holds the VIP on one control plane and
          # haproxy on every control plane forwards vip:8443 to all apiservers on :6443. The port is 8443, not 6443,
          # because haproxy runs next to the local apiserver, which already listens on 6443.
          ha:
            vip: 192.168.10.10              # a free address in the control planes' subnet
            port: 8443
            loadBalancer: haproxy           # haproxy or nginx
            keepalived:
              routerId: kubeforge
              virtualRouterId: 51           # VRRP id, unique in the subnet (1-255)
              # interface: eth0             # default: each host's interface

          # kube-controller-manager and kube-scheduler leader election (client-go rule:
          # leaseDuration > renewDeadline > 1.2 x retryPeriod > 0). These are the defaults.
          leaderElection:
            leaseDuration: 15s
            renewDeadline: 10s
            retryPeriod: 2s

          # Anything else of kubeadm, merged over what Kubeforge generates (the release's kubeadm config API).
          kubeadm:
            clusterConfiguration:
              apiServer:
                certSANs: [k8s.example.com]
        """;
}
