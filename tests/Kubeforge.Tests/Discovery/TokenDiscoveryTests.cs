using Kubeforge.Cli;
using Kubeforge.ClusterObjects;
using Kubeforge.Discovery;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Tests.Discovery;

/// <summary>TokenDiscoveryTests check the pure parts of discovery and the join phase tree / command line.</summary>
public sealed class TokenDiscoveryTests
{
    [Fact]
    public void ClusterInfoKubeconfigParsesBack()
    {
        var ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        var (server, caPem) = TokenDiscovery.ParseClusterInfo(ClusterInfo.Kubeconfig("https://10.0.0.1:6443", System.Text.Encoding.UTF8.GetBytes(ca)));
        Assert.Equal("https://10.0.0.1:6443", server);
        Assert.Equal(ca, caPem);
        Assert.Equal(("abcdef", "0123456789abcdef"), TokenDiscovery.SplitToken("abcdef.0123456789abcdef"));
    }

    [Fact]
    public void JoinTreeHasKubeadmsPhases()
    {
        var paths = new WorkflowRunner(JoinWorkflow.Phases(VersionTable.Newest)).Flatten().Where(p => !p.Phase.RunAllSiblings).Select(p => p.Path).ToList();
        Assert.Equal(
        [
            "preflight", "control-plane-prepare", "control-plane-prepare/download-certs", "control-plane-prepare/certs",
            "control-plane-prepare/kubeconfig", "control-plane-prepare/control-plane", "kubelet-start", "control-plane-join",
            "control-plane-join/etcd", "control-plane-join/update-status", "control-plane-join/mark-control-plane",
        ], paths);
        Assert.Equal(["admin", "controller-manager", "scheduler"], JoinWorkflow.JoinKubeconfigs);
    }

    [Fact]
    public void JoinHelpListsPhasesAndFlags()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(0, App.Run(["join", "--help"], o, e));
        foreach (var s in new[] { "control-plane-prepare", "/download-certs", "--discovery-token-ca-cert-hash", "--certificate-key", "--discovery-token-unsafe-skip-ca-verification", "--tls-bootstrap-token" })
        {
            Assert.Contains(s, o.ToString());
        }
        Assert.Equal(0, App.Run(["join", "phase", "control-plane-join", "etcd", "--help"], o, e));
    }

    [Fact]
    public void MissingTokenIsAUserError()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(1, App.Run(["join", "10.0.0.1:6443", "--rootfs", Path.GetTempPath()], o, e));
        Assert.Contains("neither a bootstrap token", e.ToString());
    }
}
