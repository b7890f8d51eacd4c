using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.Hosts;
using Kubeforge.IntegrationTests.Etcd;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.Phases;
using Kubeforge.Pki;
using Kubeforge.TestApiServer;
using Xunit.Abstractions;
using static Kubeforge.IntegrationTests.TestApiServer.ApiServerHarness;

namespace Kubeforge.IntegrationTests.TestApiServer;

/// <summary>EtcdClusterFixture runs a real three-member etcd 3.4 cluster on loopback (free ports, TLS with certificates
/// from Kubeforge's PKI phase); every member is stopped by PID on dispose.</summary>
public sealed class EtcdClusterFixture : IAsyncLifetime
{
    private readonly List<Process> members = [];

    public string Root { get; } = Directory.CreateTempSubdirectory("kf-etcd-store-").FullName;
    public string Pki => Path.Join(Root, "etc/kubernetes/pki");
    public string[] ClientUrls { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var cfg = EtcdFromManifestTests.Config("v1.29.0", "etcd-node", "127.0.0.1");
        var ctx = new PhaseContext { Config = cfg, Host = new LocalHost(Root), Ui = new RecordingUi() };
        foreach (var cert in new[] { "etcd-ca", "etcd-server", "etcd-peer", "apiserver-etcd-client" })
            await CertsPhase.RunAsync(ctx, cert);
        var ports = Enumerable.Range(0, 6).Select(_ => FreePort()).ToArray();
        ClientUrls = [.. Enumerable.Range(0, 3).Select(i => $"https://127.0.0.1:{ports[i]}")];
        var peers = Enumerable.Range(0, 3).Select(i => $"https://127.0.0.1:{ports[3 + i]}").ToArray();
        var initial = string.Join(',', peers.Select((p, i) => $"m{i}={p}"));
        var token = "kf-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 3; i++)
        {
            members.Add(Proc.Start(Path.Join(Root, $"m{i}.log"), "etcd", $"--name=m{i}", $"--data-dir={Root}/m{i}.etcd",
                $"--listen-client-urls={ClientUrls[i]}", $"--advertise-client-urls={ClientUrls[i]}",
                $"--listen-peer-urls={peers[i]}", $"--initial-advertise-peer-urls={peers[i]}",
                $"--initial-cluster={initial}", "--initial-cluster-state=new", $"--initial-cluster-token={token}",
                $"--cert-file={Pki}/etcd/server.crt", $"--key-file={Pki}/etcd/server.key", "--client-cert-auth=true",
                $"--trusted-ca-file={Pki}/etcd/ca.crt", $"--peer-cert-file={Pki}/etcd/peer.crt", $"--peer-key-file={Pki}/etcd/peer.key",
                "--peer-client-cert-auth=true", $"--peer-trusted-ca-file={Pki}/etcd/ca.crt"));
        }
        var healthy = Proc.WaitUntil(() => Ctl("endpoint", "health").Code == 0, TimeSpan.FromSeconds(60));
        Assert.True(healthy, "etcd cluster did not become healthy: " + File.ReadAllText(Path.Join(Root, "m0.log")));
    }

    /// <summary>Ctl runs etcdctl against all members with the API server's etcd client certificate.</summary>
    public (int Code, string Output) Ctl(params string[] args) => Proc.Run(["etcdctl", $"--endpoints={string.Join(',', ClientUrls)}",
        $"--cacert={Pki}/etcd/ca.crt", $"--cert={Pki}/apiserver-etcd-client.crt", $"--key={Pki}/apiserver-etcd-client.key",
        "--dial-timeout=3s", "--command-timeout=10s", .. args]);

    /// <summary>StopMember stops one member (the cluster keeps quorum with the other two).</summary>
    public void StopMember(int i) => Proc.Stop(members[i]);

    /// <summary>Configure points options at the members in the given order, with the API server's etcd client certificate.</summary>
    public Action<TestApiServerOptions> Configure(string prefix, params int[] order) => o =>
    {
        o.EtcdServers = [.. order.Select(i => ClientUrls[i])];
        o.EtcdCaFile = $"{Pki}/etcd/ca.crt";
        o.EtcdCertFile = $"{Pki}/apiserver-etcd-client.crt";
        o.EtcdKeyFile = $"{Pki}/apiserver-etcd-client.key";
        o.EtcdPrefix = prefix;
    };

    /// <summary>FreePort returns a loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public Task DisposeAsync()
    {
        foreach (var m in members)
        {
            Proc.Stop(m);
            m.Dispose();
        }
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>EtcdStoreTests run several test API server instances on one real etcd cluster, like kube-apiservers behind a
/// load balancer: one state, etcd revisions as resourceVersions, 409s across instances, controllers racing safely.</summary>
public sealed class EtcdStoreTests(EtcdClusterFixture etcd, ITestOutputHelper output) : IClassFixture<EtcdClusterFixture>, IAsyncLifetime
{
    private readonly ThrowawayPki pki = new();
    private readonly List<ApiServerHarness> servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var s in servers) await s.DisposeAsync();
        pki.Dispose();
    }

    private async Task<ApiServerHarness> Instance(Action<TestApiServerOptions>? configure)
    {
        var h = await StartAsync(pki, configure, ownsPki: false);
        servers.Add(h);
        return h;
    }

    private static string UniquePrefix() => "/kf-" + Guid.NewGuid().ToString("N")[..8];

    private static JsonObject Cm(string name, string value, string? rv = null)
    {
        var meta = new JsonObject { ["name"] = name };
        if (rv != null) meta["resourceVersion"] = rv;
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = meta, ["data"] = new JsonObject { ["k"] = value } };
    }

    private static void AssertStatus(HttpStatusCode expected, string reason, (HttpStatusCode Code, JsonNode? Body) r)
    {
        Assert.Equal(expected, r.Code);
        Assert.Equal("Status", (string?)r.Body?["kind"]);
        Assert.Equal(reason, (string?)r.Body?["reason"]);
        Assert.Equal((int)expected, (int?)r.Body?["code"]);
    }

    private const string Cms = "/api/v1/namespaces/default/configmaps";

    [Fact]
    public async Task ObjectWrittenOnAIsReadOnBAndLivesUnderRegistryInEtcd()
    {
        var a = await Instance(etcd.Configure("/registry", 0, 1, 2));
        var b = await Instance(etcd.Configure("/registry", 1, 2, 0));
        var name = "shared-" + Guid.NewGuid().ToString("N")[..6];
        var (code, created) = await SendAsync(a.Admin(), HttpMethod.Post, Cms, Cm(name, "from-a"));
        Assert.Equal(HttpStatusCode.Created, code);
        var (getCode, read) = await GetAsync(b.Admin(), $"{Cms}/{name}");
        Assert.Equal(HttpStatusCode.OK, getCode);
        Assert.Equal((string?)created!["metadata"]!["uid"], (string?)read!["metadata"]!["uid"]);
        Assert.Equal((string?)created["metadata"]!["resourceVersion"], (string?)read["metadata"]!["resourceVersion"]);
        Assert.Equal("from-a", (string?)read["data"]!["k"]);

        // the resourceVersion is etcd's mod_revision of the key; the stored JSON carries no resourceVersion
        var (ctlCode, json) = etcd.Ctl("get", $"/registry/configmaps/default/{name}", "-w", "json");
        Assert.True(ctlCode == 0, json);
        var kv = JsonNode.Parse(json)!["kvs"]![0]!;
        Assert.Equal((string?)created["metadata"]!["resourceVersion"], kv["mod_revision"]!.ToJsonString());
        var stored = JsonNode.Parse(Convert.FromBase64String((string)kv["value"]!))!;
        Assert.Equal(name, (string?)stored["metadata"]!["name"]);
        Assert.Null(stored["metadata"]!["resourceVersion"]);

        var node = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = name } };
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(b.Admin(), HttpMethod.Post, "/api/v1/nodes", node)).Code);
        var keys = etcd.Ctl("get", "--prefix", "--keys-only", "/registry/").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"/registry/minions/{name}", keys);
        Assert.Contains("/registry/namespaces/kube-system", keys);
        Assert.Contains("/registry/clusterroles/system:node-bootstrapper", keys);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(a.Admin(), $"/api/v1/nodes/{name}")).Code);
    }

    [Fact]
    public async Task WritesConflictAcrossInstancesAndNoUpdateIsLost()
    {
        var prefix = UniquePrefix();
        var a = (await Instance(etcd.Configure(prefix, 0, 1, 2))).Admin();
        var b = (await Instance(etcd.Configure(prefix, 1, 2, 0))).Admin();
        var (_, list0) = await GetAsync(a, Cms);
        var rv0 = long.Parse((string)list0!["metadata"]!["resourceVersion"]!);

        Assert.Equal(HttpStatusCode.Created, (await SendAsync(a, HttpMethod.Post, Cms, Cm("c", "0"))).Code);
        AssertStatus(HttpStatusCode.Conflict, "AlreadyExists", await SendAsync(b, HttpMethod.Post, Cms, Cm("c", "0")));

        var (_, read) = await GetAsync(b, $"{Cms}/c");
        var rv1 = (string)read!["metadata"]!["resourceVersion"]!;
        var (putCode, put) = await SendAsync(a, HttpMethod.Put, $"{Cms}/c", Cm("c", "1", rv1));
        Assert.Equal(HttpStatusCode.OK, putCode);
        var rv2 = (string)put!["metadata"]!["resourceVersion"]!;
        Assert.True(long.Parse(rv2) > long.Parse(rv1));
        AssertStatus(HttpStatusCode.Conflict, "Conflict", await SendAsync(b, HttpMethod.Put, $"{Cms}/c", Cm("c", "stale", rv1)));
        AssertStatus(HttpStatusCode.Conflict, "Conflict", await SendAsync(b, HttpMethod.Patch, $"{Cms}/c",
            new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = rv1 } }, "application/merge-patch+json"));

        // six writers with the same resourceVersion on both instances at once: exactly one wins
        var racers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            SendAsync(i % 2 == 0 ? a : b, HttpMethod.Put, $"{Cms}/c", Cm("c", $"racer{i}", rv2))));
        Assert.Single(racers, r => r.Code == HttpStatusCode.OK);
        Assert.All(racers.Where(r => r.Code != HttpStatusCode.OK), r => AssertStatus(HttpStatusCode.Conflict, "Conflict", r));

        // ten patches without resourceVersion at once: read-modify-write retries keep every one
        var patches = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => SendAsync(i % 2 == 0 ? a : b, HttpMethod.Patch, $"{Cms}/c",
            new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [$"p{i}"] = "x" } } }, "application/merge-patch+json")));
        Assert.All(patches, p => Assert.Equal(HttpStatusCode.OK, p.Code));
        var (_, final) = await GetAsync(a, $"{Cms}/c");
        Assert.Equal(10, final!["metadata"]!["labels"]!.AsObject().Count);

        var (_, list1) = await GetAsync(b, Cms);
        Assert.True(long.Parse((string)list1!["metadata"]!["resourceVersion"]!) > rv0);
        Assert.True(long.Parse((string)list1["metadata"]!["resourceVersion"]!) >= long.Parse((string)final["metadata"]!["resourceVersion"]!));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(b, HttpMethod.Delete, $"{Cms}/c")).Code);
        AssertStatus(HttpStatusCode.NotFound, "NotFound", await GetAsync(a, $"{Cms}/c"));
        AssertStatus(HttpStatusCode.NotFound, "NotFound", await SendAsync(a, HttpMethod.Delete, $"{Cms}/c"));
        var (_, list2) = await GetAsync(a, Cms);
        Assert.True(long.Parse((string)list2!["metadata"]!["resourceVersion"]!) > long.Parse((string)list1["metadata"]!["resourceVersion"]!));
        Assert.Empty(list2["items"]!.AsArray());
    }

    private const string Kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: \"\"\nkind: Config\n";

    [Fact]
    public async Task BootstrapTokenJoinWorksWithRequestsSpreadOverInstances()
    {
        var prefix = UniquePrefix();
        var a = await Instance(etcd.Configure(prefix, 0, 1, 2));
        var b = await Instance(etcd.Configure(prefix, 2, 1, 0));
        a.Store.Put(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "cluster-info", ["namespace"] = "kube-public" },
            ["data"] = new JsonObject { ["kubeconfig"] = Kubeconfig },
        });
        a.Store.Put(new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "Role",
            ["metadata"] = new JsonObject { ["name"] = "kubeadm:bootstrap-signer-clusterinfo", ["namespace"] = "kube-public" },
            ["rules"] = new JsonArray(new JsonObject
            {
                ["apiGroups"] = new JsonArray(""), ["resources"] = new JsonArray("configmaps"),
                ["resourceNames"] = new JsonArray("cluster-info"), ["verbs"] = new JsonArray("get"),
            }),
        });
        a.Store.Put(new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "RoleBinding",
            ["metadata"] = new JsonObject { ["name"] = "kubeadm:bootstrap-signer-clusterinfo", ["namespace"] = "kube-public" },
            ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Role", ["name"] = "kubeadm:bootstrap-signer-clusterinfo" },
            ["subjects"] = new JsonArray(new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "User", ["name"] = "system:anonymous" }),
        });
        b.SeedToken("abcdef", "0123456789abcdef", DateTimeOffset.UtcNow.AddHours(1));
        foreach (var (name, role) in new[] { ("kubeadm:kubelet-bootstrap", "system:node-bootstrapper"),
                     ("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient") })
            b.Store.Put(new JsonObject
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRoleBinding", ["metadata"] = new JsonObject { ["name"] = name },
                ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = role },
                ["subjects"] = new JsonArray(new JsonObject
                    { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Group", ["name"] = "system:bootstrappers:kubeadm:default-node-token" }),
            });

        // cluster-info is signed (by whichever instance's signer wins) and read anonymously on B
        JsonNode? info = null;
        var anonymousB = b.Client();
        for (var i = 0; i < 100 && info?["data"]?["jws-kubeconfig-abcdef"] == null; i++)
        {
            await Task.Delay(100);
            info = (await GetAsync(anonymousB, "/api/v1/namespaces/kube-public/configmaps/cluster-info")).Body;
        }
        Assert.Equal(BootstrapSigner.DetachedJws(Kubeconfig, "abcdef", "0123456789abcdef"), (string?)info?["data"]?["jws-kubeconfig-abcdef"]);

        // the CSR is created through A with the token and its certificate fetched from B
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(ThrowawayPki.Subject("system:node:worker1", "system:nodes"), key, HashAlgorithmName.SHA256);
        var csr = new JsonObject
        {
            ["apiVersion"] = "certificates.k8s.io/v1", ["kind"] = "CertificateSigningRequest",
            ["metadata"] = new JsonObject { ["generateName"] = "csr-" },
            ["spec"] = new JsonObject
            {
                ["request"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(request.CreateSigningRequestPem())),
                ["signerName"] = "kubernetes.io/kube-apiserver-client-kubelet",
                ["usages"] = new JsonArray("digital signature", "client auth"),
            },
        };
        var (code, created) = await SendAsync(a.Client(token: "abcdef.0123456789abcdef"), HttpMethod.Post,
            "/apis/certificates.k8s.io/v1/certificatesigningrequests", csr);
        Assert.Equal(HttpStatusCode.Created, code);
        var path = "/apis/certificates.k8s.io/v1/certificatesigningrequests/" + (string)created!["metadata"]!["name"]!;
        var tokenB = b.Client(token: "abcdef.0123456789abcdef");
        JsonNode? fetched = null;
        for (var i = 0; i < 100 && string.IsNullOrEmpty((string?)fetched?["status"]?["certificate"]); i++)
        {
            await Task.Delay(100);
            fetched = (await GetAsync(tokenB, path)).Body;
        }
        var certificate = (string?)fetched?["status"]?["certificate"];
        Assert.False(string.IsNullOrEmpty(certificate), "the CSR was not signed: " + fetched?.ToJsonString());
        await Task.Delay(1000); // several controller cycles of both instances: nothing approves or signs it again
        var (_, later) = await GetAsync(tokenB, path);
        Assert.Equal(certificate, (string?)later!["status"]!["certificate"]);
        Assert.Equal((string?)fetched!["metadata"]!["resourceVersion"], (string?)later["metadata"]!["resourceVersion"]);
        Assert.Equal("Approved", (string?)Assert.Single(later["status"]!["conditions"]!.AsArray())!["type"]);

        var certPem = Encoding.ASCII.GetString(Convert.FromBase64String(certificate!));
        var (user, _) = await WhoAmI(b.Client(X509Certificate2.CreateFromPem(certPem, key.ExportPkcs8PrivateKeyPem())));
        Assert.Equal("system:node:worker1", user);
        var (userA, _) = await WhoAmI(a.Client(X509Certificate2.CreateFromPem(certPem, key.ExportPkcs8PrivateKeyPem())));
        Assert.Equal("system:node:worker1", userA);
    }

    [Fact]
    public async Task InstanceFailsOverWhenItsEtcdMemberStopsAndLatencyIsMeasured()
    {
        var prefix = UniquePrefix();
        var memory = await Instance(null);
        var c = await Instance(etcd.Configure(prefix, 2, 0));
        var b = await Instance(etcd.Configure(prefix, 1, 0));
        foreach (var (label, h) in new[] { ("in-memory", memory), ("etcd", c) })
        {
            var admin = h.Admin();
            Assert.Equal(HttpStatusCode.Created, (await SendAsync(admin, HttpMethod.Post, Cms, Cm("warm", "x"))).Code);
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < 30; i++) Assert.Equal(HttpStatusCode.Created, (await SendAsync(admin, HttpMethod.Post, Cms, Cm($"m{i}", "x"))).Code);
            var create = sw.Elapsed.TotalMilliseconds / 30;
            sw.Restart();
            for (var i = 0; i < 30; i++) Assert.Equal(HttpStatusCode.OK, (await GetAsync(admin, $"{Cms}/m{i}")).Code);
            output.WriteLine($"{label}: create {create:0.0} ms, get {sw.Elapsed.TotalMilliseconds / 30:0.0} ms per request");
        }

        etcd.StopMember(2); // C's first endpoint
        var adminC = c.Admin();
        var sw2 = Stopwatch.StartNew();
        (HttpStatusCode Code, JsonNode? Body) made = default;
        while (sw2.Elapsed < TimeSpan.FromSeconds(20) && made.Code != HttpStatusCode.Created)
            made = await SendAsync(adminC, HttpMethod.Post, Cms, Cm("after-failover", "y")); // a leader election may fail the first tries
        Assert.Equal(HttpStatusCode.Created, made.Code);
        output.WriteLine($"first successful write after stopping member 2: {sw2.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal("y", (string?)(await GetAsync(b.Admin(), $"{Cms}/after-failover")).Body!["data"]!["k"]);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(adminC, $"{Cms}/m0")).Code);
    }

    [Fact]
    public async Task StandaloneProcessWithKubeadmsEtcdFlagsServesTheSharedState()
    {
        var prefix = UniquePrefix();
        var a = await Instance(etcd.Configure(prefix, 0, 1, 2));
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(a.Admin(), HttpMethod.Post, Cms, Cm("from-a", "1"))).Code);
        var port = EtcdClusterFixture.FreePort();
        var log = Path.Join(pki.Dir, "standalone.log");
        var proc = Proc.Start(log, "dotnet", typeof(Kubeforge.TestApiServer.TestApiServer).Assembly.Location, "kube-apiserver",
            "--advertise-address=127.0.0.1", $"--client-ca-file={pki.CaCertFile}", "--enable-bootstrap-token-auth=true",
            $"--etcd-cafile={etcd.Pki}/etcd/ca.crt", $"--etcd-certfile={etcd.Pki}/apiserver-etcd-client.crt",
            $"--etcd-keyfile={etcd.Pki}/apiserver-etcd-client.key", $"--etcd-servers={etcd.ClientUrls[1]},{etcd.ClientUrls[0]}",
            $"--etcd-prefix={prefix}", $"--secure-port={port}", "--bind-address=127.0.0.1",
            $"--tls-cert-file={pki.ServingCertFile}", $"--tls-private-key-file={pki.ServingKeyFile}");
        try
        {
            using var http = a.Admin();
            http.BaseAddress = new Uri($"https://127.0.0.1:{port}/");
            (HttpStatusCode Code, JsonNode? Body) read = default;
            for (var i = 0; i < 120 && read.Code != HttpStatusCode.OK && !proc.HasExited; i++)
            {
                try { read = await GetAsync(http, $"{Cms}/from-a"); }
                catch (HttpRequestException) { await Task.Delay(250); }
            }
            Assert.True(read.Code == HttpStatusCode.OK, "standalone did not serve from-a: " + File.ReadAllText(log));
            Assert.Equal("1", (string?)read.Body!["data"]!["k"]);
            Assert.Contains($"(objects etcd {etcd.ClientUrls[1]},{etcd.ClientUrls[0]} under {prefix})", File.ReadAllText(log));
            Assert.Equal(HttpStatusCode.Created, (await SendAsync(http, HttpMethod.Post, Cms, Cm("from-standalone", "2"))).Code);
            Assert.Equal("2", (string?)a.Store.Get("configmaps", "default", "from-standalone")?["data"]?["k"]);
        }
        finally
        {
            Proc.Stop(proc);
            proc.Dispose();
        }
    }
}
