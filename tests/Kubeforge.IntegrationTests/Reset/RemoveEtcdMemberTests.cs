using System.Net.Sockets;
using System.Runtime.InteropServices;
using Kubeforge.ControlPlane;
using Kubeforge.Hosts;
using Kubeforge.IntegrationTests.Etcd;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.Phases;
using Kubeforge.Pki;
using Kubeforge.Reset;

namespace Kubeforge.IntegrationTests.Reset;

/// <summary>RemoveEtcdMemberTests run a two-member etcd 3.4 cluster (one member per test network namespace, joined by a
/// veth pair with addresses only inside those namespaces) from the generated manifests and certificates, and check that
/// reset's remove-etcd-member removes exactly this node's member through etcd's JSON gateway.</summary>
public sealed class RemoveEtcdMemberTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-etcd-rm-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);

    private const int CloneNewNet = 0x40000000;

    /// <summary>InNamespace makes a handler whose sockets are created inside the named network namespace.</summary>
    internal static SocketsHttpHandler InNamespace(string ns) => new()
    {
        ConnectCallback = async (ctx, ct) =>
        {
            Socket s;
            using (var self = File.OpenHandle("/proc/thread-self/ns/net"))
            using (var target = File.OpenHandle($"/var/run/netns/{ns}"))
            {
                Assert.Equal(0, setns((int)target.DangerousGetHandle(), CloneNewNet));
                try
                {
                    s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                }
                finally
                {
                    Assert.Equal(0, setns((int)self.DangerousGetHandle(), CloneNewNet));
                }
            }
            await s.ConnectAsync(ctx.DnsEndPoint, ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    };

    private async Task<string> NodeAsync(string name, string address, string? etcdCaFrom)
    {
        var root = Path.Join(_root, name);
        if (etcdCaFrom is not null)
        {
            Directory.CreateDirectory(Path.Join(root, "etc/kubernetes/pki/etcd"));
            foreach (var f in new[] { "ca.crt", "ca.key" })
            {
                File.Copy(Path.Join(etcdCaFrom, "etc/kubernetes/pki/etcd", f), Path.Join(root, "etc/kubernetes/pki/etcd", f));
            }
        }
        var ctx = new PhaseContext { Config = EtcdFromManifestTests.Config("v1.22.3", name, address), Host = new LocalHost(root), Ui = new RecordingUi() };
        await CertsPhase.RunAsync(ctx, null);
        await EtcdPhase.RunLocalAsync(ctx);
        Directory.CreateDirectory(Path.Join(root, "var/lib/etcd"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return root;
    }

    private static string[] Argv(string root, string cluster) =>
        EtcdFromManifestTests.EtcdArgv(root).Select(a => a.StartsWith("--initial-cluster=", StringComparison.Ordinal) ? "--initial-cluster=" + cluster : a).ToArray();

    [Fact]
    public async Task RemovesOnlyThisNodesMemberAndEmptiesTheDataDir()
    {
        var a = await NodeAsync("node-a", "10.213.0.1", null);
        var b = await NodeAsync("node-b", "10.213.0.2", a);
        using var nsA = new NetNs("kfra");
        using var nsB = new NetNs("kfrb");
        Proc.MustRun("ip", "-n", nsA.Name, "link", "add", "kfva", "type", "veth", "peer", "name", "kfvb", "netns", nsB.Name);
        Proc.MustRun("ip", "-n", nsA.Name, "addr", "add", "10.213.0.1/24", "dev", "kfva");
        Proc.MustRun("ip", "-n", nsB.Name, "addr", "add", "10.213.0.2/24", "dev", "kfvb");
        Proc.MustRun("ip", "-n", nsA.Name, "link", "set", "kfva", "up");
        Proc.MustRun("ip", "-n", nsB.Name, "link", "set", "kfvb", "up");
        const string cluster = "node-a=https://10.213.0.1:2380,node-b=https://10.213.0.2:2380";
        nsA.StartIn(Path.Join(_root, "a.log"), Argv(a, cluster));
        nsB.StartIn(Path.Join(_root, "b.log"), Argv(b, cluster));
        var pkiB = Path.Join(b, "etc/kubernetes/pki");
        string[] ctlB = ["etcdctl", "--endpoints=https://127.0.0.1:2379", $"--cacert={pkiB}/etcd/ca.crt", $"--cert={pkiB}/apiserver-etcd-client.crt",
            $"--key={pkiB}/apiserver-etcd-client.key", "--dial-timeout=3s", "--command-timeout=5s"];
        var healthy = Proc.WaitUntil(() => nsB.Exec([.. ctlB, "endpoint", "health", "--cluster"]).Code == 0, TimeSpan.FromSeconds(40));
        Assert.True(healthy, "etcd cluster not healthy: " + File.ReadAllText(Path.Join(_root, "a.log")) + File.ReadAllText(Path.Join(_root, "b.log")));
        Assert.True(Directory.EnumerateFileSystemEntries(Path.Join(a, "var/lib/etcd")).Any());

        var ui = new RecordingUi();
        var ctx = new PhaseContext { Config = EtcdFromManifestTests.Config("v1.22.3", "node-a", "10.213.0.1"), Host = new LocalHost(a), Ui = ui };
        await ResetPhases.RemoveEtcdMemberAsync(ctx, new ResetOptions { Force = true, EtcdHandler = () => InNamespace(nsA.Name) }, CancellationToken.None);
        Assert.True(ui.Lines.Any(l => l.Contains("Removed etcd member \"node-a\"", StringComparison.Ordinal)), string.Join("\n", ui.Lines));
        Assert.Contains(ui.Lines, l => l == "[reset] Deleted contents of the etcd data directory: /var/lib/etcd");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Join(a, "var/lib/etcd")));

        var list = nsB.Exec([.. ctlB, "member", "list"]);
        Assert.Equal(0, list.Code);
        Assert.Contains("node-b", list.Output);
        Assert.DoesNotContain("node-a", list.Output);

        // now node-b is the only member: its removal is skipped, the data dir still emptied
        var uiB = new RecordingUi();
        var ctxB = new PhaseContext { Config = EtcdFromManifestTests.Config("v1.22.3", "node-b", "10.213.0.2"), Host = new LocalHost(b), Ui = uiB };
        await ResetPhases.RemoveEtcdMemberAsync(ctxB, new ResetOptions { Force = true, EtcdHandler = () => InNamespace(nsB.Name) }, CancellationToken.None);
        Assert.Contains(uiB.Lines, l => l.Contains("only remaining etcd member", StringComparison.Ordinal));
    }
}
