using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubeforge.ClusterObjects;

/// <summary>HttpKubeApi is the real API port: an HTTPS client built from a kubeconfig (embedded client
/// certificate and key, bearer token, cluster CA as the only trust root) and generic JSON REST calls.
/// Why not KubernetesClient: Kubeforge only needs generic REST on a handful of resources; the client library's
/// thousands of generated models made the NativeAOT binary several times larger and its start-up slower,
/// and it could not send JsonObject bodies under AOT anyway. The test suite still checks that the official
/// client (KubernetesClient.Aot) works against the same test API server.</summary>
public sealed class HttpKubeApi : IKubeApi, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly string? _token;

    private HttpKubeApi(HttpClient http, Uri baseUri, string? token)
    {
        _http = http;
        _base = baseUri;
        _token = token;
    }

    /// <summary>FromKubeConfig builds the port from kubeconfig bytes (e.g. admin.conf): the current context's
    /// cluster and user; credentials must be embedded (certificate/key data or a token). serverOverride sends the requests
    /// to another API server with the same credentials and CA (e.g. one control plane instead of the VIP).</summary>
    public static HttpKubeApi FromKubeConfig(byte[] kubeconfig, TimeSpan? timeout = null, string source = "kubeconfig", Uri? serverOverride = null)
    {
        var view = KubeConfig.KubeConfigFile.Read(kubeconfig, source);
        Uri? server = serverOverride;
        if (server is null && (string.IsNullOrEmpty(view.Server) || !Uri.TryCreate(view.Server, UriKind.Absolute, out server)))
        {
            throw new Phases.UserError($"{source}: the cluster has no valid server URL; regenerate the file (kubeforge init phase kubeconfig)");
        }
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var ca = view.CaPem is null ? null : Pki.Pem.LoadCert(view.CaPem, source + " certificate-authority-data");
        var insecure = view.Cluster.Str("insecure-skip-tls-verify") == "true";
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (insecure)
            {
                return true;
            }
            if (cert is null || ca is null)
            {
                return errors == System.Net.Security.SslPolicyErrors.None;
            }
            using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
            chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            using var leaf = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
            return chain.Build(leaf) && (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
        };
        if (view.ClientCertPem is not null && view.ClientKeyPem is not null)
        {
            var pair = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(view.ClientCertPem, view.ClientKeyPem);
            // export/import so the key is usable by the TLS stack on every platform
            var pfx = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pair.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
            handler.SslOptions.ClientCertificates = new System.Security.Cryptography.X509Certificates.X509CertificateCollection { pfx };
        }
        else if (view.User.Str("client-certificate") is { } file)
        {
            throw new Phases.UserError($"{source}: user \"{view.UserName}\" refers to the file {file}; only kubeconfigs with embedded credentials are supported here");
        }
        var http = new HttpClient(handler) { Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        return new HttpKubeApi(http, server!, view.User.Str("token"));
    }

    public Uri BaseUri => _base;

    public void Dispose() => _http.Dispose();

    public async Task<JsonObject?> GetAsync(ApiResource r, string? ns, string name, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, r.Path(ns, name), null, null, ct).ConfigureAwait(false);
        if (status == 404)
        {
            return null;
        }
        Check(status, body, "get", r, name);
        return Parse(body);
    }

    public async Task<IReadOnlyList<JsonObject>> ListAsync(ApiResource r, string? ns, string? labelSelector = null, CancellationToken ct = default)
    {
        var path = r.Path(ns) + (labelSelector is null ? "" : "?labelSelector=" + Uri.EscapeDataString(labelSelector));
        var (status, body) = await SendAsync(HttpMethod.Get, path, null, null, ct).ConfigureAwait(false);
        Check(status, body, "list", r, "");
        return Parse(body)["items"] is JsonArray items ? items.OfType<JsonObject>().Select(i => (JsonObject)i.DeepClone()).ToList() : [];
    }

    public async Task<JsonObject> CreateAsync(ApiResource r, JsonObject obj, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, r.Path(obj.Namespace()), obj.ToJsonString(), "application/json", ct).ConfigureAwait(false);
        Check(status, body, "create", r, obj.Name());
        return Parse(body);
    }

    public async Task<JsonObject> UpdateAsync(ApiResource r, JsonObject obj, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Put, r.Path(obj.Namespace(), obj.Name()), obj.ToJsonString(), "application/json", ct).ConfigureAwait(false);
        Check(status, body, "update", r, obj.Name());
        return Parse(body);
    }

    public async Task<JsonObject> PatchAsync(ApiResource r, string? ns, string name, string patch, string contentType, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Patch, r.Path(ns, name), patch, contentType, ct).ConfigureAwait(false);
        Check(status, body, "patch", r, name);
        return Parse(body);
    }

    public async Task<bool> DeleteAsync(ApiResource r, string? ns, string name, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Delete, r.Path(ns, name), null, null, ct).ConfigureAwait(false);
        if (status == 404)
        {
            return false;
        }
        Check(status, body, "delete", r, name);
        return true;
    }

    public Task<(int Status, string Body)> GetRawAsync(string path, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, path, null, null, ct);

    private async Task<(int, string)> SendAsync(HttpMethod method, string path, string? body, string? contentType, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, new Uri(_base, path));
        if (body is not null)
        {
            req.Content = new StringContent(body, Encoding.UTF8);
            req.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType!);
        }
        req.Headers.Accept.ParseAdd("application/json");
        if (_token is not null)
        {
            req.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _token);
        }
        try
        {
            using var resp = await _http.SendAsync(req, ct).ConfigureAwait(false);
            return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
        }
        catch (HttpRequestException e)
        {
            throw new ApiException(0, "Unreachable", $"cannot reach the API server at {_base}: {e.Message}");
        }
    }

    private static JsonObject Parse(string body) => JsonNode.Parse(body) as JsonObject ?? new JsonObject();

    private static void Check(int status, string body, string verb, ApiResource r, string name)
    {
        if (status is >= 200 and < 300)
        {
            return;
        }
        string reason = ((HttpStatusCode)status).ToString(), message = body;
        try
        {
            if (JsonNode.Parse(body) is JsonObject st)
            {
                reason = st["reason"]?.GetValue<string>() ?? reason;
                message = st["message"]?.GetValue<string>() ?? body;
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }
        throw new ApiException(status, reason, $"{verb} {r.Plural} \"{name}\": {status} {reason}: {message}");
    }
}
