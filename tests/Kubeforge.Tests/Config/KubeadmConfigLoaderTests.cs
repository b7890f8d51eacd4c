using Kubeforge.Config;
using Kubeforge.Node;

namespace Kubeforge.Tests.Config;

public class KubeadmConfigLoaderTests
{
    private static readonly NodeIdentity Node = new("My-Host", "192.168.1.10", "fd00::10");

    private static KubeadmConfig Load(string? text, InitFlags? flags = null, NodeIdentity? node = null) =>
        KubeadmConfigLoader.Load(text, "kubeadm.yaml", flags ?? InitFlags.None, node ?? Node);

    private static ConfigError Fails(string? text, InitFlags? flags = null) =>
        Assert.Throws<ConfigError>(() => Load(text, flags));

    private static string Cluster(string version, string body, string api = "kubeadm.k8s.io/v1beta3") =>
        $"apiVersion: {api}\nkind: ClusterConfiguration\nkubernetesVersion: {version}\n{body}";

    [Theory]
    [InlineData("v1.22.3", 22, "k8s.gcr.io", "/run/containerd/containerd.sock")]
    [InlineData("v1.24.0", 24, "k8s.gcr.io", "unix:///var/run/containerd/containerd.sock")]
    [InlineData("v1.25.4", 25, "registry.k8s.io", "unix:///var/run/containerd/containerd.sock")]
    [InlineData("v1.29.2", 29, "registry.k8s.io", "unix:///var/run/containerd/containerd.sock")]
    [InlineData("v1.37.0", 37, "registry.k8s.io", "unix:///var/run/containerd/containerd.sock")]
    public void FlagsOnly_DefaultsLikeKubeadm(string version, int minor, string repo, string cri)
    {
        var cfg = Load(null, new InitFlags { KubernetesVersion = version });
        Assert.Equal(minor, cfg.Profile.Minor);
        Assert.Equal(version, cfg.Cluster.KubernetesVersion);
        Assert.Equal(repo, cfg.ImageRepository);
        Assert.Equal("", cfg.Cluster.ImageRepository);
        Assert.Equal(cri, cfg.Init.NodeRegistration.CriSocket);
        Assert.Equal("10.96.0.0/12", cfg.Cluster.Networking.ServiceSubnet);
        Assert.Equal("cluster.local", cfg.Cluster.Networking.DnsDomain);
        Assert.Equal("/etc/kubernetes/pki", cfg.CertDir);
        Assert.Equal("kubernetes", cfg.Cluster.ClusterName);
        Assert.Equal("/var/lib/etcd", cfg.Cluster.Etcd.Local!.DataDir);
        Assert.Equal(6443, cfg.BindPort);
        Assert.Equal("IfNotPresent", cfg.Init.NodeRegistration.ImagePullPolicy);
        Assert.Equal("my-host", cfg.NodeName);
        Assert.Equal("192.168.1.10", cfg.AdvertiseAddress);
        var token = Assert.Single(cfg.Init.BootstrapTokens);
        Assert.Equal(TimeSpan.FromHours(24), token.Ttl);
        Assert.Equal(["signing", "authentication"], token.Usages);
        Assert.Equal(["system:bootstrappers:kubeadm:default-node-token"], token.Groups);
        Assert.Equal(KubeadmConfigLoader.DefaultTokenDescription, token.Description);
        Assert.True(cfg.FromFlagsOnly);
    }

    [Theory]
    [InlineData("", "v1.37.0")]
    [InlineData("stable", "v1.37.0")]
    [InlineData("stable-1", "v1.37.0")]
    [InlineData("latest", "v1.37.0")]
    [InlineData("stable-1.29", "v1.29.15")]
    public void VersionLabels_ResolveWithoutNetwork(string label, string expected)
    {
        var cfg = Load(null, new InitFlags { KubernetesVersion = label });
        Assert.Equal(expected, cfg.Version.ToString());
    }

    [Theory]
    [InlineData("v1.29")]
    [InlineData("1.x")]
    public void VersionWithoutPatch_IsRejected(string v)
    {
        var e = Fails(Cluster(v, ""));
        Assert.Contains("ClusterConfiguration.kubernetesVersion", e.Message);
        Assert.Contains("full release", e.Message);
    }

    [Theory]
    [InlineData("v1.21.0")]
    [InlineData("v1.38.0")]
    public void UnsupportedVersion_NamesRange(string v)
    {
        var e = Fails(Cluster(v, ""));
        Assert.Contains("ClusterConfiguration.kubernetesVersion", e.Message);
        Assert.Contains("v1.22 to v1.37", e.Message);
    }

    private const string V3File = """
        apiVersion: kubeadm.k8s.io/v1beta3
        kind: InitConfiguration
        bootstrapTokens:
        - token: abcdef.0123456789abcdef
          ttl: 2h
        nodeRegistration:
          name: cp-1
          criSocket: unix:///run/containerd/containerd.sock
          taints: []
          kubeletExtraArgs:
            node-ip: 10.0.0.5
            v: 4
        localAPIEndpoint:
          advertiseAddress: 10.0.0.5
          bindPort: 6444
        ---
        apiVersion: kubeadm.k8s.io/v1beta3
        kind: ClusterConfiguration
        kubernetesVersion: v1.29.2
        controlPlaneEndpoint: cp.example.com:6443
        imageRepository: registry.aliyuncs.com/google_containers
        networking:
          podSubnet: 10.244.0.0/16
        apiServer:
          timeoutForControlPlane: 8m0s
          certSANs: [cp.example.com]
          extraArgs:
            audit-log-maxage: "30"
            anonymous-auth: false
        etcd:
          local:
            imageTag: 3.5.9-0
        ---
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        cgroupDriver: systemd
        ---
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        mode: ipvs
        """;

    [Fact]
    public void V1beta3File_MapsOntoModel()
    {
        var cfg = Load(V3File);
        Assert.Equal("kubeadm.k8s.io/v1beta3", cfg.SourceApiVersion);
        Assert.False(cfg.FromFlagsOnly);
        Assert.Equal(29, cfg.Profile.Minor);
        Assert.Equal("cp-1", cfg.NodeName);
        Assert.Equal("10.0.0.5", cfg.AdvertiseAddress);
        Assert.Equal(6444, cfg.BindPort);
        Assert.NotNull(cfg.Init.NodeRegistration.Taints);
        Assert.Empty(cfg.Init.NodeRegistration.Taints!);
        Assert.Equal([new Arg("node-ip", "10.0.0.5"), new Arg("v", "4")], cfg.Init.NodeRegistration.KubeletExtraArgs);
        Assert.Equal(TimeSpan.FromHours(2), cfg.Init.BootstrapTokens[0].Ttl);
        Assert.Null(cfg.Init.BootstrapTokens[0].Description);
        Assert.Equal("cp.example.com:6443", cfg.Cluster.ControlPlaneEndpoint);
        Assert.Equal("registry.aliyuncs.com/google_containers", cfg.ImageRepository);
        Assert.Equal("10.244.0.0/16", cfg.Cluster.Networking.PodSubnet);
        Assert.Equal(TimeSpan.FromMinutes(8), cfg.Cluster.ApiServer.TimeoutForControlPlane);
        Assert.Equal(TimeSpan.FromMinutes(8), cfg.Init.Timeouts.ControlPlaneComponentHealthCheck);
        Assert.Equal([new Arg("anonymous-auth", "false"), new Arg("audit-log-maxage", "30")], cfg.Cluster.ApiServer.ExtraArgs);
        Assert.Equal("3.5.9-0", cfg.Cluster.Etcd.Local!.ImageTag);
        Assert.Equal("systemd", cfg.KubeletConfiguration.Str("cgroupDriver"));
        Assert.Equal("ipvs", cfg.KubeProxyConfiguration.Str("mode"));
    }

    private const string V4File = """
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: InitConfiguration
        dryRun: true
        nodeRegistration:
          kubeletExtraArgs:
          - name: node-ip
            value: 10.0.0.6
          imagePullSerial: false
        timeouts:
          controlPlaneComponentHealthCheck: 10m
          kubeletHealthCheck: 3m0s
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: ClusterConfiguration
        kubernetesVersion: v1.33.0
        encryptionAlgorithm: ECDSA-P256
        certificateValidityPeriod: 4380h
        caCertificateValidityPeriod: 43800h0m0s
        dns:
          disabled: true
        proxy:
          disabled: true
        controllerManager:
          extraArgs:
          - name: bind-address
            value: 0.0.0.0
          - name: bind-address
            value: 127.0.0.1
          extraEnvs:
          - name: HTTP_PROXY
            value: http://proxy:3128
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: JoinConfiguration
        discovery: {}
        """;

    [Fact]
    public void V1beta4File_MapsOntoModel()
    {
        var cfg = Load(V4File);
        Assert.Equal("kubeadm.k8s.io/v1beta4", cfg.SourceApiVersion);
        Assert.True(cfg.Init.DryRun);
        Assert.False(cfg.Init.NodeRegistration.ImagePullSerial);
        Assert.Equal([new Arg("node-ip", "10.0.0.6")], cfg.Init.NodeRegistration.KubeletExtraArgs);
        Assert.Equal(TimeSpan.FromMinutes(10), cfg.Init.Timeouts.ControlPlaneComponentHealthCheck);
        Assert.Equal(TimeSpan.FromMinutes(10), cfg.Cluster.ApiServer.TimeoutForControlPlane);
        Assert.Equal(TimeSpan.FromMinutes(3), cfg.Init.Timeouts.KubeletHealthCheck);
        Assert.Equal("ECDSA-P256", cfg.Cluster.EncryptionAlgorithm);
        Assert.Equal(TimeSpan.FromHours(4380), cfg.Cluster.CertificateValidityPeriod);
        Assert.Equal(TimeSpan.FromHours(43800), cfg.Cluster.CaCertificateValidityPeriod);
        Assert.True(cfg.Cluster.Dns.Disabled);
        Assert.True(cfg.Cluster.ProxyDisabled);
        Assert.Equal(2, cfg.Cluster.ControllerManager.ExtraArgs.Count); // duplicates kept in v1beta4
        Assert.Equal([new EnvVar("HTTP_PROXY", "http://proxy:3128")], cfg.Cluster.ControllerManager.ExtraEnvs);
        Assert.Contains(cfg.Warnings, w => w.Contains("JoinConfiguration") && w.Contains("ignored"));
        Assert.Equal("my-host", cfg.NodeName);
        Assert.Equal("192.168.1.10", cfg.AdvertiseAddress);
    }

    [Fact]
    public void V1beta3_IsReadByNewReleases()
    {
        var cfg = Load(Cluster("v1.37.0", "networking:\n  podSubnet: 10.244.0.0/16\n"));
        Assert.Equal(37, cfg.Profile.Minor);
        Assert.Equal("10.244.0.0/16", cfg.Cluster.Networking.PodSubnet);
    }

    [Fact]
    public void V1beta4_IsRejectedBeforeV131()
    {
        var e = Fails(Cluster("v1.29.0", "", "kubeadm.k8s.io/v1beta4"));
        Assert.Contains("ClusterConfiguration.apiVersion", e.Message);
        Assert.Contains("kubeadm.k8s.io/v1beta3", e.Message);
    }

    [Fact]
    public void UnknownField_NamesPathLineAndSuggestion()
    {
        var e = Fails(Cluster("v1.29.0", "networking:\n  podSubnett: 10.244.0.0/16\n"));
        Assert.Contains("ClusterConfiguration.networking.podSubnett", e.Message);
        Assert.Contains("line 5", e.Message);
        Assert.Contains("did you mean podSubnet?", e.Message);
    }

    [Theory]
    [InlineData("encryptionAlgorithm: RSA-2048\n", "ClusterConfiguration.encryptionAlgorithm")]
    [InlineData("dns:\n  disabled: true\n", "ClusterConfiguration.dns.disabled")]
    [InlineData("proxy:\n  disabled: true\n", "ClusterConfiguration.proxy")]
    [InlineData("certificateValidityPeriod: 8760h0m0s\n", "ClusterConfiguration.certificateValidityPeriod")]
    public void V1beta4OnlyFields_AreRejectedInV1beta3(string body, string path)
    {
        var e = Fails(Cluster("v1.31.0", body));
        Assert.Contains(path, e.Message);
        Assert.Contains("only in kubeadm.k8s.io/v1beta4", e.Message);
    }

    [Fact]
    public void TimeoutForControlPlane_IsRejectedInV1beta4()
    {
        var e = Fails(Cluster("v1.31.0", "apiServer:\n  timeoutForControlPlane: 4m\n", "kubeadm.k8s.io/v1beta4"));
        Assert.Contains("ClusterConfiguration.apiServer.timeoutForControlPlane", e.Message);
        Assert.Contains("timeouts.controlPlaneComponentHealthCheck", e.Message);
    }

    [Fact]
    public void ExtraArgsForm_MustMatchApiVersion()
    {
        var e3 = Fails(Cluster("v1.31.0", "scheduler:\n  extraArgs:\n  - name: v\n    value: \"2\"\n"));
        Assert.Contains("ClusterConfiguration.scheduler.extraArgs", e3.Message);
        var e4 = Fails(Cluster("v1.31.0", "scheduler:\n  extraArgs:\n    v: \"2\"\n", "kubeadm.k8s.io/v1beta4"));
        Assert.Contains("ClusterConfiguration.scheduler.extraArgs", e4.Message);
        Assert.Contains("name", e4.Message);
    }

    [Fact]
    public void WrongType_NamesField()
    {
        var e = Fails("apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nlocalAPIEndpoint:\n  bindPort: abc\n");
        Assert.Contains("InitConfiguration.localAPIEndpoint.bindPort", e.Message);
        Assert.Contains("integer", e.Message);
    }

    [Fact]
    public void YamlSyntaxError_NamesLine()
    {
        var e = Fails("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking: [\n");
        Assert.Contains("kubeadm.yaml", e.Message);
        Assert.Contains("line", e.Message);
    }

    [Fact]
    public void UnknownKind_NamesSupportedOnes()
    {
        var e = Fails("apiVersion: kubeadm.k8s.io/v1beta3\nkind: MasterConfiguration\n");
        Assert.Contains("MasterConfiguration", e.Message);
        Assert.Contains("InitConfiguration, ClusterConfiguration", e.Message);
        var e2 = Fails("apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n");
        Assert.Contains("kubeadm config migrate", e2.Message);
    }

    [Fact]
    public void MixingConfigWithFlags_IsRefused()
    {
        var e = Fails(Cluster("v1.29.0", ""), new InitFlags { PodNetworkCidr = "10.244.0.0/16", CriSocket = "unix:///x.sock" });
        Assert.Contains("can not mix '--config' with arguments [cri-socket pod-network-cidr]", e.Message);
    }

    [Fact]
    public void AllowedFlags_CombineWithConfig()
    {
        var cfg = Load(Cluster("v1.29.0", ""), new InitFlags { NodeName = "override", DryRun = true, SkipPhases = ["addon/kube-proxy"], UploadCerts = true });
        Assert.Equal("override", cfg.NodeName);
        Assert.True(cfg.Init.DryRun);
        Assert.True(cfg.Init.UploadCerts);
        Assert.Equal(["addon/kube-proxy"], cfg.Init.SkipPhases);
        Assert.Null(cfg.Init.BootstrapTokens[0].Description); // --config: no default description
    }

    [Fact]
    public void Flags_MapOntoConfig()
    {
        var cfg = Load(null, new InitFlags
        {
            KubernetesVersion = "v1.24.3",
            ImageRepository = "registry.aliyuncs.com/google_containers",
            PodNetworkCidr = "10.244.0.0/16",
            ServiceCidr = "10.112.0.0/12",
            ServiceDnsDomain = "corp.local",
            ApiserverAdvertiseAddress = "10.1.2.3",
            ApiserverBindPort = 8443,
            ApiserverCertExtraSans = ["lb.example.com", "10.1.2.100"],
            ControlPlaneEndpoint = "lb.example.com:8443",
            NodeName = "cp1",
            CertDir = "/srv/pki",
            SkipPhases = ["addon/coredns"],
            CriSocket = "/run/containerd/containerd.sock",
            CertificateKey = new string('a', 64),
            Token = "abcdef.0123456789abcdef",
            TokenTtl = "1h",
        });
        Assert.Equal("registry.aliyuncs.com/google_containers", cfg.ImageRepository);
        Assert.Equal("10.244.0.0/16", cfg.Cluster.Networking.PodSubnet);
        Assert.Equal("10.112.0.0/12", cfg.Cluster.Networking.ServiceSubnet);
        Assert.Equal("corp.local", cfg.Cluster.Networking.DnsDomain);
        Assert.Equal("10.1.2.3", cfg.AdvertiseAddress);
        Assert.Equal(8443, cfg.BindPort);
        Assert.Equal(["lb.example.com", "10.1.2.100"], cfg.Cluster.ApiServer.CertSans);
        Assert.Equal("lb.example.com:8443", cfg.Cluster.ControlPlaneEndpoint);
        Assert.Equal("cp1", cfg.NodeName);
        Assert.Equal("/srv/pki", cfg.CertDir);
        Assert.Equal(["addon/coredns"], cfg.Init.SkipPhases);
        // v1.24+: a bare path gets the unix:// scheme, with a warning
        Assert.Equal("unix:///run/containerd/containerd.sock", cfg.Init.NodeRegistration.CriSocket);
        Assert.Contains(cfg.Warnings, w => w.Contains("criSocket"));
        Assert.Equal("abcdef.0123456789abcdef", cfg.Init.BootstrapTokens[0].Token);
        Assert.Equal(TimeSpan.FromHours(1), cfg.Init.BootstrapTokens[0].Ttl);
    }

    [Fact]
    public void Defaults_FromNodeIdentity()
    {
        var cfg = Load(null, node: new NodeIdentity("  WORKER-7.Example.COM ", null, "fd00::7"));
        Assert.Equal("worker-7.example.com", cfg.NodeName);
        Assert.Equal("fd00::7", cfg.AdvertiseAddress);
        var zero = Load(null, new InitFlags { ApiserverAdvertiseAddress = "0.0.0.0" });
        Assert.Equal("192.168.1.10", zero.AdvertiseAddress);
    }

    [Fact]
    public void NoRoute_AsksForAdvertiseAddress()
    {
        var e = Assert.Throws<ConfigError>(() => Load(null, node: new NodeIdentity("h", null)));
        Assert.Contains("localAPIEndpoint.advertiseAddress", e.Message);
        Assert.Contains("--apiserver-advertise-address", e.Message);
    }

    public static TheoryData<string, string, string> InvalidFlags => new()
    {
        { "PodNetworkCidr", "10.244.0.0", "networking.podSubnet" },
        { "PodNetworkCidr", "10.96.0.0/16", "overlaps service subnet" },
        { "PodNetworkCidr", "10.244.0.0/28", "networking.podSubnet" },
        { "PodNetworkCidr", "10.244.0.0/26", "smaller than one node's /24" },
        { "PodNetworkCidr", "10.244.0.0/16,10.245.0.0/16", "one IPv4 and one IPv6" },
        { "ServiceCidr", "10.0.0.0/8", "too large" },
        { "ServiceCidr", "10.96.0.0/30", "too small" },
        { "ServiceCidr", "10.96.0.0/12,fd00::/64", "too large" },
        { "ServiceCidr", "10.96.0.300/12", "not a CIDR" },
        { "NodeName", "My_Node", "nodeRegistration.name" },
        { "ApiserverAdvertiseAddress", "my-host", "not an IP address" },
        { "ControlPlaneEndpoint", "lb.example.com:99999", "controlPlaneEndpoint" },
        { "ControlPlaneEndpoint", "Bad_Host:6443", "controlPlaneEndpoint" },
        { "ServiceDnsDomain", "Cluster_Local", "networking.dnsDomain" },
        { "CertDir", "relative/pki", "certificatesDir" },
        { "Token", "ABCDEF.0123456789abcdef", "bootstrapTokens[0].token" },
        { "CertificateKey", "abc", "certificateKey" },
    };

    [Theory]
    [MemberData(nameof(InvalidFlags))]
    public void InvalidFlagValues_NameFieldAndFlag(string flag, string value, string expected)
    {
        var flags = flag switch
        {
            "PodNetworkCidr" => new InitFlags { PodNetworkCidr = value },
            "ServiceCidr" => new InitFlags { ServiceCidr = value },
            "NodeName" => new InitFlags { NodeName = value },
            "ApiserverAdvertiseAddress" => new InitFlags { ApiserverAdvertiseAddress = value },
            "ControlPlaneEndpoint" => new InitFlags { ControlPlaneEndpoint = value },
            "ServiceDnsDomain" => new InitFlags { ServiceDnsDomain = value },
            "CertDir" => new InitFlags { CertDir = value },
            "Token" => new InitFlags { Token = value },
            "CertificateKey" => new InitFlags { CertificateKey = value },
            _ => throw new ArgumentException(flag),
        };
        var e = Fails(null, flags);
        Assert.Contains(expected, e.Message);
        Assert.Contains("--", e.Message); // names the flag the value came from
        Assert.DoesNotContain("\n", e.Errors[0]);
    }

    public static TheoryData<string, string, string> InvalidFiles => new()
    {
        { "InitConfiguration", "localAPIEndpoint:\n  bindPort: 70000\n", "InitConfiguration.localAPIEndpoint.bindPort" },
        { "InitConfiguration", "localAPIEndpoint:\n  advertiseAddress: 10.0.0\n", "InitConfiguration.localAPIEndpoint.advertiseAddress" },
        { "InitConfiguration", "bootstrapTokens:\n- token: abc.def\n", "InitConfiguration.bootstrapTokens[0].token" },
        { "InitConfiguration", "bootstrapTokens:\n- usages: [signing, deleting]\n", "InitConfiguration.bootstrapTokens[0].usages" },
        { "InitConfiguration", "bootstrapTokens:\n- groups: [system:nodes]\n", "InitConfiguration.bootstrapTokens[0].groups" },
        { "InitConfiguration", "nodeRegistration:\n  imagePullPolicy: Sometimes\n", "InitConfiguration.nodeRegistration.imagePullPolicy" },
        { "InitConfiguration", "nodeRegistration:\n  name: UPPER\n", "InitConfiguration.nodeRegistration.name" },
        { "ClusterConfiguration", "kubernetesVersion: v1.29.0\nnetworking:\n  serviceSubnet: 10.96.0.0/11\n", "ClusterConfiguration.networking.serviceSubnet" },
        { "ClusterConfiguration", "kubernetesVersion: v1.29.0\nnetworking:\n  podSubnet: fd00::/40\n", "ClusterConfiguration.networking.podSubnet" },
        { "ClusterConfiguration", "kubernetesVersion: v1.29.0\ncontrolPlaneEndpoint: \"[fd00::1]:abc\"\n", "ClusterConfiguration.controlPlaneEndpoint" },
        { "ClusterConfiguration", "kubernetesVersion: v1.29.0\netcd:\n  external:\n    endpoints: []\n", "ClusterConfiguration.etcd" },
    };

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void InvalidFileValues_NameDocumentFieldAndLine(string kind, string body, string expected)
    {
        var e = Fails($"apiVersion: kubeadm.k8s.io/v1beta3\nkind: {kind}\n{body}");
        Assert.Contains(expected, e.Message);
        Assert.Contains("kubeadm.yaml", e.Message);
        Assert.Contains("(line ", e.Message);
    }

    [Theory]
    [InlineData("v1.31.0", "ECDSA-P384")]
    [InlineData("v1.33.0", "DSA-1024")]
    public void EncryptionAlgorithm_MustBeInProfile(string version, string alg)
    {
        var e = Fails(Cluster(version, $"encryptionAlgorithm: {alg}\n", "kubeadm.k8s.io/v1beta4"));
        Assert.Contains("ClusterConfiguration.encryptionAlgorithm", e.Message);
        Assert.Contains("RSA-2048", e.Message);
    }

    [Fact]
    public void EcdsaP384_IsAcceptedFrom134()
    {
        var cfg = Load(Cluster("v1.34.0", "encryptionAlgorithm: ECDSA-P384\n", "kubeadm.k8s.io/v1beta4"));
        Assert.Equal("ECDSA-P384", cfg.Cluster.EncryptionAlgorithm);
    }

    [Fact]
    public void DualStack_IsAccepted()
    {
        var cfg = Load(null, new InitFlags { PodNetworkCidr = "10.244.0.0/16,fd00:10:244::/56", ServiceCidr = "10.96.0.0/12,fd00:10:96::/112" });
        Assert.Equal("10.244.0.0/16,fd00:10:244::/56", cfg.Cluster.Networking.PodSubnet);
    }

    [Fact]
    public void BadCertSans_AreWarnings()
    {
        var cfg = Load(Cluster("v1.29.0", "apiServer:\n  certSANs: [\"bad name!\", \"*.example.com\", 10.0.0.1]\n"));
        var w = Assert.Single(cfg.Warnings, w => w.Contains("certSANs"));
        Assert.Contains("bad name!", w);
    }

    [Fact]
    public void PublicKeysEcdsaGate_SetsAlgorithmInV1beta3()
    {
        var cfg = Load(Cluster("v1.22.3", "featureGates:\n  PublicKeysECDSA: true\n"));
        Assert.Equal("ECDSA-P256", cfg.Cluster.EncryptionAlgorithm);
    }
}

public class NodeIdentityTests
{
    [Fact]
    public void DefaultInterface_PicksLowestMetricDefaultRoute()
    {
        var dir = Directory.CreateTempSubdirectory("kf-route-");
        try
        {
            var v4 = Path.Combine(dir.FullName, "route");
            File.WriteAllText(v4, """
                Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
                eth1	00000000	0101A8C0	0003	0	0	600	00000000	0	0	0
                eth0	00000000	0102A8C0	0003	0	0	100	00000000	0	0	0
                eth0	0001A8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
                """);
            Assert.Equal("eth0", Kubeforge.Node.NodeIdentity.DefaultInterface(v4, v6: false));
            var v6 = Path.Combine(dir.FullName, "ipv6_route");
            File.WriteAllText(v6, """
                00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     ens3
                00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
                """);
            Assert.Equal("ens3", Kubeforge.Node.NodeIdentity.DefaultInterface(v6, v6: true));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Detect_ReturnsHostname()
    {
        var id = Kubeforge.Node.NodeIdentity.Detect();
        Assert.False(string.IsNullOrWhiteSpace(id.Hostname));
        Assert.Equal(id.Hostname.Trim().ToLowerInvariant(), id.NodeName);
    }
}
