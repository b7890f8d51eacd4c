using Kubeforge.IntegrationTests.Kit;
using System.Text.Json.Nodes;
using Kubeforge.TestApiServer;
using static Kubeforge.IntegrationTests.Init.InitAgainstTestApiServerTests;

namespace Kubeforge.IntegrationTests.Init;

/// <summary>FlannelAddonTests run "kubeforge init --cni flannel" on a --rootfs against the test API server and read
/// the flannel objects back; a rerun of the addon phases changes nothing.</summary>
public sealed class FlannelAddonTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-cni-it-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("v1.22.3", "kube-system")]
    [InlineData("v1.37.0", "kube-flannel")]
    public async Task InitWithFlannelCreatesItsObjectsOnce(string version, string ns)
    {
        await using var cp = await ControlPlaneNode.StartAsync(_root, version, "--pod-network-cidr", "10.30.0.0/16", "--cni", "flannel", "--cni-backend", "host-gw", "--cni-iface", "lo");
        var common = cp.Flags;
        var server = cp.Server;

        var (code, output, err) = InitAgainstTestApiServerTests.Cli(["init", .. common]);
        Assert.True(code == 0, err + output);
        Assert.Contains("[addons] Applied CNI addon: flannel (host-gw, pod network 10.30.0.0/16)", output);
        var store = server.Store;

        Assert.Equal(ns == "kube-flannel", store.Get("namespaces", null, "kube-flannel") is not null);
        Assert.NotNull(store.Get("serviceaccounts", ns, "flannel"));
        Assert.NotNull(store.Get("clusterroles", null, "flannel"));
        Assert.Equal(ns, store.Get("clusterrolebindings", null, "flannel")!["subjects"]![0]!["namespace"]!.GetValue<string>());
        var netConf = JsonNode.Parse(store.Get("configmaps", ns, "kube-flannel-cfg")!["data"]!["net-conf.json"]!.GetValue<string>())!;
        Assert.Equal("10.30.0.0/16", netConf["Network"]!.GetValue<string>());
        Assert.Equal("host-gw", netConf["Backend"]!["Type"]!.GetValue<string>());
        var ds = store.Get("daemonsets", ns, "kube-flannel-ds")!;
        Assert.Contains("--iface=lo", ds["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => a!.GetValue<string>()));

        // rerunning the addons (all of them, and cni alone) converges: nothing is written
        var before = store.ResourceVersion;
        foreach (var phase in new[] { new[] { "addon", "all" }, ["addon", "cni"] })
        {
            var again = InitAgainstTestApiServerTests.Cli(["init", "phase", .. phase, .. common]);
            Assert.True(again.Code == 0, again.Err);
            Assert.Contains("Applied CNI addon: flannel", again.Out);
        }
        Assert.Equal(before, store.ResourceVersion);

        // without --cni the phase is skipped and leaves the objects alone
        var none = InitAgainstTestApiServerTests.Cli(["init", "phase", "addon", "all", .. common[..^6]]);
        Assert.True(none.Code == 0, none.Err);
        Assert.DoesNotContain("CNI addon", none.Out);
        Assert.Equal(before, store.ResourceVersion);
    }
}
