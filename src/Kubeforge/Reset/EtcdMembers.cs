using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.Phases;

namespace Kubeforge.Reset;

/// <summary>EtcdMember is one entry of etcd's member list (ID as the decimal uint64 etcd's JSON gateway prints).</summary>
public sealed record EtcdMember(string Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls);

/// <summary>EtcdMembers talks to etcd's v3 JSON gateway (POST /v3/cluster/member/list and /remove) over mutual TLS
/// with a client certificate (kubeadm uses apiserver-etcd-client) and trusts only the etcd CA.</summary>
public sealed class EtcdMembers : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;

    /// <summary>EtcdMembers builds the client; handler: a custom connection handler (tests), else a SocketsHttpHandler.</summary>
    public EtcdMembers(Uri endpoint, X509Certificate2 ca, X509Certificate2 client, TimeSpan timeout, SocketsHttpHandler? handler = null)
    {
        _endpoint = endpoint;
        handler ??= new SocketsHttpHandler();
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = new X509CertificateCollection { client },
            RemoteCertificateValidationCallback = (_, cert, _, errors) => Trusted(cert, ca, errors),
        };
        _http = new HttpClient(handler) { Timeout = timeout };
    }

    private static bool Trusted(X509Certificate? cert, X509Certificate2 ca, SslPolicyErrors errors)
    {
        if (cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cert as X509Certificate2 ?? new X509Certificate2(cert));
    }

    public void Dispose() => _http.Dispose();

    /// <summary>ListAsync returns the cluster's members.</summary>
    public async Task<IReadOnlyList<EtcdMember>> ListAsync(CancellationToken ct = default)
    {
        var body = await PostAsync("/v3/cluster/member/list", "{}", ct).ConfigureAwait(false);
        return Members(body);
    }

    /// <summary>RemoveAsync removes a member by ID and returns the remaining members.</summary>
    public async Task<IReadOnlyList<EtcdMember>> RemoveAsync(string id, CancellationToken ct = default)
    {
        var body = await PostAsync("/v3/cluster/member/remove", new JsonObject { ["ID"] = id }.ToJsonString(), ct).ConfigureAwait(false);
        return Members(body);
    }

    private async Task<JsonObject> PostAsync(string path, string json, CancellationToken ct)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var resp = await _http.PostAsync(new Uri(_endpoint, path), content, ct).ConfigureAwait(false);
        var text = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode)
        {
            throw new UserError($"etcd {path} at {_endpoint} answered {(int)resp.StatusCode}: {text.Trim()}");
        }
        return JsonNode.Parse(text) as JsonObject ?? new JsonObject();
    }

    private static IReadOnlyList<EtcdMember> Members(JsonObject body) =>
        (body["members"] as JsonArray ?? []).OfType<JsonObject>().Select(m => new EtcdMember(
            m["ID"]?.ToString() ?? "",
            m["name"]?.GetValue<string>() ?? "",
            (m["peerURLs"] as JsonArray ?? []).Select(u => u!.GetValue<string>()).ToList(),
            (m["clientURLs"] as JsonArray ?? []).Select(u => u!.GetValue<string>()).ToList())).ToList();
}
