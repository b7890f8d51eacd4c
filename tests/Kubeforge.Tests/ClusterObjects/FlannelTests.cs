using System.Text.Json.Nodes;
using Kubeforge.Cli;
using Kubeforge.ClusterObjects;
using Kubeforge.Config;
using Kubeforge.Node;

namespace Kubeforge.Tests.ClusterObjects;

/// <summary>FlannelTests check the `--cni flannel` addon: renders per release, options, validation and the phase.</summary>
public sealed class FlannelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-cni-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string S(JsonNode? n) => n!.GetValue<string>();

    private static Kubeforge.Config.KubeadmConfig Cfg(string version, Action<Kubeforge.Config.KubeadmConfig>? tweak = null) =>
        TestEnv.Config(version, c =>
        {
            c.Cni.Plugin = CniConfig.Flannel;
            tweak?.Invoke(c);
        });

    private static JsonNode Pod(JsonObject ds) => ds["spec"]!["template"]!["spec"]!;

    [Fact]
    public void V1223RendersTheV0151ManifestInKubeSystem()
    {
        var cfg = Cfg("v1.22.3");
        var objs = Flannel.Objects(cfg);
        Assert.Equal(["ServiceAccount/flannel", "ClusterRole/flannel", "ClusterRoleBinding/flannel", "ConfigMap/kube-flannel-cfg", "DaemonSet/kube-flannel-ds"],
            objs.Select(o => $"{S(o["kind"])}/{o.Name()}"));
        Assert.All(objs.Where(o => S(o["kind"]) is not ("ClusterRole" or "ClusterRoleBinding")), o => Assert.Equal("kube-system", o.Namespace()));
        Assert.Equal("kube-system", S(objs[2]["subjects"]![0]!["namespace"]));
        var rules = objs[1]["rules"]!.AsArray();
        Assert.Equal("podsecuritypolicies", S(rules[0]!["resources"]![0]));
        Assert.Equal("""["list","watch"]""", rules[2]!["verbs"]!.ToJsonString());

        var netConf = S(objs[3]["data"]!["net-conf.json"]);
        Assert.Equal("{\n  \"Network\": \"10.244.0.0/16\",\n  \"Backend\": {\n    \"Type\": \"vxlan\"\n  }\n}\n", netConf);
        Assert.Equal("cbr0", JsonNode.Parse(S(objs[3]["data"]!["cni-conf.json"]))!["name"]!.GetValue<string>());

        var ds = objs[4];
        Assert.Equal("""{"app":"flannel"}""", ds["spec"]!["selector"]!["matchLabels"]!.ToJsonString());
        var pod = Pod(ds);
        Assert.Equal(["install-cni-plugin", "install-cni"], pod["initContainers"]!.AsArray().Select(c => S(c!["name"])));
        Assert.Equal("rancher/mirrored-flannelio-flannel-cni-plugin:v1.0.0", S(pod["initContainers"]![0]!["image"]));
        Assert.Equal("quay.io/coreos/flannel:v0.15.1", S(pod["initContainers"]![1]!["image"]));
        var c = pod["containers"]![0]!;
        Assert.Equal("quay.io/coreos/flannel:v0.15.1", S(c["image"]));
        Assert.Equal("""["--ip-masq","--kube-subnet-mgr"]""", c["args"]!.ToJsonString());
        Assert.Equal(["POD_NAME", "POD_NAMESPACE"], c["env"]!.AsArray().Select(e => S(e!["name"])));
        Assert.NotNull(c["resources"]!["limits"]);
        Assert.Equal(["run", "cni-plugin", "cni", "flannel-cfg"], pod["volumes"]!.AsArray().Select(v => S(v!["name"])));
    }

    [Fact]
    public void V1370RendersTheRecentManifestInItsOwnNamespace()
    {
        var cfg = Cfg("v1.37.0");
        var objs = Flannel.Objects(cfg);
        Assert.Equal(["Namespace/kube-flannel", "ServiceAccount/flannel", "ClusterRole/flannel", "ClusterRoleBinding/flannel", "ConfigMap/kube-flannel-cfg", "DaemonSet/kube-flannel-ds"],
            objs.Select(o => $"{S(o["kind"])}/{o.Name()}"));
        Assert.Equal("privileged", S(objs[0]["metadata"]!["labels"]!["pod-security.kubernetes.io/enforce"]));
        Assert.Equal("kube-flannel", objs[1].Namespace());
        Assert.Equal("kube-flannel", S(objs[3]["subjects"]![0]!["namespace"]));
        Assert.Equal(3, objs[2]["rules"]!.AsArray().Count);
        Assert.Equal("""["get","list","watch"]""", objs[2]["rules"]![1]!["verbs"]!.ToJsonString());
        Assert.Equal("{\n  \"Network\": \"10.244.0.0/16\",\n  \"EnableNFTables\": false,\n  \"Backend\": {\n    \"Type\": \"vxlan\"\n  }\n}\n",
            S(objs[4]["data"]!["net-conf.json"]));

        var ds = objs[5];
        Assert.Equal("kube-flannel", ds.Namespace());
        Assert.Equal("""{"app":"flannel","k8s-app":"flannel"}""", ds["spec"]!["selector"]!["matchLabels"]!.ToJsonString());
        var pod = Pod(ds);
        Assert.True(pod["hostNetwork"]!.GetValue<bool>());
        Assert.Equal("system-node-critical", S(pod["priorityClassName"]));
        Assert.Equal("""[{"operator":"Exists","effect":"NoSchedule"}]""", pod["tolerations"]!.ToJsonString());
        Assert.Equal("ghcr.io/flannel-io/flannel-cni-plugin:v1.6.2-flannel1", S(pod["initContainers"]![0]!["image"]));
        var c = pod["containers"]![0]!;
        Assert.Equal("ghcr.io/flannel-io/flannel:v0.26.7", S(c["image"]));
        Assert.Equal(["POD_NAME", "POD_NAMESPACE", "EVENT_QUEUE_DEPTH"], c["env"]!.AsArray().Select(e => S(e!["name"])));
        Assert.Equal("""["NET_ADMIN","NET_RAW"]""", c["securityContext"]!["capabilities"]!["add"]!.ToJsonString());
        Assert.Null(c["resources"]!["limits"]);
        Assert.Equal(["run", "cni-plugin", "cni", "flannel-cfg", "xtables-lock"], pod["volumes"]!.AsArray().Select(v => S(v!["name"])));
    }

    [Fact]
    public void OptionsChangeBackendInterfaceImagesAndNetwork()
    {
        var cfg = Cfg("v1.37.0", c =>
        {
            c.Cluster.Networking.PodSubnet = "10.10.0.0/16";
            c.Cni.Backend = "host-gw";
            c.Cni.Interface = "eth1";
            c.Cni.ImageRepository = "registry.example.com/mirror";
        });
        var netConf = JsonNode.Parse(Flannel.NetConf(cfg))!;
        Assert.Equal("10.10.0.0/16", S(netConf["Network"]));
        Assert.Equal("host-gw", S(netConf["Backend"]!["Type"]));
        var pod = Pod(Flannel.DaemonSet(cfg));
        Assert.Equal("""["--ip-masq","--kube-subnet-mgr","--iface=eth1"]""", pod["containers"]![0]!["args"]!.ToJsonString());
        Assert.Equal("registry.example.com/mirror/flannel:v0.26.7", S(pod["containers"]![0]!["image"]));
        Assert.Equal("registry.example.com/mirror/flannel-cni-plugin:v1.6.2-flannel1", S(pod["initContainers"]![0]!["image"]));
        Assert.Equal("registry.example.com/mirror/mirrored-flannelio-flannel-cni-plugin:v1.0.0",
            Flannel.CniPluginImage(Cfg("v1.22.3", c => c.Cni.ImageRepository = "registry.example.com/mirror")));
    }

    [Fact]
    public void DualStackPodSubnetEnablesIPv6()
    {
        var netConf = JsonNode.Parse(Flannel.NetConf(Cfg("v1.37.0", c => c.Cluster.Networking.PodSubnet = "10.244.0.0/16,fd00:10:244::/56")))!;
        Assert.Equal("10.244.0.0/16", S(netConf["Network"]));
        Assert.True(netConf["EnableIPv6"]!.GetValue<bool>());
        Assert.Equal("fd00:10:244::/56", S(netConf["IPv6Network"]));
        var v6Only = JsonNode.Parse(Flannel.NetConf(Cfg("v1.37.0", c => c.Cluster.Networking.PodSubnet = "fd00:10:244::/56")))!;
        Assert.False(v6Only["EnableIPv4"]!.GetValue<bool>());
        Assert.Null(v6Only["Network"]);
    }

    [Fact]
    public async Task PhaseAppliesOnceAndPrintsTheSummary()
    {
        var cfg = Cfg("v1.37.0");
        var api = new FakeKubeApi();
        var (ctx, ui, _) = TestEnv.Ctx(cfg);
        await CniPhase.RunAsync(ctx, api, CancellationToken.None);
        Assert.Contains("[addons] Applied CNI addon: flannel (vxlan, pod network 10.244.0.0/16)", ui.Lines);
        Assert.NotNull(api.Peek(ApiResource.DaemonSet, "kube-flannel", "kube-flannel-ds"));
        var writes = api.Writes.Count;
        await CniPhase.RunAsync(ctx, api, CancellationToken.None);
        Assert.Equal(writes, api.Writes.Count);
    }

    [Fact]
    public async Task PhaseDoesNothingWithoutCni()
    {
        var cfg = TestEnv.Config("v1.37.0");
        var api = new FakeKubeApi();
        var (ctx, ui, _) = TestEnv.Ctx(cfg);
        await CniPhase.RunAsync(ctx, api, CancellationToken.None);
        Assert.Empty(api.Writes);
        Assert.Empty(ui.Lines);
    }

    [Fact]
    public void CniFlagsMayBeCombinedWithConfig()
    {
        var text = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.22.3\nnetworking:\n  podSubnet: 10.244.0.0/16\n";
        var cfg = KubeadmConfigLoader.Load(text, "kubeadm.yaml",
            new InitFlags { Cni = "flannel", CniBackend = "host-gw", CniIface = "ens33", CniImageRepository = "mirror.local/flannel/" },
            new NodeIdentity("host1", "192.168.1.10", null));
        Assert.Equal("flannel", cfg.Cni.Plugin);
        Assert.Equal("host-gw", cfg.Cni.Backend);
        Assert.Equal("ens33", cfg.Cni.Interface);
        Assert.Equal("mirror.local/flannel", cfg.Cni.ImageRepository);
    }

    private (int Code, string Out, string Err) Init(params string[] extra)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run(["init", "--dry-run", "--rootfs", Path.Join(_dir, "root"), "--node-name", "cp1",
            "--apiserver-advertise-address", "192.168.10.100", "--kubernetes-version", "v1.37.0", .. extra], o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData(new[] { "--cni", "flannel" }, "--pod-network-cidr")]
    [InlineData(new[] { "--cni", "calico", "--pod-network-cidr", "10.244.0.0/16" }, "unknown plugin \"calico\"")]
    [InlineData(new[] { "--cni", "flannel", "--cni-backend", "wireguard", "--pod-network-cidr", "10.244.0.0/16" }, "unknown backend \"wireguard\"")]
    public void InvalidCniFlagsFailWithOneLine(string[] flags, string expected)
    {
        var (code, _, err) = Init(flags);
        Assert.Equal(1, code);
        var lines = err.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void CniPhaseIsAnAddonChild()
    {
        var o = new StringWriter();
        var code = App.Run(["init", "phase", "addon", "--help"], o, new StringWriter());
        Assert.Equal(0, code);
        Assert.Contains("cni", o.ToString());
    }
}
