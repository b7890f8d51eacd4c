using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.Hosts;
using Kubeforge.KubeConfig;
using Kubeforge.Phases;
using Kubeforge.Pki;
using Kubeforge.Yaml;

namespace Kubeforge.Discovery;

/// <summary>DiscoveredCluster is what discovery learns: the API server URL (from cluster-info or the discovery file)
/// and the cluster CA it trusts from then on.</summary>
public sealed record DiscoveredCluster(string Server, string CaPem, X509Certificate2 Ca, string ClusterName = "kubernetes");

/// <summary>DiscoveryOptions tune token discovery: how long to wait for the signature and how often to retry.</summary>
public sealed record DiscoveryOptions(TimeSpan Timeout, TimeSpan RetryInterval, TimeProvider Time);

/// <summary>TokenDiscovery is kubeadm's bootstrap-token discovery (spec/kubeadm.md §7.3): fetch kube-public/cluster-info
/// anonymously without TLS verification until it carries jws-kubeconfig-&lt;token id&gt;, verify the detached JWS with
/// the token, check the CA against the pins, then fetch again with TLS verified against that CA and require the
/// same kubeconfig bytes.</summary>
public static class TokenDiscovery
{
    private const string ClusterInfoPath = "/api/v1/namespaces/kube-public/configmaps/cluster-info";

    /// <summary>DiscoverAsync runs the whole token discovery; every failure is a UserError naming the token id (never the secret).</summary>
    public static async Task<DiscoveredCluster> DiscoverAsync(string endpoint, string token, IReadOnlyList<string> caCertHashes,
        bool unsafeSkipCaVerification, DiscoveryOptions options, IUi ui, CancellationToken ct)
    {
        var (id, secret) = SplitToken(token);
        var baseUrl = "https://" + endpoint.Replace("https://", "", StringComparison.Ordinal).TrimEnd('/');
        ui.Info("discovery", $"Trying to fetch cluster-info from \"{baseUrl}\" for token id \"{id}\"");
        var deadline = options.Time.GetUtcNow() + options.Timeout;
        string? lastProblem = null;
        bool sawClusterInfo = false, sawAnySignature = false;
        using var insecure = TlsHttp.Create(null, null, TimeSpan.FromSeconds(10));
        while (true)
        {
            var (status, body, error) = await GetAsync(insecure, baseUrl + ClusterInfoPath, ct).ConfigureAwait(false);
            if (error is not null)
            {
                lastProblem = $"cannot reach the API server at {baseUrl}: {error}; check the address and port in the join command and that the API server is running";
            }
            else if (status != 200)
            {
                lastProblem = $"fetching kube-public/cluster-info from {baseUrl} failed with HTTP {status}; anonymous access to cluster-info must be allowed (RBAC kubeadm:bootstrap-signer-clusterinfo, created by init)";
            }
            else
            {
                sawClusterInfo = true;
                var data = (JsonNode.Parse(body) as JsonObject)?["data"] as JsonObject;
                var kubeconfig = data?[ClusterInfo.KubeconfigKey]?.GetValue<string>();
                sawAnySignature |= data?.Any(kv => kv.Key.StartsWith("jws-kubeconfig-", StringComparison.Ordinal)) == true;
                if (kubeconfig is null)
                {
                    lastProblem = $"kube-public/cluster-info on {baseUrl} has no \"kubeconfig\" key; run \"kubeadm init phase bootstrap-token\" on a control-plane node";
                }
                else if (data!["jws-kubeconfig-" + id]?.GetValue<string>() is { } jws)
                {
                    if (!Jws.Verify(kubeconfig, jws, id, secret))
                    {
                        throw new UserError($"the cluster-info signature for token id \"{id}\" does not verify with the given token secret; check the token (\"kubeadm token list\" on a control-plane node)");
                    }
                    return await VerifiedAsync(baseUrl, kubeconfig, id, caCertHashes, unsafeSkipCaVerification, ui, ct).ConfigureAwait(false);
                }
                else
                {
                    lastProblem = null;
                }
            }
            if (options.Time.GetUtcNow() >= deadline)
            {
                var waited = $"{options.Timeout.TotalSeconds:0}s";
                if (lastProblem is not null)
                {
                    throw new UserError($"discovery timed out after {waited}: {lastProblem}");
                }
                throw new UserError(sawClusterInfo && !sawAnySignature
                    ? $"discovery timed out after {waited}: kube-public/cluster-info carries no signatures at all (jws-kubeconfig-*), so token id \"{id}\" cannot be checked; is the bootstrapsigner controller of kube-controller-manager running?"
                    : $"discovery timed out after {waited}: kube-public/cluster-info was never signed for token id \"{id}\"; the token is unknown, expired or lacks the signing usage; create a new one on a control-plane node with \"kubeadm token create --print-join-command\"");
            }
            ui.Info("discovery", lastProblem is null
                ? $"cluster-info has no signature for token id \"{id}\" yet; retrying in {options.RetryInterval.TotalSeconds:0.#}s"
                : $"{lastProblem}; retrying in {options.RetryInterval.TotalSeconds:0.#}s");
            await Task.Delay(options.RetryInterval, options.Time, ct).ConfigureAwait(false);
        }
    }

    private static async Task<DiscoveredCluster> VerifiedAsync(string baseUrl, string kubeconfig, string id, IReadOnlyList<string> pins,
        bool skipCa, IUi ui, CancellationToken ct)
    {
        var (server, caPem) = ParseClusterInfo(kubeconfig);
        var ca = Pem.LoadCert(caPem, "cluster-info certificate-authority-data");
        if (skipCa)
        {
            ui.Warn("discovery", "the cluster CA is not verified (--discovery-token-unsafe-skip-ca-verification)");
            return new DiscoveredCluster(server, caPem, ca);
        }
        var got = PubKeyPin.Hash(ca);
        var expected = pins.Select(PubKeyPin.Parse).ToList();
        if (!expected.Contains(got))
        {
            throw new UserError($"the cluster CA does not match --discovery-token-ca-cert-hash: expected {string.Join(" or ", expected)}, got {got}; copy the hash from the join command printed by init (or \"kubeadm token create --print-join-command\")");
        }
        using var secure = TlsHttp.Create(ca, null, TimeSpan.FromSeconds(10));
        var (status, body, error) = await GetAsync(secure, baseUrl + ClusterInfoPath, ct).ConfigureAwait(false);
        if (error is not null || status != 200)
        {
            throw new UserError($"fetching cluster-info from {baseUrl} with TLS verified against the pinned CA failed ({error ?? "HTTP " + status}); the endpoint's serving certificate must be signed by that CA and name the endpoint");
        }
        var again = ((JsonNode.Parse(body) as JsonObject)?["data"] as JsonObject)?[ClusterInfo.KubeconfigKey]?.GetValue<string>();
        if (again != kubeconfig)
        {
            throw new UserError($"kube-public/cluster-info changed between the unverified and the CA-verified fetch from {baseUrl}; retry the join");
        }
        ui.Info("discovery", $"Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server \"{baseUrl.Replace("https://", "", StringComparison.Ordinal)}\"");
        return new DiscoveredCluster(server, caPem, ca);
    }

    /// <summary>ParseClusterInfo reads the server and CA PEM of the first cluster of a cluster-info kubeconfig.</summary>
    public static (string Server, string CaPem) ParseClusterInfo(string kubeconfig)
    {
        var doc = YamlReader.ReadAll(kubeconfig, "cluster-info").FirstOrDefault() as YMap;
        var cluster = (doc?.Seq("clusters")?.Items.FirstOrDefault() as YMap)?.Map("cluster")
            ?? throw new UserError("kube-public/cluster-info holds no cluster; run \"kubeadm init phase bootstrap-token\" on a control-plane node");
        var server = cluster.Str("server") ?? throw new UserError("kube-public/cluster-info has no server URL");
        var data = cluster.Str("certificate-authority-data") ?? throw new UserError("kube-public/cluster-info has no certificate-authority-data");
        return (server, Encoding.UTF8.GetString(Convert.FromBase64String(data)));
    }

    /// <summary>SplitToken splits "id.secret" (validated by the config loader).</summary>
    public static (string Id, string Secret) SplitToken(string token)
    {
        var dot = token.IndexOf('.');
        return dot < 0 ? (token, "") : (token[..dot], token[(dot + 1)..]);
    }

    private static async Task<(int Status, string Body, string? Error)> GetAsync(HttpClient client, string url, CancellationToken ct)
    {
        try
        {
            using var resp = await client.GetAsync(url, ct).ConfigureAwait(false);
            return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (0, "", e.InnerException?.Message ?? e.Message);
        }
    }
}

/// <summary>FileDiscovery is kubeadm's file discovery: the cluster (server and CA) comes from a kubeconfig file on the node.</summary>
public static class FileDiscovery
{
    /// <summary>DiscoverAsync reads the kubeconfig at path through the host.</summary>
    public static async Task<DiscoveredCluster> DiscoverAsync(IHost host, string path, CancellationToken ct)
    {
        var bytes = await host.ReadFileAsync(path, ct).ConfigureAwait(false)
            ?? throw new UserError($"--discovery-file: \"{path}\" does not exist; copy the cluster-info kubeconfig (or admin.conf) there first");
        string server, caPem;
        try
        {
            var view = KubeConfigFile.Read(bytes, path);
            server = view.Server ?? throw new UserError($"{path}: the current cluster has no server URL");
            caPem = view.CaPem ?? throw new UserError($"{path}: the current cluster has no certificate-authority-data");
        }
        catch (UserError) when (Encoding.UTF8.GetString(bytes).Contains("current-context: \"\"", StringComparison.Ordinal))
        {
            (server, caPem) = TokenDiscovery.ParseClusterInfo(Encoding.UTF8.GetString(bytes));
        }
        return new DiscoveredCluster(server, caPem, Pem.LoadCert(caPem, path));
    }
}
