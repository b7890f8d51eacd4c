using Kubeforge.Cluster;
using Kubeforge.Config;
using Kubeforge.Node;

namespace Kubeforge.Tests.Cluster;

/// <summary>ClusterFileTests check reading, defaults, presets and validation of cluster files.</summary>
public sealed class ClusterFileTests
{
    internal const string Head = "apiVersion: kubeforge.io/v1alpha1\nkind: Cluster\nspec:\n  kubernetesVersion: v1.30.6\n";

    internal static string Hosts(params string[] hosts) =>
        "  hosts:\n" + string.Concat(hosts.Select(h => "    - " + h.Replace("\n", "\n      ") + "\n"));

    internal const string Ha = "  ha:\n    vip: 10.0.0.10\n";

    internal static string ThreePlusTwo(string extra = "") => Head + Hosts(
        "name: m1\naddress: 10.0.0.11\nroles: [control-plane]",
        "name: m2\naddress: 10.0.0.12\nroles: [control-plane]",
        "name: m3\naddress: 10.0.0.13\nroles: [control-plane]",
        "name: w1\naddress: 10.0.0.21\nroles: [worker]",
        "name: w2\naddress: 10.0.0.22\nroles: [worker]") + Ha + extra;

    internal static string Single(string extra = "") => Head + Hosts("name: node1\naddress: 10.0.0.11\nroles: [control-plane]") + extra;

    private static ConfigError Fails(string text) => Assert.Throws<ConfigError>(() => ClusterFile.Parse(text, "cluster.yaml"));

    [Fact]
    public void MinimalFileGetsDefaults()
    {
        var f = ClusterFile.Parse(Single(), "cluster.yaml");
        var h = Assert.Single(f.Hosts);
        Assert.Equal(("node1", "10.0.0.11", 22, "root"), (h.Name, h.Address, h.Port, h.User));
        Assert.True(h.IsControlPlane);
        Assert.Equal("10.244.0.0/16", f.Network.PodSubnet);
        Assert.Equal("10.96.0.0/12", f.Network.ServiceSubnet);
        Assert.Equal("flannel", f.Network.Cni);
        Assert.Equal("registry.k8s.io", f.Mirror.ImageRepository);
        Assert.Equal("https://pkgs.k8s.io/core:/stable:/", f.Mirror.PackageRepository);
        Assert.Null(f.Ha);
        Assert.Equal("", f.ControlPlaneEndpoint);
        Assert.Equal("v1.30.6", f.Version.ToString());
        Assert.True(f.LeaderElection.IsDefault);
    }

    [Fact]
    public void OsPackageMirrorIsRead()
    {
        var f = ClusterFile.Parse(Single("  mirror:\n    osPackageRepository: \"http://10.0.0.1/debian bookworm main\"\n    osPackageKey: ./os-mirror.asc\n"), "c");
        Assert.Equal("http://10.0.0.1/debian bookworm main", f.Mirror.OsPackageRepository);
        Assert.Equal("./os-mirror.asc", f.Mirror.OsPackageKey);
        Assert.Null(ClusterFile.Parse(Single(), "c").Mirror.OsPackageRepository);
    }

    [Fact]
    public void AliyunPresetExpandsAndExplicitRepositoryWins()
    {
        var f = ClusterFile.Parse(Single("  mirror:\n    preset: aliyun\n"), "c");
        Assert.Equal("registry.aliyuncs.com/google_containers", f.Mirror.ImageRepository);
        Assert.StartsWith("https://mirrors.aliyun.com/", f.Mirror.PackageRepository);
        Assert.StartsWith("https://mirrors.aliyun.com/", f.Mirror.ContainerdRepository);
        var g = ClusterFile.Parse(Single("  mirror:\n    preset: aliyun\n    imageRepository: reg.example.com/k8s\n"), "c");
        Assert.Equal("reg.example.com/k8s", g.Mirror.ImageRepository);
    }

    [Fact]
    public void DefaultPresetUsesTheReleasesOwnRegistry()
    {
        var f = ClusterFile.Parse(Single().Replace("v1.30.6", "v1.22.3"), "c");
        Assert.Equal("k8s.gcr.io", f.Mirror.ImageRepository);
    }

    [Fact]
    public void CustomPresetNeedsRepositories()
    {
        var e = Fails(Single("  mirror:\n    preset: custom\n"));
        Assert.Contains("spec.mirror.imageRepository", e.Message);
        Assert.Contains("spec.mirror.packageRepository", e.Message);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]", "name: n2\naddress: 10.0.0.12\nroles: [worker]", "name: node3\naddress: 10.0.0.300\nroles: [worker]"),
            "spec.hosts[2] (node3).address (line 13): \"10.0.0.300\" is not an IP address" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]", "name: n1\naddress: 10.0.0.12\nroles: [worker]"),
            "spec.hosts[1] (n1).name (line 9): \"n1\" is already used by spec.hosts[0] (n1)" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]", "name: n2\naddress: 10.0.0.11\nroles: [worker]"),
            "spec.hosts[1] (n2).address (line 10): \"10.0.0.11\" is already used by spec.hosts[0] (n1)" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [worker]"), "no host has the control-plane role" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]", "name: n2\naddress: 10.0.0.12\nroles: [control-plane]", "name: n3\naddress: 10.0.0.13\nroles: [control-plane]"),
            "spec.ha.vip (line 5): 3 control planes (n1, n2, n3) need a shared endpoint" },
        { Single("  ha:\n    vip: 10.0.0.11\n"), "spec.ha.vip (line 10): \"10.0.0.11\" is the address of spec.hosts[0] (node1)" },
        { Single("  ha:\n    vip: 10.0.0.10\n    port: 6443\n"), "spec.ha.port (line 11): 6443 clashes with the kube-apiserver" },
        { Single("  network:\n    podSubnet: 10.244.0.0/33\n"), "spec.network.podSubnet (line 10): \"10.244.0.0/33\" is not a CIDR" },
        { Single("  network:\n    podSubnet: 10.96.0.0/16\n"), "spec.network.podSubnet (line 10): \"10.96.0.0/16\" overlaps serviceSubnet" },
        { Single("  network:\n    cni: calico\n"), "spec.network.cni (line 10): unknown CNI \"calico\"" },
        { Single("  netwrok:\n    cni: flannel\n"), "spec.netwrok (line 9): unknown field \"netwrok\"; did you mean network?" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nrole: [control-plane]"), "spec.hosts[0] (n1).role (line 8): unknown field \"role\"; did you mean roles?" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [master]"), "spec.hosts[0] (n1).roles (line 8): unknown role \"master\"" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]\npasswordFrom: hunter2"), "spec.hosts[0] (n1).passwordFrom (line 9): must be a reference" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nport: ssh\nroles: [control-plane]"), "spec.hosts[0] (n1).port (line 8): must be a number" },
        { Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]\ntaints: [\"gpu:Sometimes\"]"), "spec.hosts[0] (n1).taints (line 9): \"gpu:Sometimes\" is not a taint" },
        { Head + Hosts("name: Node_1\naddress: 10.0.0.11\nroles: [control-plane]"), "spec.hosts[0] (Node_1).name (line 6): \"Node_1\" is not a valid node name" },
        { Single("  containerd:\n    version: latest\n"), "spec.containerd.version (line 10): \"latest\" is neither" },
        { Single("  mirror:\n    preset: aliyn\n"), "spec.mirror.preset (line 10): unknown preset \"aliyn\"; did you mean aliyun?" },
        { Single("  mirror:\n    osPackageRepository: ftp://10.0.0.1/debian\n    osPackageKey: k.asc\n"), "spec.mirror.osPackageRepository (line 10): \"ftp://10.0.0.1/debian\" is not an http(s) URL" },
        { Single("  mirror:\n    osPackageRepository: http://10.0.0.1/debian\n"), "spec.mirror.osPackageKey (line 10): osPackageRepository needs osPackageKey" },
        { Single("  mirror:\n    osPackageKey: k.asc\n"), "spec.mirror.osPackageRepository (line 10): osPackageKey without osPackageRepository" },
        { Single("  kubernetesVersion: v1.21.0\n").Replace("  kubernetesVersion: v1.30.6\n", ""), "spec.kubernetesVersion (line 8): Kubernetes version \"v1.21.0\" is not supported" },
        { "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n", "this is not a Kubeforge cluster file" },
        { Single("  kubeadm:\n    clusterConfiguration:\n      networking:\n        podSubnett: 10.0.0.0/8\n"), "unknown field \"podSubnett\"" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void ErrorsNameFieldPathAndHost(string text, string expected)
    {
        var e = Fails(text);
        Assert.Contains(expected, e.Message);
        Assert.All(e.Errors, line => Assert.StartsWith("cluster.yaml", line));
    }

    [Fact]
    public void AllErrorsAreReportedAtOnce()
    {
        var e = Fails(Head + Hosts("name: n1\naddress: 10.0.0.300\nroles: [control-plane]", "name: n2\naddress: x\nroles: [worker]"));
        Assert.Equal(2, e.Errors.Count);
    }

    [Fact]
    public void SecretIsNeverEchoed()
    {
        var e = Fails(Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]\npasswordFrom: S3cr3tPass"));
        Assert.DoesNotContain("S3cr3tPass", e.Message);
        var ok = ClusterFile.Parse(Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]\npasswordFrom: env:PW", "name: n2\naddress: 10.0.0.12\nroles: [worker]\npasswordFrom: file:/root/pw"), "c");
        Assert.Equal("env:PW", ok.Hosts[0].PasswordFrom);
    }

    [Fact]
    public void EvenControlPlanesWarn()
    {
        var f = ClusterFile.Parse(Head + Hosts("name: n1\naddress: 10.0.0.11\nroles: [control-plane]", "name: n2\naddress: 10.0.0.12\nroles: [control-plane]") + Ha, "c");
        Assert.Contains(f.Warnings, w => w.Contains("2 control planes") && w.Contains("odd number"));
    }

    [Fact]
    public void HaDefaults()
    {
        var f = ClusterFile.Parse(ThreePlusTwo(), "c");
        Assert.Equal(8443, f.Ha!.Port);
        Assert.Equal("haproxy", f.Ha.LoadBalancer);
        Assert.Equal(51, f.Ha.Keepalived.VirtualRouterId);
        Assert.Equal("10.0.0.10:8443", f.ControlPlaneEndpoint);
        Assert.Empty(f.Warnings);
    }

    public static TheoryData<string, string, string, string> LeaderElectionCases => new()
    {
        { "10s", "10s", "2s", "leaseDuration (10s) must be greater than renewDeadline (10s)" },
        { "15s", "2s", "2s", "renewDeadline (2s) must be greater than retryPeriod × 1.2 (2.4s)" },
        { "15s", "10s", "0s", "retryPeriod (0s) must be greater than zero" },
        { "15s", "10s", "abc", "\"abc\" is not a duration" },
    };

    [Theory]
    [MemberData(nameof(LeaderElectionCases))]
    public void LeaderElectionFollowsClientGo(string lease, string renew, string retry, string expected)
    {
        var e = Fails(Single($"  leaderElection:\n    leaseDuration: {lease}\n    renewDeadline: {renew}\n    retryPeriod: {retry}\n"));
        Assert.Contains(expected, e.Message);
        Assert.Contains("spec.leaderElection", e.Message);
    }

    [Fact]
    public void LeaderElectionBoundaryIsStrict()
    {
        // 1.2 × 2s = 2.4s: 2.4s is rejected, 2.5s accepted
        Fails(Single("  leaderElection:\n    renewDeadline: 2.4s\n"));
        var f = ClusterFile.Parse(Single("  leaderElection:\n    renewDeadline: 2.5s\n"), "c");
        Assert.Equal(TimeSpan.FromSeconds(2.5), f.LeaderElection.RenewDeadline);
        Assert.False(f.LeaderElection.IsDefault);
    }

    [Fact]
    public void DefaultClusterIsThisMachine()
    {
        var f = ClusterFile.Default(new NodeIdentity("VM-1", "192.168.1.5"));
        var h = Assert.Single(f.Hosts);
        Assert.Equal(("vm-1", "192.168.1.5", true), (h.Name, h.Address, h.Local));
        Assert.True(h.IsControlPlane && h.IsWorker);
        Assert.Null(f.Ha);
        Assert.Throws<Kubeforge.Phases.UserError>(() => ClusterFile.Default(new NodeIdentity("vm", null)));
    }

    [Fact]
    public void ExampleParsesAndValidates()
    {
        var f = ClusterFile.Parse(ClusterExample.Text, "example");
        Assert.Equal(3, f.ControlPlanes.Count());
        Assert.Equal(2, f.Workers.Count());
        Assert.Equal("registry.aliyuncs.com/google_containers", f.Mirror.ImageRepository);
        Assert.Equal("192.168.10.10:8443", f.ControlPlaneEndpoint);
        Assert.Equal("docker.io", Assert.Single(f.Mirror.RegistryMirrors).Registry);
        Assert.Equal("10.0.0.22", f.Host("worker2").ClusterAddress);
        Assert.Equal("dedicated=gpu:NoSchedule", Assert.Single(f.Host("worker2").Taints!).ToString());
        Assert.Empty(f.Warnings);
    }
}
