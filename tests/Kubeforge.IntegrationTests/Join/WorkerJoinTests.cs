using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.TestApiServer;
using Xunit.Abstractions;

namespace Kubeforge.IntegrationTests.Join;

/// <summary>WorkerJoinTests paste the worker join command printed by "kubeforge init" (program name replaced) on a second
/// rootfs against the test API server, with a kubelet stand-in doing the TLS bootstrap; and check that every failure is one
/// clear line, exit code 1, and leaves the node rootfs empty.</summary>
public sealed class WorkerJoinTests(ITestOutputHelper log)
{
    private static string Data(JsonObject cm, string key) => cm["data"]![key]!.GetValue<string>();

    [Theory]
    [InlineData("v1.37.0")]
    [InlineData("v1.22.3")]
    public async Task PastedWorkerCommandJoinsWithTlsBootstrap(string version)
    {
        await using var cluster = await JoinCluster.StartAsync(version);
        var node = cluster.NewNode("w1");
        Directory.CreateDirectory(Path.Join(node, "etc"));
        File.WriteAllText(Path.Join(node, "etc/hostname"), "worker-os\n");
        var args = JoinCluster.Paste(cluster.WorkerCommand);
        var token = args[Array.IndexOf(args, "--token") + 1];

        var kubelet = new KubeletStandIn(node, "w1");
        var sw = Stopwatch.StartNew();
        var standIn = Task.Run(() => kubelet.RunAsync(TimeSpan.FromSeconds(60)));
        var join = await Task.Run(() => JoinCluster.Run([.. args, "--rootfs", node, "--node-name", "w1"], JoinCluster.Env()));
        log.WriteLine($"worker join {version}: {sw.ElapsedMilliseconds} ms");
        Assert.True(join.Code == 0, join.Err + join.Out);
        Assert.True(await standIn);
        Assert.Contains("This node has joined the cluster:", join.Out);
        Assert.Contains("Cluster info signature and contents are valid", join.Out);

        // ca.crt equals the cluster CA
        Assert.Equal(File.ReadAllText(Path.Join(cluster.Pki, "ca.crt")).Trim(), JoinCluster.NodeFile(node, "/etc/kubernetes/pki/ca.crt").Trim());
        Assert.Equal(0x1A4, JoinCluster.FileModeOf(node, "/etc/kubernetes/pki/ca.crt"));

        // bootstrap-kubelet.conf (§5.3): token user, cluster "kubernetes", server of cluster-info, CA data
        var bootstrap = Encoding.UTF8.GetString(kubelet.BootstrapKubeconfig!);
        Assert.Contains("name: tls-bootstrap-token-user", bootstrap);
        Assert.Contains($"token: {token}", bootstrap);
        Assert.Contains("current-context: tls-bootstrap-token-user@kubernetes", bootstrap);
        Assert.Contains($"server: https://127.0.0.1:{cluster.Port}", bootstrap);
        Assert.Contains("certificate-authority-data: " + Convert.ToBase64String(File.ReadAllBytes(Path.Join(cluster.Pki, "ca.crt"))), bootstrap);
        Assert.Equal(0x180, JoinCluster.FileModeOf(node, "/etc/kubernetes/bootstrap-kubelet.conf"));

        // config.yaml is the ConfigMap's content; kubeadm-flags.env names the node and carries no taints for a worker
        var cmName = version == "v1.22.3" ? "kubelet-config-1.22" : "kubelet-config";
        var cm = cluster.Server.Store.Get("configmaps", "kube-system", cmName)!;
        Assert.Equal(Data(cm, "kubelet"), JoinCluster.NodeFile(node, "/var/lib/kubelet/config.yaml"));
        var flags = JoinCluster.NodeFile(node, "/var/lib/kubelet/kubeadm-flags.env");
        Assert.StartsWith("KUBELET_KUBEADM_ARGS=\"", flags);
        Assert.Contains("--container-runtime-endpoint=", flags);
        Assert.Contains("--hostname-override=w1", flags);
        Assert.DoesNotContain("register-with-taints", flags);

        // the TLS bootstrap happened: kubelet.conf and a client certificate of system:node:w1 signed by the cluster CA
        Assert.True(File.Exists(Path.Join(node, "etc/kubernetes/kubelet.conf")));
        using var issued = X509Certificate2.CreateFromPem(kubelet.IssuedCertPem!);
        Assert.Equal("system:node:w1", issued.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Contains("O=system:nodes", issued.Subject);
        Assert.Equal(X509CertificateLoader.LoadCertificateFromFile(Path.Join(cluster.Pki, "ca.crt")).Subject, issued.Issuer);

        // a worker join writes no control-plane files
        Assert.False(Directory.Exists(Path.Join(node, "etc/kubernetes/manifests")));
        Assert.Equal("worker-os\n", File.ReadAllText(Path.Join(node, "etc/hostname")));
        Assert.False(File.Exists(Path.Join(node, "etc/kubernetes/admin.conf")));
    }

    [Fact]
    public async Task FailuresAreOneLineAndLeaveTheNodeEmpty()
    {
        await using var cluster = await JoinCluster.StartAsync("v1.37.0");
        var worker = JoinCluster.Paste(cluster.WorkerCommand);
        var cp = JoinCluster.Paste(cluster.ControlPlaneCommand);
        var token = worker[Array.IndexOf(worker, "--token") + 1];
        var realHash = worker[Array.IndexOf(worker, "--discovery-token-ca-cert-hash") + 1];
        var n = 0;

        void Fails(string[] args, string[] expected, string[]? absent = null, Kubeforge.Cli.CliEnvironment? env = null)
        {
            var node = cluster.NewNode($"bad{++n}");
            var sw = Stopwatch.StartNew();
            var r = JoinCluster.Run([.. args, "--rootfs", node, "--node-name", $"bad{n}"], env ?? JoinCluster.Env());
            log.WriteLine($"case {n}: {sw.ElapsedMilliseconds} ms: {r.Err.Trim()}");
            Assert.True(r.Code == 1, $"case {n}: exit {r.Code}: {r.Err}{r.Out}");
            var line = r.Err.Trim();
            Assert.DoesNotContain('\n', line);
            foreach (var e in expected)
            {
                Assert.Contains(e, line);
            }
            foreach (var a in absent ?? [])
            {
                Assert.DoesNotContain(a, r.Err + r.Out);
            }
            Assert.Empty(Directory.EnumerateFileSystemEntries(node));
        }

        // wrong CA hash: expected vs got
        var wrongHash = "sha256:" + new string('0', 64);
        Fails([.. worker.Select(a => a == realHash ? wrongHash : a)], ["expected " + wrongHash, "got " + realHash]);

        // unknown token: the signature never appears; the message names the id, never the secret
        Fails([.. worker.Select(a => a == token ? "zzzzzz.0123456789abcdef" : a)], ["timed out", "token id \"zzzzzz\"", "unknown, expired"], ["0123456789abcdef"]);

        // expired token: present in the cluster but past its expiration, so the signer drops it
        cluster.Server.Store.Put(JsonNode.Parse($$$"""
            {"apiVersion":"v1","kind":"Secret","type":"bootstrap.kubernetes.io/token","metadata":{"name":"bootstrap-token-expire","namespace":"kube-system"},
             "data":{"token-id":"{{{B64("expire")}}}","token-secret":"{{{B64("0123456789abcdef")}}}","expiration":"{{{B64("2020-01-01T00:00:00Z")}}}",
                     "usage-bootstrap-signing":"{{{B64("true")}}}","usage-bootstrap-authentication":"{{{B64("true")}}}"}}
            """)!.AsObject());
        Fails([.. worker.Select(a => a == token ? "expire.0123456789abcdef" : a)], ["token id \"expire\"", "unknown, expired"], ["0123456789abcdef"]);

        // wrong token secret for a known id: the signature does not verify
        var id = token.Split('.')[0];
        Fails([.. worker.Select(a => a == token ? id + ".aaaaaaaaaaaaaaaa" : a)], ["does not verify", $"token id \"{id}\""], ["aaaaaaaaaaaaaaaa"]);

        // missing signature: an API server whose bootstrap signer does not run
        var port2 = JoinCluster.FreePort();
        await using (var unsigned = await Kubeforge.TestApiServer.TestApiServer.StartAsync(new TestApiServerOptions
        {
            TlsCertFile = Path.Join(cluster.Pki, "apiserver.crt"),
            TlsKeyFile = Path.Join(cluster.Pki, "apiserver.key"),
            ClientCaFile = Path.Join(cluster.Pki, "ca.crt"),
            Port = port2,
            EnableBootstrapSigner = false,
        }))
        {
            var ci = (JsonObject)cluster.Server.Store.Get("configmaps", "kube-public", "cluster-info")!.DeepClone();
            foreach (var k in ((JsonObject)ci["data"]!).Select(kv => kv.Key).Where(k => k.StartsWith("jws-", StringComparison.Ordinal)).ToList())
            {
                ((JsonObject)ci["data"]!).Remove(k);
            }
            ((JsonObject)ci["metadata"]!).Remove("resourceVersion");
            unsigned.Store.Put(ci);
            foreach (var kind in new[] { "roles", "rolebindings" })
            {
                var o = (JsonObject)cluster.Server.Store.Get(kind, "kube-public", "kubeadm:bootstrap-signer-clusterinfo")!.DeepClone();
                ((JsonObject)o["metadata"]!).Remove("resourceVersion");
                unsigned.Store.Put(o);
            }
            Fails([.. worker.Select(a => a == $"127.0.0.1:{cluster.Port}" ? $"127.0.0.1:{port2}" : a)], ["no signatures at all", $"token id \"{id}\""]);
        }

        // unreachable endpoint
        var closed = JoinCluster.FreePort();
        Fails([.. worker.Select(a => a == $"127.0.0.1:{cluster.Port}" ? $"127.0.0.1:{closed}" : a)], ["cannot reach the API server", $"127.0.0.1:{closed}"]);

        // bad certificate key on the printed control-plane command
        var key = cp[Array.IndexOf(cp, "--certificate-key") + 1];
        var otherKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        Fails([.. cp.Select(a => a == key ? otherKey : a), "--apiserver-advertise-address", "127.0.0.1"], ["the certificate key is wrong or the kubeadm-certs Secret expired"], [otherKey]);

        // a failure after files were written (no kubelet: the TLS bootstrap times out) removes them again
        Fails(worker, ["TLS bootstrap within 1s"], env: JoinCluster.Env(tlsBootstrapTimeout: TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task DryRunWithTwoPinsAndFileDiscovery()
    {
        await using var cluster = await JoinCluster.StartAsync("v1.37.0");
        var worker = JoinCluster.Paste(cluster.WorkerCommand);
        var token = worker[Array.IndexOf(worker, "--token") + 1];

        // repeated --discovery-token-ca-cert-hash: one matching pin is enough; --dry-run changes nothing on the node
        var dry = cluster.NewNode("dry");
        var r = JoinCluster.Run([.. worker, "--discovery-token-ca-cert-hash", "sha256:" + new string('1', 64), "--dry-run", "--rootfs", dry, "--node-name", "dry"], JoinCluster.Env());
        Assert.True(r.Code == 0, r.Err + r.Out);
        Assert.Contains("/etc/kubernetes/bootstrap-kubelet.conf", r.Out);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dry));

        // the printed control-plane command in dry-run mode: every phase shows what it would do, nothing is written
        var dryCp = cluster.NewNode("drycp");
        var cpRun = JoinCluster.Run([.. JoinCluster.Paste(cluster.ControlPlaneCommand), "--dry-run", "--rootfs", dryCp, "--node-name", "drycp", "--apiserver-advertise-address", "127.0.0.1"], JoinCluster.Env());
        Assert.True(cpRun.Code == 0, cpRun.Err + cpRun.Out);
        Assert.Contains("/etc/kubernetes/manifests/kube-apiserver.yaml", cpRun.Out);
        Assert.Contains("Would add etcd member https://127.0.0.1:2380 as learner", cpRun.Out);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dryCp));

        // file discovery: the cluster-info kubeconfig on the node, the token only for the TLS bootstrap
        var node = cluster.NewNode("f1");
        Directory.CreateDirectory(Path.Join(node, "etc/kubernetes"));
        var clusterInfo = Data(cluster.Server.Store.Get("configmaps", "kube-public", "cluster-info")!, "kubeconfig");
        File.WriteAllText(Path.Join(node, "etc/kubernetes/discovery.conf"), clusterInfo);
        var kubelet = new KubeletStandIn(node, "f1");
        var standIn = Task.Run(() => kubelet.RunAsync(TimeSpan.FromSeconds(60)));
        var join = await Task.Run(() => JoinCluster.Run(["join", "--discovery-file", "/etc/kubernetes/discovery.conf", "--tls-bootstrap-token", token, "--rootfs", node, "--node-name", "f1"], JoinCluster.Env()));
        Assert.True(join.Code == 0, join.Err + join.Out);
        Assert.True(await standIn);
        Assert.Contains($"token: {token}", Encoding.UTF8.GetString(kubelet.BootstrapKubeconfig!));
        Assert.Equal(File.ReadAllText(Path.Join(cluster.Pki, "ca.crt")).Trim(), JoinCluster.NodeFile(node, "/etc/kubernetes/pki/ca.crt").Trim());
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
}
