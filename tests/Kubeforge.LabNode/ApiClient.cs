using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.KubeConfig;

namespace Kubeforge.LabNode;

/// <summary>ApiError is a non-2xx answer of the API server (Status 0: unreachable).</summary>
public sealed class ApiError(int status, string message) : Exception(message)
{
    /// <summary>Status is the HTTP status code (0 when the server did not answer).</summary>
    public int Status { get; } = status;
}

/// <summary>ApiClient is the stand-ins' small REST client: built from a kubeconfig whose credentials are embedded
/// (client-certificate-data, token) or referenced by file (client-certificate/client-key, as kubelet.conf after the TLS
/// bootstrap), with the cluster CA as the only trust root. JSON through JsonNode only.</summary>
public sealed class ApiClient : IDisposable
{
    private ApiClient(HttpClient http) => Http = http;

    /// <summary>Http is the authenticated client; BaseAddress is the server URL (for HttpLeaseClient).</summary>
    public HttpClient Http { get; }

    /// <summary>FromKubeconfig builds a client from kubeconfig bytes; source names the file in errors.</summary>
    public static ApiClient FromKubeconfig(byte[] kubeconfig, string source, TimeSpan? timeout = null)
    {
        var view = KubeConfigFile.Read(kubeconfig, source);
        var server = view.Server ?? throw new ArgumentException($"{source}: no server URL");
        var caPem = view.CaPem ?? (view.Cluster.Str("certificate-authority") is { } caFile ? File.ReadAllText(caFile) : null);
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) };
        var ca = caPem is null ? null : X509Certificate2.CreateFromPem(caPem);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (cert is null || ca is null) return errors == System.Net.Security.SslPolicyErrors.None;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var leaf = X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
            return chain.Build(leaf);
        };
        var certPem = view.ClientCertPem ?? (view.User.Str("client-certificate") is { } cf ? File.ReadAllText(cf) : null);
        var keyPem = view.ClientKeyPem ?? (view.User.Str("client-key") is { } kf ? File.ReadAllText(kf) : null);
        if (certPem is not null && keyPem is not null)
        {
            using var pair = X509Certificate2.CreateFromPem(certPem, keyPem);
            var pfx = X509CertificateLoader.LoadPkcs12(pair.Export(X509ContentType.Pkcs12), null);
            handler.SslOptions.ClientCertificates = [pfx];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => pfx;
        }
        var http = new HttpClient(handler) { BaseAddress = new Uri(server.TrimEnd('/') + "/"), Timeout = timeout ?? TimeSpan.FromSeconds(15) };
        if (view.User.Str("token") is { } token) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new ApiClient(http);
    }

    /// <summary>SendAsync sends one request; returns the status and the parsed JSON body (null when not JSON).</summary>
    public async Task<(int Status, JsonObject? Body)> SendAsync(HttpMethod method, string path, JsonObject? body = null,
        string contentType = "application/json", CancellationToken ct = default)
    {
        using var req = new HttpRequestMessage(method, path.TrimStart('/'));
        req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null) req.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, contentType);
        try
        {
            using var resp = await Http.SendAsync(req, ct).ConfigureAwait(false);
            var text = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            JsonObject? obj = null;
            try { obj = JsonNode.Parse(text) as JsonObject; }
            catch (System.Text.Json.JsonException) { }
            return ((int)resp.StatusCode, obj);
        }
        catch (HttpRequestException e)
        {
            throw new ApiError(0, $"{method} {path}: cannot reach the API server at {Http.BaseAddress}: {e.Message}");
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new ApiError(0, $"{method} {path}: timed out: {e.Message}");
        }
    }

    /// <summary>GetAsync returns the object, or null on 404; other failures throw ApiError.</summary>
    public async Task<JsonObject?> GetAsync(string path, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, path, ct: ct).ConfigureAwait(false);
        return status == 404 ? null : Check(status, body, "GET", path);
    }

    /// <summary>PostAsync creates an object; throws ApiError (409 when it exists).</summary>
    public async Task<JsonObject> PostAsync(string path, JsonObject obj, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, path, obj, ct: ct).ConfigureAwait(false);
        return Check(status, body, "POST", path);
    }

    /// <summary>PutAsync replaces an object (or a subresource such as /status).</summary>
    public async Task<JsonObject> PutAsync(string path, JsonObject obj, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Put, path, obj, ct: ct).ConfigureAwait(false);
        return Check(status, body, "PUT", path);
    }

    /// <summary>DeleteAsync deletes an object; 404 is not an error.</summary>
    public async Task DeleteAsync(string path, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Delete, path, ct: ct).ConfigureAwait(false);
        if (status != 404) Check(status, body, "DELETE", path);
    }

    private static JsonObject Check(int status, JsonObject? body, string verb, string path) =>
        status is >= 200 and < 300 && body is not null ? body
        : throw new ApiError(status, $"{verb} {path}: {status} {(string?)body?["reason"]}: {(string?)body?["message"]}");

    /// <summary>Dispose releases the HTTP client.</summary>
    public void Dispose() => Http.Dispose();
}
