using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.Discovery;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.ControlPlane;

/// <summary>EtcdMember is one member of an etcd cluster as the v3 API reports it.</summary>
public sealed record EtcdMember(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner)
{
    /// <summary>HexId is the member id as etcdctl prints it.</summary>
    public string HexId => Id.ToString("x", CultureInfo.InvariantCulture);
}

/// <summary>EtcdGatewayClient talks to etcd's v3 HTTP/JSON gateway (grpc-gateway on the client port; JSON field names
/// are the proto names: peerURLs, isLearner, ID, uint64 as strings) with a client certificate: member list, add,
/// promote. Each call tries the endpoints in order until one answers.</summary>
public sealed class EtcdGatewayClient(IReadOnlyList<string> endpoints, HttpClient http) : IDisposable
{
    /// <summary>Create builds a client trusting only the etcd CA and presenting the given client certificate.</summary>
    public static EtcdGatewayClient Create(IReadOnlyList<string> endpoints, X509Certificate2 ca, X509Certificate2 clientCert, TimeSpan timeout,
        SocketsHttpHandler? handler = null) =>
        new(endpoints, TlsHttp.Create(ca, clientCert, timeout, handler));

    private volatile int preferred;

    public void Dispose() => http.Dispose();

    /// <summary>ListAsync returns the members (POST /v3/cluster/member/list).</summary>
    public async Task<IReadOnlyList<EtcdMember>> ListAsync(CancellationToken ct = default) =>
        Members((await PostAsync("/v3/cluster/member/list", "{}", ct).ConfigureAwait(false))["members"]);

    /// <summary>AddAsync adds a member with peerUrl (as learner when asked) and returns it with the new member list.</summary>
    public async Task<(EtcdMember Added, IReadOnlyList<EtcdMember> Members)> AddAsync(string peerUrl, bool learner, CancellationToken ct = default)
    {
        var body = new JsonObject { ["peerURLs"] = new JsonArray(peerUrl), ["isLearner"] = learner }.ToJsonString();
        var resp = await PostAsync("/v3/cluster/member/add", body, ct).ConfigureAwait(false);
        return (Member(resp["member"] as JsonObject ?? throw new UserError("etcd member add returned no member")), Members(resp["members"]));
    }

    /// <summary>RemoveAsync removes a member by ID (POST /v3/cluster/member/remove) and returns the remaining members.</summary>
    public async Task<IReadOnlyList<EtcdMember>> RemoveAsync(ulong id, CancellationToken ct = default) =>
        Members((await PostAsync("/v3/cluster/member/remove", $"{{\"ID\":\"{id.ToString(CultureInfo.InvariantCulture)}\"}}", ct).ConfigureAwait(false))["members"]);

    /// <summary>PromoteAsync promotes a learner to a voting member (POST /v3/cluster/member/promote).</summary>
    public Task PromoteAsync(ulong id, CancellationToken ct = default) =>
        PostAsync("/v3/cluster/member/promote", $"{{\"ID\":\"{id.ToString(CultureInfo.InvariantCulture)}\"}}", ct);

    /// <summary>Post sends a JSON body to any gateway path (e.g. /v3/kv/range, /v3/kv/txn) synchronously (HttpClient.Send,
    /// no thread-pool hop) and returns the parsed answer; for callers that cannot await, such as the test API server's
    /// etcd store. Same endpoint order and errors as the member calls.</summary>
    public JsonObject Post(string path, string body) => PostAsync(path, body, CancellationToken.None, sync: true).GetAwaiter().GetResult();

    // PostAsync tries the endpoints starting with the last one that answered (a down member costs one failed connect,
    // not one per call); with sync it completes synchronously.
    private async Task<JsonObject> PostAsync(string path, string body, CancellationToken ct, bool sync = false)
    {
        string? last = null;
        var first = preferred;
        for (var i = 0; i < endpoints.Count; i++)
        {
            var index = (first + i) % endpoints.Count;
            var ep = endpoints[index];
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, ep.TrimEnd('/') + path)
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                };
                using var resp = sync ? http.Send(request, ct) : await http.SendAsync(request, ct).ConfigureAwait(false);
                string text;
                if (sync)
                {
                    using var reader = new StreamReader(resp.Content.ReadAsStream(ct), Encoding.UTF8);
                    text = reader.ReadToEnd();
                }
                else
                {
                    text = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                }
                preferred = index;
                if (resp.IsSuccessStatusCode)
                {
                    return JsonNode.Parse(text) as JsonObject ?? new JsonObject();
                }
                var message = (JsonNode.Parse(text) as JsonObject)?["error"]?.GetValue<string>() ?? text;
                throw new EtcdApiException($"etcd {path} on {ep}: {message}");
            }
            catch (HttpRequestException e)
            {
                last = $"{ep}: {e.InnerException?.Message ?? e.Message}";
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                last = $"{ep}: timed out";
            }
        }
        throw new UserError($"cannot reach any etcd member ({last}); check that the existing control-plane nodes' etcd is healthy and reachable on port 2379");
    }

    private static IReadOnlyList<EtcdMember> Members(JsonNode? arr) =>
        (arr as JsonArray)?.OfType<JsonObject>().Select(Member).ToList() ?? [];

    private static EtcdMember Member(JsonObject m) => new(
        ulong.Parse(m["ID"]?.ToString() ?? "0", CultureInfo.InvariantCulture),
        m["name"]?.GetValue<string>() ?? "",
        (m["peerURLs"] as JsonArray)?.Select(u => u!.GetValue<string>()).ToList() ?? [],
        (m["clientURLs"] as JsonArray)?.Select(u => u!.GetValue<string>()).ToList() ?? [],
        m["isLearner"]?.GetValue<bool>() ?? false);
}

/// <summary>EtcdApiException is an error answer of etcd (as opposed to an unreachable endpoint).</summary>
public sealed class EtcdApiException(string message) : UserError(message);

/// <summary>EtcdJoinPhase is join's control-plane-join/etcd for stacked etcd (ha-and-leader-election.md §4.3): add this
/// node as a (learner) member, write etcd.yaml with all members and --initial-cluster-state=existing, then promote the
/// learner once it has caught up.</summary>
public static class EtcdJoinPhase
{
    private const string Phase = "etcd";
    public const string AdvertiseClientUrlsAnnotation = "kubeadm.kubernetes.io/etcd.advertise-client-urls";

    /// <summary>EndpointsAsync lists the client URLs of the existing etcd members from the etcd static pods' annotation.</summary>
    public static async Task<IReadOnlyList<string>> EndpointsAsync(IKubeApi api, CancellationToken ct)
    {
        var pods = await api.ListAsync(ApiResource.Pod, "kube-system", "component=etcd,tier=control-plane", ct).ConfigureAwait(false);
        var urls = pods.Select(p => p["metadata"]?["annotations"]?[AdvertiseClientUrlsAnnotation]?.GetValue<string>())
            .Where(u => !string.IsNullOrEmpty(u)).SelectMany(u => u!.Split(',')).Distinct(StringComparer.Ordinal).ToList();
        if (urls.Count == 0)
        {
            throw new UserError($"no etcd endpoints found: no kube-system Pod with labels component=etcd,tier=control-plane carries the {AdvertiseClientUrlsAnnotation} annotation; check that the existing control-plane nodes run etcd as a static Pod");
        }
        return urls;
    }

    /// <summary>Finished tells whether the member with peerUrl has completed its join: it is in the list, has started
    /// (published its name) and is a voting member (not a learner waiting for promotion).</summary>
    public static bool Finished(IReadOnlyList<EtcdMember> members, string peerUrl) =>
        members.FirstOrDefault(m => m.PeerUrls.Contains(peerUrl)) is { IsLearner: false, Name.Length: > 0 };

    /// <summary>FinishedAsync asks etcd (endpoints tried in order, with this node's apiserver-etcd-client certificate read
    /// over its host) whether the member with peerUrl has finished joining (see Finished); false when the node has no
    /// etcd client certificate yet. An interrupted join (killed between the member add and the promotion) says false.</summary>
    public static async Task<bool> FinishedAsync(IHost node, string certDir, IReadOnlyList<string> endpoints, string peerUrl, CancellationToken ct)
    {
        var ca = await PkiStore.LoadCertAsync(node, PkiStore.CertPath(certDir, "etcd/ca"), ct).ConfigureAwait(false);
        var certPem = await node.ReadTextAsync(PkiStore.CertPath(certDir, "apiserver-etcd-client"), ct).ConfigureAwait(false);
        var keyPem = await node.ReadTextAsync(PkiStore.KeyPath(certDir, "apiserver-etcd-client"), ct).ConfigureAwait(false);
        if (ca is null || certPem is null || keyPem is null)
        {
            return false;
        }
        using var client = X509Certificate2.CreateFromPem(certPem, keyPem);
        using var etcd = EtcdGatewayClient.Create(endpoints, ca, client, TimeSpan.FromSeconds(10));
        return Finished(await etcd.ListAsync(ct).ConfigureAwait(false), peerUrl);
    }

    /// <summary>RunAsync adds the member and writes the manifest; promotion retries until the learner is in sync
    /// or the etcd API timeout passes.</summary>
    public static async Task RunAsync(PhaseContext ctx, IReadOnlyList<string> endpoints, TimeSpan promoteTimeout, TimeSpan retryInterval, CancellationToken ct)
    {
        var cfg = ctx.Config;
        var local = cfg.Cluster.Etcd.Local;
        if (local is null)
        {
            ctx.Ui.Info(Phase, "External etcd mode: Skipping the etcd member addition");
            return;
        }
        var dir = cfg.CertDir;
        var ca = await PkiStore.LoadCertAsync(ctx.Host, PkiStore.CertPath(dir, "etcd/ca"), ct).ConfigureAwait(false)
            ?? throw new UserError($"{PkiStore.CertPath(dir, "etcd/ca")} does not exist; run the control-plane-prepare phases first");
        var certPem = await ctx.Host.ReadTextAsync(PkiStore.CertPath(dir, "apiserver-etcd-client"), ct).ConfigureAwait(false);
        var keyPem = await ctx.Host.ReadTextAsync(PkiStore.KeyPath(dir, "apiserver-etcd-client"), ct).ConfigureAwait(false);
        if (certPem is null || keyPem is null)
        {
            throw new UserError($"{PkiStore.CertPath(dir, "apiserver-etcd-client")} or its key does not exist; run \"join phase control-plane-prepare certs\" first");
        }
        using var client = X509Certificate2.CreateFromPem(certPem, keyPem);
        using var etcd = EtcdGatewayClient.Create(endpoints, ca, client, TimeSpan.FromSeconds(15));
        var peerUrl = "https://" + Pki.AltNames.JoinHostPort(cfg.AdvertiseAddress, 2380);
        var learner = cfg.Profile.EtcdLearnerJoin;

        var members = await etcd.ListAsync(ct).ConfigureAwait(false);
        var self = members.FirstOrDefault(m => m.PeerUrls.Contains(peerUrl));
        if (self is null)
        {
            ctx.Ui.Info(Phase, $"Adding etcd member {peerUrl}{(learner ? " as learner" : "")}");
            // etcd refuses a new voting member while the cluster is not fully healthy ("unhealthy cluster"); retry like kubeadm
            var addDeadline = ctx.Time.GetUtcNow() + promoteTimeout;
            while (true)
            {
                try
                {
                    (self, members) = await etcd.AddAsync(peerUrl, learner, ct).ConfigureAwait(false);
                    break;
                }
                catch (EtcdApiException e) when (ctx.Time.GetUtcNow() < addDeadline && !e.Message.Contains("Peer URLs already exists", StringComparison.OrdinalIgnoreCase))
                {
                    ctx.Ui.Info(Phase, $"etcd member add not possible yet ({e.Message}); retrying");
                    await Task.Delay(retryInterval, ctx.Time, ct).ConfigureAwait(false);
                }
            }
        }
        else
        {
            ctx.Ui.Info(Phase, $"etcd member {peerUrl} already exists (id {self.HexId})");
        }
        var initial = members.Select(m => (Name: m.Id == self.Id ? cfg.NodeName : m.Name.Length > 0 ? m.Name : m.HexId, PeerUrl: m.PeerUrls.FirstOrDefault() ?? ""))
            .Where(m => m.PeerUrl.Length > 0).ToList();
        if (!await ctx.Host.ExistsAsync(local.DataDir, ct).ConfigureAwait(false))
        {
            await ctx.Host.CreateDirectoryAsync(local.DataDir, FileModes.PrivateDir, ct).ConfigureAwait(false);
        }
        ctx.Ui.Info(Phase, $"Creating static Pod manifest for \"etcd\" with --initial-cluster={string.Join(',', initial.Select(m => $"{m.Name}={m.PeerUrl}"))}");
        var bytes = StaticPods.ToBytes(StaticPods.Etcd(cfg, initial, joining: true));
        await ctx.Host.WriteIfChangedAsync(NodePaths.Manifest(Components.Etcd), bytes, FileModes.Private, FileModes.PrivateDir, ct).ConfigureAwait(false);

        var deadline = ctx.Time.GetUtcNow() + promoteTimeout;
        if (learner && self.IsLearner)
        {
            ctx.Ui.Info(Phase, $"Waiting for the new etcd member to catch up, then promoting it (timeout {promoteTimeout.TotalSeconds:0}s)");
            await PromoteAsync(ctx, etcd, self, peerUrl, promoteTimeout, deadline, retryInterval, ct).ConfigureAwait(false);
        }
        // like kubeadm's WaitForClusterAvailable: the new member must have started (published its name) and the cluster answer
        ctx.Ui.Info(Phase, $"Waiting for the new etcd member to join the cluster. This can take up to {promoteTimeout.TotalSeconds:0}s");
        while (true)
        {
            try
            {
                var now = await etcd.ListAsync(ct).ConfigureAwait(false);
                if (now.FirstOrDefault(m => m.Id == self.Id) is { Name.Length: > 0 })
                {
                    return;
                }
            }
            catch (EtcdApiException)
            {
            }
            if (ctx.Time.GetUtcNow() >= deadline)
            {
                throw new UserError($"etcd member {self.HexId} ({peerUrl}) did not start within {promoteTimeout.TotalSeconds:0}s; check that etcd runs on this node (crictl ps; /var/log/pods) and that port 2380 is reachable from the other members");
            }
            await Task.Delay(retryInterval, ctx.Time, ct).ConfigureAwait(false);
        }
    }

    private static async Task PromoteAsync(PhaseContext ctx, EtcdGatewayClient etcd, EtcdMember self, string peerUrl, TimeSpan promoteTimeout,
        DateTimeOffset deadline, TimeSpan retryInterval, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await etcd.PromoteAsync(self.Id, ct).ConfigureAwait(false);
                ctx.Ui.Info(Phase, $"Promoted etcd member {self.HexId} ({ctx.Config.NodeName}) to a voting member");
                return;
            }
            catch (EtcdApiException e)
            {
                if (e.Message.Contains("not a learner", StringComparison.Ordinal))
                {
                    return;
                }
                if (ctx.Time.GetUtcNow() >= deadline)
                {
                    throw new UserError($"etcd member {self.HexId} ({peerUrl}) could not be promoted within {promoteTimeout.TotalSeconds:0}s: {e.Message}; check that etcd started on this node (crictl ps; /var/log/pods)");
                }
            }
            await Task.Delay(retryInterval, ctx.Time, ct).ConfigureAwait(false);
        }
    }
}
