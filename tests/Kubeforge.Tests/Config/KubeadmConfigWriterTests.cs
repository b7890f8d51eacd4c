using Kubeforge.Config;
using Kubeforge.Node;
using Kubeforge.Versions;

namespace Kubeforge.Tests.Config;

public class KubeadmConfigWriterTests
{
    private static readonly NodeIdentity Node = new("cp", "10.0.0.5");

    private static VersionProfile Row(int minor) => VersionTable.All.Single(r => r.Minor == minor);

    [Fact]
    public void ClusterConfiguration_V122_MatchesObservedConfigMap()
    {
        var cfg = KubeadmConfigLoader.Load(null, "flags", new InitFlags { KubernetesVersion = "v1.22.1", PodNetworkCidr = "10.244.0.0/16" }, Node);
        Assert.Equal("""
            apiServer:
              extraArgs:
                authorization-mode: Node,RBAC
              timeoutForControlPlane: 4m0s
            apiVersion: kubeadm.k8s.io/v1beta3
            certificatesDir: /etc/kubernetes/pki
            clusterName: kubernetes
            controllerManager: {}
            dns: {}
            etcd:
              local:
                dataDir: /var/lib/etcd
            imageRepository: k8s.gcr.io
            kind: ClusterConfiguration
            kubernetesVersion: v1.22.1
            networking:
              dnsDomain: cluster.local
              podSubnet: 10.244.0.0/16
              serviceSubnet: 10.96.0.0/12
            scheduler: {}

            """, KubeadmConfigWriter.ClusterConfigurationYaml(cfg));
    }

    [Fact]
    public void ClusterConfiguration_V1beta4_MatchesObservedConfigMap()
    {
        var cfg = KubeadmConfigLoader.Load(null, "flags", new InitFlags { KubernetesVersion = "v1.34.1", ControlPlaneEndpoint = "10.101.11.110:6443", PodNetworkCidr = "172.19.0.0/16", ServiceCidr = "192.168.0.0/16" }, Node);
        Assert.Equal("""
            apiServer: {}
            apiVersion: kubeadm.k8s.io/v1beta4
            caCertificateValidityPeriod: 87600h0m0s
            certificateValidityPeriod: 8760h0m0s
            certificatesDir: /etc/kubernetes/pki
            clusterName: kubernetes
            controlPlaneEndpoint: 10.101.11.110:6443
            controllerManager: {}
            dns: {}
            encryptionAlgorithm: RSA-2048
            etcd:
              local:
                dataDir: /var/lib/etcd
            imageRepository: registry.k8s.io
            kind: ClusterConfiguration
            kubernetesVersion: v1.34.1
            networking:
              dnsDomain: cluster.local
              podSubnet: 172.19.0.0/16
              serviceSubnet: 192.168.0.0/16
            proxy: {}
            scheduler: {}

            """, KubeadmConfigWriter.ClusterConfigurationYaml(cfg));
    }

    [Fact]
    public void ClusterConfiguration_V1beta4_WritesArgListsAndDisabledAddons()
    {
        var text = """
            apiVersion: kubeadm.k8s.io/v1beta3
            kind: ClusterConfiguration
            kubernetesVersion: v1.33.0
            controllerManager:
              extraArgs:
                profiling: "false"
              extraVolumes:
              - name: cfg
                hostPath: /etc/x
                mountPath: /etc/x
                readOnly: true
                pathType: File
            """;
        var cfg = KubeadmConfigLoader.Load(text, "k.yaml", InitFlags.None, Node);
        cfg.Cluster.Dns.Disabled = true;
        var yaml = KubeadmConfigWriter.ClusterConfigurationYaml(cfg);
        Assert.Contains("controllerManager:\n  extraArgs:\n  - name: profiling\n    value: \"false\"\n  extraVolumes:\n  - hostPath: /etc/x\n    mountPath: /etc/x\n    name: cfg\n    pathType: File\n    readOnly: true\n", yaml);
        Assert.Contains("dns:\n  disabled: true\n", yaml);
    }

    [Fact]
    public void InitDefaults_V122_MatchesKubeadmOutput()
    {
        Assert.Equal("""
            apiVersion: kubeadm.k8s.io/v1beta3
            bootstrapTokens:
            - groups:
              - system:bootstrappers:kubeadm:default-node-token
              token: abcdef.0123456789abcdef
              ttl: 24h0m0s
              usages:
              - signing
              - authentication
            kind: InitConfiguration
            localAPIEndpoint:
              advertiseAddress: 1.2.3.4
              bindPort: 6443
            nodeRegistration:
              criSocket: /var/run/dockershim.sock
              imagePullPolicy: IfNotPresent
              name: node
              taints: null
            ---
            apiServer:
              timeoutForControlPlane: 4m0s
            apiVersion: kubeadm.k8s.io/v1beta3
            certificatesDir: /etc/kubernetes/pki
            clusterName: kubernetes
            controllerManager: {}
            dns: {}
            etcd:
              local:
                dataDir: /var/lib/etcd
            imageRepository: k8s.gcr.io
            kind: ClusterConfiguration
            kubernetesVersion: 1.22.0
            networking:
              dnsDomain: cluster.local
              serviceSubnet: 10.96.0.0/12
            scheduler: {}

            """, KubeadmConfigWriter.InitDefaults(Row(22)));
    }

    [Fact]
    public void InitDefaults_V133_MatchesKubeadmOutput()
    {
        Assert.Equal("""
            apiVersion: kubeadm.k8s.io/v1beta4
            bootstrapTokens:
            - groups:
              - system:bootstrappers:kubeadm:default-node-token
              token: abcdef.0123456789abcdef
              ttl: 24h0m0s
              usages:
              - signing
              - authentication
            kind: InitConfiguration
            localAPIEndpoint:
              advertiseAddress: 1.2.3.4
              bindPort: 6443
            nodeRegistration:
              criSocket: unix:///var/run/containerd/containerd.sock
              imagePullPolicy: IfNotPresent
              imagePullSerial: true
              name: node
              taints: null
            timeouts:
              controlPlaneComponentHealthCheck: 4m0s
              discovery: 5m0s
              etcdAPICall: 2m0s
              kubeletHealthCheck: 4m0s
              kubernetesAPICall: 1m0s
              tlsBootstrap: 5m0s
              upgradeManifests: 5m0s
            ---
            apiServer: {}
            apiVersion: kubeadm.k8s.io/v1beta4
            caCertificateValidityPeriod: 87600h0m0s
            certificateValidityPeriod: 8760h0m0s
            certificatesDir: /etc/kubernetes/pki
            clusterName: kubernetes
            controllerManager: {}
            dns: {}
            encryptionAlgorithm: RSA-2048
            etcd:
              local:
                dataDir: /var/lib/etcd
            imageRepository: registry.k8s.io
            kind: ClusterConfiguration
            kubernetesVersion: 1.33.0
            networking:
              dnsDomain: cluster.local
              serviceSubnet: 10.96.0.0/12
            proxy: {}
            scheduler: {}

            """, KubeadmConfigWriter.InitDefaults(Row(33)));
    }

    [Theory]
    [InlineData(22)]
    [InlineData(24)]
    [InlineData(25)]
    [InlineData(29)]
    [InlineData(37)]
    public void InitDefaults_LoadsBackWithSameValues(int minor)
    {
        var text = KubeadmConfigWriter.InitDefaults(Row(minor)).Replace("1.2.3.4", "10.0.0.9");
        var cfg = KubeadmConfigLoader.Load(text, "defaults.yaml", InitFlags.None, Node);
        Assert.Equal(minor, cfg.Profile.Minor);
        Assert.Equal("node", cfg.NodeName);
        Assert.Equal("10.0.0.9", cfg.AdvertiseAddress);
        Assert.Equal("abcdef.0123456789abcdef", cfg.Init.BootstrapTokens[0].Token);
    }
}
