using Kubeforge.LabNode;

namespace Kubeforge.Tests.LabNode;

public class LabNodeTests
{
    private const string Self = "/opt/kubeforge-standins/kubeforge-labnode";

    private static readonly IReadOnlySet<string> Etcd34 = PodMapper.ParseEtcdHelp("""
        Member:
          --name 'default'
            Human-readable name for this member.
          --data-dir '${name}.etcd'
          --listen-metrics-urls ''
          --experimental-initial-corrupt-check 'false'
          --experimental-watch-progress-notify-interval '10m'
          --cert-file ''
        """);

    private static string Manifest(string name, string image, params string[] command) => $"""
        apiVersion: v1
        kind: Pod
        metadata:
          creationTimestamp: null
          labels:
            component: {name}
          name: {name}
          namespace: kube-system
        spec:
          containers:
          - command:
        {string.Join("\n", command.Select(c => "    - " + c))}
            image: {image}
            name: {name}
          hostNetwork: true
        status: {"{}"}

        """;

    [Fact]
    public void Flags_ParseEqualsSpaceAndBareForms()
    {
        var f = Flags.Parse(["--config=/var/lib/kubelet/config.yaml", "--node-ip", "10.0.0.5", "--leader-elect", "--v=2", "word", "--x=a=b"]);
        Assert.Equal("/var/lib/kubelet/config.yaml", f["config"]);
        Assert.Equal("10.0.0.5", f["node-ip"]);
        Assert.Equal("true", f["leader-elect"]);
        Assert.Equal("a=b", f["x"]);
        Assert.False(f.ContainsKey("word"));
        Assert.False(Flags.Bool(Flags.Parse(["--leader-elect=false"]), "leader-elect", true));
        Assert.True(Flags.Bool(f, "absent", true));
        Assert.Throws<ArgumentException>(() => Flags.Bool(Flags.Parse(["--leader-elect=maybe"]), "leader-elect", true));
        Assert.Equal(10259, Flags.Int(f, "secure-port", 10259));
    }

    [Fact]
    public void EtcdHelp_ListsFlagNames()
    {
        Assert.Contains("experimental-initial-corrupt-check", Etcd34);
        Assert.Contains("name", Etcd34);
        Assert.DoesNotContain("feature-gates", Etcd34);
        Assert.Equal(6, Etcd34.Count);
    }

    [Fact]
    public void EtcdManifest_RunsUsrBinEtcdAndDropsUnknownFlags()
    {
        var plan = PodMapper.Map(Manifest("etcd", "registry.k8s.io/etcd:3.5.10-0", "etcd", "--name=h1", "--data-dir=/var/lib/etcd",
            "--feature-gates=InitialCorruptCheck=true", "--watch-progress-notify-interval=5s", "--experimental-initial-corrupt-check=true"),
            "etcd.yaml", Self, Etcd34);
        Assert.Equal("etcd", plan.Name);
        Assert.Equal(["/usr/bin/etcd", "--name=h1", "--data-dir=/var/lib/etcd", "--experimental-initial-corrupt-check=true"], plan.Argv);
        Assert.Equal(["--feature-gates=InitialCorruptCheck=true", "--watch-progress-notify-interval=5s"], plan.Dropped);
    }

    [Fact]
    public void ControlPlaneManifests_RunTheStandInSubcommandWithTheSameFlags()
    {
        var api = PodMapper.Map(Manifest("kube-apiserver", "registry.k8s.io/kube-apiserver:v1.29.4", "kube-apiserver", "--secure-port=6443", "--client-ca-file=/etc/kubernetes/pki/ca.crt"),
            "kube-apiserver.yaml", Self, null);
        Assert.Equal([Self, "kube-apiserver", "--secure-port=6443", "--client-ca-file=/etc/kubernetes/pki/ca.crt", "--test-git-version=v1.29.4"], api.Argv);
        var sched = PodMapper.Map(Manifest("kube-scheduler", "registry.k8s.io/kube-scheduler:v1.29.4", "kube-scheduler", "--leader-elect=true"),
            "kube-scheduler.yaml", Self, Etcd34);
        Assert.Equal([Self, "kube-scheduler", "--leader-elect=true"], sched.Argv);
        Assert.Empty(sched.Dropped);
    }

    [Fact]
    public void Map_HashFollowsContent_AndRejectsUnknownCommands()
    {
        var a = PodMapper.Map(Manifest("kube-scheduler", "i:v1", "kube-scheduler", "--v=1"), "s.yaml", Self, null);
        var b = PodMapper.Map(Manifest("kube-scheduler", "i:v1", "kube-scheduler", "--v=2"), "s.yaml", Self, null);
        Assert.NotEqual(a.Hash, b.Hash);
        Assert.Equal(a.Hash, PodMapper.Map(Manifest("kube-scheduler", "i:v1", "kube-scheduler", "--v=1"), "s.yaml", Self, null).Hash);
        var e = Assert.Throws<FormatException>(() => PodMapper.Map(Manifest("nginx", "nginx:1", "nginx"), "nginx.yaml", Self, null));
        Assert.Contains("nginx.yaml", e.Message);
        Assert.Throws<FormatException>(() => PodMapper.Map("kind: Deployment\nmetadata: {name: x}\n", "d.yaml", Self, null));
    }

    [Theory]
    [InlineData("registry.k8s.io/kube-apiserver:v1.29.4", "v1.29.4")]
    [InlineData("localhost:5000/kube-apiserver", null)]
    [InlineData("localhost:5000/kube-apiserver:v1.30.0@sha256:abc", "v1.30.0")]
    public void ImageTag_IgnoresRegistryPort(string image, string? tag) => Assert.Equal(tag, PodMapper.ImageTag(image));

    [Fact]
    public void ApiServerArgs_DefaultBindAndSignerFromTheClientCaFolder()
    {
        var args = Components.ApiServerArgs(["--client-ca-file=/etc/kubernetes/pki/ca.crt", "--secure-port=6443"], _ => true);
        Assert.Contains("--bind-address=0.0.0.0", args);
        Assert.Contains("--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt", args);
        Assert.Contains("--cluster-signing-key-file=/etc/kubernetes/pki/ca.key", args);
        var noKey = Components.ApiServerArgs(["--client-ca-file=/pki/ca.crt", "--bind-address=10.0.0.1"], p => !p.EndsWith(".key"));
        Assert.DoesNotContain(noKey, a => a.StartsWith("--cluster-signing", StringComparison.Ordinal));
        Assert.DoesNotContain("--bind-address=0.0.0.0", noKey);
    }

    [Fact]
    public void KubeletConfig_ReadsStaticPodPathAndHealthz()
    {
        var c = KubeletConfig.Parse("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /etc/kubernetes/manifests\nhealthzBindAddress: 127.0.0.1\nhealthzPort: 10248\n", "config.yaml");
        Assert.Equal(new KubeletConfig("/etc/kubernetes/manifests", "127.0.0.1", 10248), c);
        Assert.Equal(10248, KubeletConfig.Parse("kind: KubeletConfiguration\n", "c").HealthzPort);
    }

    [Fact]
    public void NodeStatus_ReadyOnlyWithCni_KeepsTransitionTime()
    {
        var t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
        var node = NodeObjects.Node("h2", "10.98.1.12", NodeObjects.Taints("node-role.kubernetes.io/control-plane:NoSchedule,a=b:NoExecute"), "v1.29.0", false, t0);
        Assert.Equal("h2", (string?)node["metadata"]!["labels"]!["kubernetes.io/hostname"]);
        Assert.Equal("b", (string?)node["spec"]!["taints"]![1]!["value"]);
        var ready = node["status"]!["conditions"]!.AsArray().Single(c => (string?)c!["type"] == "Ready")!;
        Assert.Equal("False", (string?)ready["status"]);
        Assert.Equal("KubeletNotReady", (string?)ready["reason"]);
        Assert.Contains("network plugin not ready", (string?)ready["message"]);
        var later = NodeObjects.Status(node["status"]!.AsObject(), "h2", "10.98.1.12", "v1.29.0", false, t0.AddSeconds(10));
        var same = later["conditions"]!.AsArray().Single(c => (string?)c!["type"] == "Ready")!;
        Assert.Equal("2026-01-01T00:00:00Z", (string?)same["lastTransitionTime"]);
        var nowReady = NodeObjects.Status(later, "h2", "10.98.1.12", "v1.29.0", true, t0.AddSeconds(20))["conditions"]!.AsArray()
            .Single(c => (string?)c!["type"] == "Ready")!;
        Assert.Equal("True", (string?)nowReady["status"]);
        Assert.Equal("2026-01-01T00:00:20Z", (string?)nowReady["lastTransitionTime"]);
        Assert.Throws<ArgumentException>(() => NodeObjects.Taints("novalue"));
    }
}
