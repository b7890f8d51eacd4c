using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Tests.ClusterObjects;

public class PhaseTests
{
    private static readonly byte[] Ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"u8.ToArray();

    private static FakeKubeApi ApiWithNode()
    {
        var api = new FakeKubeApi();
        api.Put(ApiResource.Node, (JsonObject)JsonNode.Parse("""{"apiVersion":"v1","kind":"Node","metadata":{"name":"master1","labels":{"kubernetes.io/hostname":"master1"}}}""")!);
        return api;
    }

    private static async Task RunAll(PhaseContext ctx, IKubeApi api)
    {
        await UploadConfigPhase.RunAsync(ctx, api, "kind: ClusterConfiguration\n", "kind: KubeletConfiguration\n", default);
        await MarkControlPlanePhase.RunAsync(ctx, api, default);
        await BootstrapTokenPhase.RunAsync(ctx, api, "https://192.168.10.100:6443", Ca, default);
        await AddonPhase.RunAsync(ctx, api, default);
    }

    [Theory]
    [InlineData("v1.22.3")]
    [InlineData("v1.37.0")]
    public async Task SecondRunChangesNothingButTheTokenExpiry(string version)
    {
        var api = ApiWithNode();
        var (ctx, ui, time) = TestEnv.Ctx(TestEnv.Config(version));
        await RunAll(ctx, api);
        Assert.Contains("CREATE configmaps kubeadm-config", api.Writes);
        Assert.Contains("CREATE deployments coredns", api.Writes);
        Assert.Contains("CREATE daemonsets kube-proxy", api.Writes);
        Assert.Equal(2, api.Writes.Count(w => w == "PATCH nodes master1"));
        var node = api.Peek(ApiResource.Node, null, "master1")!;
        Assert.Equal(ctx.Config.Profile.DefaultCriSocket, node["metadata"]!["annotations"]!["kubeadm.alpha.kubernetes.io/cri-socket"]!.GetValue<string>());
        Assert.Equal(ctx.Config.Profile.ControlPlaneTaints[^1].Key, node["spec"]!["taints"]!.AsArray()[^1]!["key"]!.GetValue<string>());
        Assert.Equal("10.96.0.10", api.Peek(ApiResource.Service, "kube-system", "kube-dns")!["spec"]!["clusterIP"]!.GetValue<string>());

        api.Writes.Clear();
        await RunAll(ctx, api);
        Assert.Empty(api.Writes);

        api.Writes.Clear();
        time.Now += TimeSpan.FromMinutes(5);
        await RunAll(ctx, api);
        Assert.Equal(["UPDATE secrets bootstrap-token-abcdef"], api.Writes);
    }

    [Fact]
    public async Task PhaseLinesV122()
    {
        var (ctx, ui, _) = TestEnv.Ctx(TestEnv.Config("v1.22.3"));
        await RunAll(ctx, ApiWithNode());
        Assert.Equal(
        [
            "[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace",
            "[kubelet] Creating a ConfigMap \"kubelet-config-1.22\" in namespace kube-system with the configuration for the kubelets in the cluster",
            "[patchnode] Uploading the CRI Socket information \"/run/containerd/containerd.sock\" to the Node API object \"master1\" as an annotation",
            "[mark-control-plane] Marking the node master1 as control-plane by adding the labels: [node-role.kubernetes.io/master(deprecated) node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]",
            "[mark-control-plane] Marking the node master1 as control-plane by adding the taints [node-role.kubernetes.io/master:NoSchedule]",
            "[bootstrap-token] Using token: abcdef.0123456789abcdef",
            "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles",
            "[bootstrap-token] configured RBAC rules to allow Node Bootstrap tokens to get nodes",
            "[bootstrap-token] configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials",
            "[bootstrap-token] configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token",
            "[bootstrap-token] configured RBAC rules to allow certificate rotation for all node client certificates in the cluster",
            "[bootstrap-token] Creating the \"cluster-info\" ConfigMap in the \"kube-public\" namespace",
            "[addons] Applied essential addon: CoreDNS",
            "[addons] Applied essential addon: kube-proxy",
        ], ui.Lines);
        Assert.Single(ui.Lines, l => l.Contains("0123456789abcdef"));
    }

    [Fact]
    public async Task DryRunPrintsActionsAndWritesNothingReal()
    {
        var ui = new ListUi();
        var dry = new DryRunKubeApi(ui);
        var (ctx, _, _) = TestEnv.Ctx(TestEnv.Config("v1.37.0"), dryRun: true);
        await RunAll(ctx, dry);
        Assert.Contains("CREATE configmaps kube-system/kubelet-config", dry.Actions);
        Assert.Contains("PATCH nodes master1", dry.Actions);
        Assert.Contains(ui.Lines, l => l == "[dryrun] Would perform action CREATE on resource \"deployments\" in API group \"apps/v1\" (name \"coredns\", namespace \"kube-system\")");
        var before = dry.Actions.Count(a => !a.StartsWith("PATCH", StringComparison.Ordinal) && !a.Contains("bootstrap-token", StringComparison.Ordinal));
        dry.Actions.Clear();
        await RunAll(ctx, dry);
        Assert.True(before > 20);
        Assert.DoesNotContain(dry.Actions, a => a.StartsWith("CREATE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DisabledAddonsAreSkippedAndUserCorefileKept()
    {
        var api = ApiWithNode();
        var (ctx, ui, _) = TestEnv.Ctx(TestEnv.Config("v1.37.0", c => c.Cluster.ProxyDisabled = true));
        api.Put(ApiResource.ConfigMap, K8sObjects.ConfigMap("kube-system", "coredns", [new("Corefile", "custom")]));
        await AddonPhase.RunAsync(ctx, api, default);
        Assert.Equal("custom", api.Peek(ApiResource.ConfigMap, "kube-system", "coredns")!["data"]!["Corefile"]!.GetValue<string>());
        Assert.Null(api.Peek(ApiResource.DaemonSet, "kube-system", "kube-proxy"));
        ctx.Config.Cluster.Dns.Disabled = true;
        api.Writes.Clear();
        await AddonPhase.RunAsync(ctx, api, default);
        Assert.Empty(api.Writes);
    }

    [Fact]
    public async Task CoreDnsKeepsExistingReplicas()
    {
        var api = ApiWithNode();
        var (ctx, _, _) = TestEnv.Ctx(TestEnv.Config("v1.37.0"));
        api.Put(ApiResource.Deployment, CoreDns.Deployment(ctx.Config, replicas: 5));
        await AddonPhase.RunCoreDnsAsync(ctx, api, default);
        Assert.Equal(5, api.Peek(ApiResource.Deployment, "kube-system", "coredns")!["spec"]!["replicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task UploadCertsEncryptsFilesAndOwnsByProxyToken()
    {
        var root = Directory.CreateTempSubdirectory("kf-objects-");
        try
        {
            var host = new LocalHost(root.FullName);
            await host.WriteFileAsync("/etc/kubernetes/pki/ca.crt", "CA"u8.ToArray(), 0x1A4);
            var api = ApiWithNode();
            var (ctx, ui, _) = TestEnv.Ctx(TestEnv.Config("v1.22.3"), host: host);
            await UploadCertsPhase.RunAsync(ctx, api, b => [.. b, 0xFF], "9555b74008f2", skipCertificateKeyPrint: false, default);
            var secret = api.Peek(ApiResource.Secret, "kube-system", "kubeadm-certs")!;
            Assert.Equal(Convert.ToBase64String([(byte)'C', (byte)'A', 0xFF]), secret["data"]!["ca.crt"]!.GetValue<string>());
            Assert.Equal("", secret["data"]!["ca.key"]!.GetValue<string>());
            var owner = secret["metadata"]!["ownerReferences"]![0]!;
            var token = api.Peek(ApiResource.Secret, "kube-system", owner["name"]!.GetValue<string>())!;
            Assert.Equal(token["metadata"]!["uid"]!.GetValue<string>(), owner["uid"]!.GetValue<string>());
            Assert.Equal("2026-11-27T01:45:45Z", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token["data"]!["expiration"]!.GetValue<string>())));
            Assert.NotNull(api.Peek(ApiResource.RoleBinding, "kube-system", "kubeadm:kubeadm-certs"));
            Assert.Equal(["[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace", "[upload-certs] Using certificate key:", "9555b74008f2\n"], ui.Lines);
        }
        finally
        {
            root.Delete(true);
        }
    }

    [Fact]
    public async Task ClusterAdminsFallsBackToSuperAdminOnForbidden()
    {
        var admin = new FakeKubeApi { CreateHook = (_, _) => new ApiException(403, "Forbidden", "no") };
        var super = new FakeKubeApi();
        Assert.Equal("super-admin", await ClusterAdmins.EnsureAsync(admin, super, default));
        Assert.NotNull(super.Peek(ApiResource.ClusterRoleBinding, null, "kubeadm:cluster-admins"));
        var ok = new FakeKubeApi();
        Assert.Equal("admin", await ClusterAdmins.EnsureAsync(ok, super, default));
        Assert.Equal("exists", await ClusterAdmins.EnsureAsync(ok, super, default));
    }

    [Fact]
    public async Task ClusterInfoKeepsSignerKeysWhenUnchanged()
    {
        var api = ApiWithNode();
        await ClusterInfo.ApplyAsync(api, "https://h:6443", Ca, default);
        var cm = api.Peek(ApiResource.ConfigMap, "kube-public", "cluster-info")!;
        cm["data"]!["jws-kubeconfig-abcdef"] = "sig";
        api.Writes.Clear();
        await ClusterInfo.ApplyAsync(api, "https://h:6443", Ca, default);
        Assert.Empty(api.Writes);
        await ClusterInfo.ApplyAsync(api, "https://other:6443", Ca, default);
        Assert.Equal(["UPDATE configmaps cluster-info"], api.Writes);
    }

    [Fact]
    public async Task WaitControlPlaneSucceedsAndTimesOut()
    {
        var api = new FakeKubeApi();
        api.Raw.Enqueue((500, "[-]etcd failed\nhealthz check failed"));
        var (ctx, ui, _) = TestEnv.Ctx(TestEnv.Config("v1.37.0"));
        await WaitControlPlane.RunAsync(ctx, api, TimeSpan.FromMinutes(4));
        Assert.Equal("[api-check] Waiting for a healthy API server. This can take up to 4m0s", ui.Lines[0]);
        Assert.Equal("[api-check] The API server is healthy after 500ms", ui.Lines[^1]);

        for (var i = 0; i < 1000; i++)
        {
            api.Raw.Enqueue((503, "not ready"));
        }
        var e = await Assert.ThrowsAsync<UserError>(() => WaitControlPlane.RunAsync(ctx, api, TimeSpan.FromSeconds(20)));
        Assert.Contains("within 20s", e.Message);
        Assert.Contains("/livez answered 503: not ready", e.Message);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(240_000, "4m0s")]
    [InlineData(1_500, "1.5s")]
    [InlineData(3_723_000, "1h2m3s")]
    [InlineData(501, "501ms")]
    public void GoDuration(int ms, string expected) => Assert.Equal(expected, WaitControlPlane.GoDuration(TimeSpan.FromMilliseconds(ms)));
}
