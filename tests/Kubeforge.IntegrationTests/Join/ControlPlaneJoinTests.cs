using System.Diagnostics;
using System.Text.Json.Nodes;
using Kubeforge.IntegrationTests.Etcd;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.Yaml;
using Xunit.Abstractions;

namespace Kubeforge.IntegrationTests.Join;

/// <summary>TestBridge is a Linux bridge the test creates in the root namespace (address .1 of a test /24) with one
/// network namespace per test host attached by a veth pair. Everything is deleted on dispose (processes first, by PID).</summary>
public sealed class TestBridge : IDisposable
{
    private readonly List<NetNs> _hosts = [];
    private readonly List<string> _links = [];
    private readonly string _tag = $"{Environment.ProcessId % 1000}{Random.Shared.Next(100, 999)}";

    public TestBridge(string prefix24)
    {
        Prefix = prefix24;
        Name = "kfbr" + _tag;
        Proc.MustRun("ip", "link", "add", Name, "type", "bridge");
        Proc.MustRun("ip", "addr", "add", $"{prefix24}.1/24", "dev", Name);
        Proc.MustRun("ip", "link", "set", Name, "up");
    }

    public string Name { get; }
    public string Prefix { get; }
    public string RootAddress => Prefix + ".1";

    /// <summary>AddHost creates a namespace with eth0 = PREFIX.hostId/24 on the bridge.</summary>
    public NetNs AddHost(int hostId)
    {
        var ns = new NetNs("kfj");
        _hosts.Add(ns);
        string hostSide = $"kfv{hostId}h{_tag}", nsSide = $"kfv{hostId}n{_tag}";
        Proc.MustRun("ip", "link", "add", hostSide, "type", "veth", "peer", "name", nsSide);
        _links.Add(hostSide);
        Proc.MustRun("ip", "link", "set", nsSide, "netns", ns.Name);
        Proc.MustRun("ip", "-n", ns.Name, "link", "set", nsSide, "name", "eth0");
        Proc.MustRun("ip", "-n", ns.Name, "addr", "add", $"{Prefix}.{hostId}/24", "dev", "eth0");
        Proc.MustRun("ip", "-n", ns.Name, "link", "set", "eth0", "up");
        Proc.MustRun("ip", "link", "set", hostSide, "master", Name);
        Proc.MustRun("ip", "link", "set", hostSide, "up");
        return ns;
    }

    public void Dispose()
    {
        // stop followers first: the last namespace's etcd is most likely not the leader
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            _hosts[i].Dispose();
        }
        foreach (var link in _links)
        {
            // normally gone with its namespace; the kernel may still be tearing the namespace down
            if (Proc.Run("ip", "link", "show", link).Code == 0)
            {
                Proc.Run("ip", "link", "del", link);
            }
        }
        Proc.Run("ip", "link", "del", Name);
    }
}

/// <summary>ControlPlaneJoinTests build a three-member stacked-etcd control plane: cp1 runs "kubeforge init --upload-certs",
/// cp2 and cp3 paste the printed control-plane join command; each etcd is the real etcd 3.4 started from the node's
/// generated etcd.yaml in its own network namespace on a test bridge, and the join code (in this process) adds the members
/// through etcd's v3 JSON gateway (as learners, then promoted, on v1.29).</summary>
public sealed class ControlPlaneJoinTests(ITestOutputHelper log)
{
    private const string Prefix = "10.213.99";

    private static JsonObject MirrorPod(string rootfs, string node)
    {
        var pod = (YMap)YamlReader.Read(File.ReadAllText(Path.Join(rootfs, "etc/kubernetes/manifests/etcd.yaml")), "etcd.yaml");
        var url = pod.Map("metadata")!.Map("annotations")!.Str("kubeadm.kubernetes.io/etcd.advertise-client-urls")!;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = "etcd-" + node,
                ["namespace"] = "kube-system",
                ["labels"] = new JsonObject { ["component"] = "etcd", ["tier"] = "control-plane" },
                ["annotations"] = new JsonObject { ["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = url },
            },
            ["spec"] = new JsonObject { ["nodeName"] = node, ["containers"] = new JsonArray(new JsonObject { ["name"] = "etcd", ["image"] = "etcd" }) },
        };
    }

    private static System.Diagnostics.Process StartEtcd(NetNs ns, string rootfs)
    {
        Directory.CreateDirectory(Path.Join(rootfs, "var/lib/etcd"));
        return ns.StartIn(Path.Join(rootfs, "etcd.log"), EtcdFromManifestTests.EtcdArgv(rootfs));
    }

    private static string[] Ctl(string pki, string endpoints, params string[] args) =>
        ["etcdctl", $"--endpoints={endpoints}", $"--cacert={pki}/etcd/ca.crt", $"--cert={pki}/etcd/healthcheck-client.crt",
            $"--key={pki}/etcd/healthcheck-client.key", "--dial-timeout=3s", "--command-timeout=10s", .. args];

    [Theory]
    [InlineData("v1.29.0", true)]
    [InlineData("v1.22.3", false)]
    public async Task ThreeControlPlanesFormAHealthyStackedEtcdCluster(string version, bool learner)
    {
        using var net = new TestBridge(Prefix);
        var ns = new[] { net.AddHost(11), net.AddHost(12), net.AddHost(13) };
        await using var cluster = await JoinCluster.StartAsync(version, cp1Address: $"{Prefix}.11", apiAddress: net.RootAddress);
        StartEtcd(ns[0], cluster.Cp1);
        var pki1 = Path.Join(cluster.Pki);
        Assert.True(Proc.WaitUntil(() => ns[0].Exec(Ctl(pki1, "https://127.0.0.1:2379", "endpoint", "health")).Code == 0, TimeSpan.FromSeconds(30)),
            "etcd on cp1 did not become healthy: " + File.ReadAllText(Path.Join(cluster.Cp1, "etcd.log")));
        cluster.Server.Store.Put(MirrorPod(cluster.Cp1, "cp1"));
        var args = JoinCluster.Paste(cluster.ControlPlaneCommand);
        Assert.Contains("--control-plane", args);
        Assert.Contains("--certificate-key", args);

        for (var i = 2; i <= 3; i++)
        {
            var name = $"cp{i}";
            var rootfs = cluster.NewNode(name);
            cluster.PutNode(name);
            var kubelet = new KubeletStandIn(rootfs, name);
            var standIn = Task.Run(() => kubelet.RunAsync(TimeSpan.FromSeconds(120)));
            var etcdNs = ns[i - 1];
            // the kubelet would start etcd as soon as its manifest appears
            var starter = Task.Run(() =>
            {
                var manifest = Path.Join(rootfs, "etc/kubernetes/manifests/etcd.yaml");
                return Proc.WaitUntil(() => File.Exists(manifest), TimeSpan.FromSeconds(120)) ? StartEtcd(etcdNs, rootfs) : null;
            });
            var sw = Stopwatch.StartNew();
            var join = await Task.Run(() => JoinCluster.Run([.. args, "--rootfs", rootfs, "--node-name", name, "--apiserver-advertise-address", $"{Prefix}.{i + 10}"],
                JoinCluster.Env(tlsBootstrapTimeout: TimeSpan.FromSeconds(60))));
            log.WriteLine($"control-plane join {version} {name}: {sw.ElapsedMilliseconds} ms");
            Assert.True(join.Code == 0, join.Err + join.Out + (File.Exists(Path.Join(rootfs, "etcd.log")) ? File.ReadAllText(Path.Join(rootfs, "etcd.log")) : ""));
            Assert.True(await standIn);
            Assert.NotNull(await starter);
            Assert.Contains("a new control plane instance was created", join.Out);
            Assert.Equal(learner, join.Out.Contains("as learner", StringComparison.Ordinal));
            Assert.Equal(learner, join.Out.Contains("Promoted etcd member", StringComparison.Ordinal));

            // the node's files: shared CAs from kubeadm-certs, own leaf certs, three kubeconfigs, four manifests
            foreach (var f in new[] { "ca.key", "sa.key", "front-proxy-ca.key", "etcd/ca.key" })
            {
                Assert.Equal(File.ReadAllBytes(Path.Join(cluster.Pki, f)), File.ReadAllBytes(Path.Join(rootfs, "etc/kubernetes/pki", f)));
            }
            Assert.NotEqual(File.ReadAllBytes(Path.Join(cluster.Pki, "apiserver.crt")), File.ReadAllBytes(Path.Join(rootfs, "etc/kubernetes/pki/apiserver.crt")));
            foreach (var conf in new[] { "admin.conf", "controller-manager.conf", "scheduler.conf" })
            {
                Assert.True(File.Exists(Path.Join(rootfs, "etc/kubernetes", conf)), conf);
            }
            Assert.False(File.Exists(Path.Join(rootfs, "etc/kubernetes/super-admin.conf")));
            Assert.True(File.Exists(Path.Join(rootfs, "etc/kubernetes/kubelet.conf"))); // written by the TLS bootstrap, not by join
            foreach (var m in new[] { "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd" })
            {
                Assert.True(File.Exists(Path.Join(rootfs, $"etc/kubernetes/manifests/{m}.yaml")), m);
            }
            var etcdArgs = EtcdFromManifestTests.EtcdArgv(rootfs);
            Assert.Contains("--initial-cluster-state=existing", etcdArgs);
            Assert.Contains(etcdArgs, a => a.StartsWith("--initial-cluster=", StringComparison.Ordinal) && a.Contains($"{name}=https://{Prefix}.{i + 10}:2380", StringComparison.Ordinal)
                && a.Contains($"cp1=https://{Prefix}.11:2380", StringComparison.Ordinal));

            // mark-control-plane went through the new admin.conf
            var node = cluster.Server.Store.Get("nodes", null, name)!;
            Assert.True(node["metadata"]!["labels"]!.AsObject().ContainsKey("node-role.kubernetes.io/control-plane"));
            cluster.Server.Store.Put(MirrorPod(rootfs, name));
        }

        var endpoints = string.Join(',', Enumerable.Range(11, 3).Select(h => $"https://{Prefix}.{h}:2379"));
        var list = ns[0].Exec(Ctl(pki1, endpoints, "member", "list"));
        Assert.True(list.Code == 0, list.Output);
        var members = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        log.WriteLine(list.Output);
        Assert.Equal(3, members.Length);
        Assert.All(members, m => Assert.Contains(", started, ", m));
        Assert.All(members, m => Assert.EndsWith(", false", m.Trim()));
        foreach (var name in new[] { "cp1", "cp2", "cp3" })
        {
            Assert.Contains(members, m => m.Contains($", {name}, ", StringComparison.Ordinal));
        }
        var health = ns[0].Exec(Ctl(pki1, endpoints, "endpoint", "health", "--cluster"));
        log.WriteLine(health.Output);
        Assert.True(health.Code == 0, health.Output);
        Assert.Equal(3, health.Output.Split('\n').Count(l => l.Contains("is healthy", StringComparison.Ordinal)));
    }
}
