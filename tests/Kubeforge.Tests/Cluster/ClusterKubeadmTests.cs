using Kubeforge.Cluster;
using Kubeforge.Config;

namespace Kubeforge.Tests.Cluster;

/// <summary>ClusterKubeadmTests check the kubeadm configuration a cluster file gives each host.</summary>
public sealed class ClusterKubeadmTests
{
    private static string Arg(List<Arg> args, string name) => args.Single(a => a.Name == name).Value;

    [Fact]
    public void HaControlPlaneGetsVipEndpointAndSans()
    {
        var f = ClusterFile.Parse(ClusterExample.Text, "example");
        var cfg = f.ToKubeadmConfig(f.Host("master2"));
        Assert.Equal("192.168.10.10:8443", cfg.Cluster.ControlPlaneEndpoint);
        Assert.Contains("192.168.10.10", cfg.Cluster.ApiServer.CertSans);
        Assert.Contains("k8s.example.com", cfg.Cluster.ApiServer.CertSans);
        Assert.Equal("master2", cfg.NodeName);
        Assert.Equal("192.168.10.12", cfg.AdvertiseAddress);
        Assert.Equal(6443, cfg.BindPort);
        Assert.Equal("registry.aliyuncs.com/google_containers", cfg.ImageRepository);
        Assert.Equal("10.244.0.0/16", cfg.Cluster.Networking.PodSubnet);
        Assert.Equal("10.96.0.0/12", cfg.Cluster.Networking.ServiceSubnet);
        Assert.Null(cfg.Init.NodeRegistration.Taints); // default control-plane taint
        Assert.Equal("flannel", cfg.Cni.Plugin);
        Assert.Equal("eth0", cfg.Cni.Interface);
        Assert.Empty(cfg.Cluster.ControllerManager.ExtraArgs); // default leader election: no flags
    }

    [Fact]
    public void SingleNodeHasNoEndpointAndIsUntaintedWhenAlsoWorker()
    {
        var f = ClusterFile.Parse(ClusterFileTests.Head + ClusterFileTests.Hosts("name: node1\naddress: 10.0.0.11\nroles: [control-plane, worker]"), "c");
        var cfg = f.ToKubeadmConfig(f.Hosts[0]);
        Assert.Equal("", cfg.Cluster.ControlPlaneEndpoint);
        Assert.Empty(cfg.Cluster.ApiServer.CertSans);
        Assert.Equal("node1", cfg.NodeName);
        Assert.Equal("10.0.0.11", cfg.AdvertiseAddress);
        Assert.Equal("registry.k8s.io", cfg.ImageRepository);
        Assert.Equal("v1.30.6", cfg.Cluster.KubernetesVersion);
        Assert.NotNull(cfg.Init.NodeRegistration.Taints);
        Assert.Empty(cfg.Init.NodeRegistration.Taints!);
    }

    [Fact]
    public void DefaultClusterConfigIsTheLocalMachine()
    {
        var f = ClusterFile.Default(new Kubeforge.Node.NodeIdentity("box", "10.1.2.3"));
        var cfg = f.ToKubeadmConfig(f.Hosts[0]);
        Assert.Equal(("box", "10.1.2.3"), (cfg.NodeName, cfg.AdvertiseAddress));
        Assert.Equal(Kubeforge.Versions.VersionTable.Newest.DefaultVersion, cfg.Version);
    }

    [Theory]
    [InlineData("v1.30.6")] // v1beta3: extraArgs maps
    [InlineData("v1.31.2")] // v1beta4: extraArgs lists
    public void LeaderElectionFlagsWhenNotDefault(string version)
    {
        var f = ClusterFile.Parse(ClusterFileTests.Single("  leaderElection:\n    leaseDuration: 30s\n    renewDeadline: 20s\n    retryPeriod: 4s\n").Replace("v1.30.6", version), "c");
        var cfg = f.ToKubeadmConfig(f.Hosts[0]);
        foreach (var c in new[] { cfg.Cluster.ControllerManager, cfg.Cluster.Scheduler })
        {
            Assert.Equal("30s", Arg(c.ExtraArgs, "leader-elect-lease-duration"));
            Assert.Equal("20s", Arg(c.ExtraArgs, "leader-elect-renew-deadline"));
            Assert.Equal("4s", Arg(c.ExtraArgs, "leader-elect-retry-period"));
        }
    }

    [Fact]
    public void OverridesMergeAndNodeIpAndTaints()
    {
        var f = ClusterFile.Parse(ClusterFileTests.Head + ClusterFileTests.Hosts(
            "name: n1\naddress: 10.0.0.11\nnodeIp: 192.168.0.11\nroles: [control-plane]\ntaints: [\"a=b:NoExecute\"]") +
            "  kubeadm:\n    clusterConfiguration:\n      controllerManager:\n        extraArgs:\n          node-cidr-mask-size: \"25\"\n      etcd:\n        local:\n          dataDir: /data/etcd\n", "c");
        var cfg = f.ToKubeadmConfig(f.Hosts[0]);
        Assert.Equal("25", Arg(cfg.Cluster.ControllerManager.ExtraArgs, "node-cidr-mask-size"));
        Assert.Equal("/data/etcd", cfg.Cluster.Etcd.Local!.DataDir);
        Assert.Equal("192.168.0.11", cfg.AdvertiseAddress);
        Assert.Equal("192.168.0.11", Arg(cfg.Init.NodeRegistration.KubeletExtraArgs, "node-ip"));
        Assert.Equal("a=b:NoExecute", Assert.Single(cfg.Init.NodeRegistration.Taints!).ToString());
    }

    [Fact]
    public void KubeadmOverrideErrorsNameTheHostWithoutGeneratedLines()
    {
        var e = Assert.Throws<ConfigError>(() => ClusterFile.Parse(ClusterFileTests.Single("  kubeadm:\n    clusterConfiguration:\n      encryptionAlgorithm: RSA-1024\n").Replace("v1.30.6", "v1.31.2"), "cluster.yaml"));
        Assert.Contains("spec.hosts[0] (node1)", e.Message);
        Assert.Contains("encryptionAlgorithm", e.Message);
        Assert.DoesNotContain("(line", e.Message);
    }
}
