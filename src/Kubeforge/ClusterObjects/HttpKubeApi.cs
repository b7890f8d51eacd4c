using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;

namespace Kubeforge.ClusterObjects;

/// <summary>HttpKubeApi is the real API port: KubernetesClient builds the authenticated HTTPS client from a
/// kubeconfig (client certificates, tokens, CA trust), and the calls are generic JSON REST.</summary>
public sealed class HttpKubeApi : IKubeApi, IDisposable
{
    private readonly Kubernetes _client;
    private readonly Uri _base;

    private HttpKubeApi(Kubernetes client)
    {
        _client = client;
        _base = client.BaseUri;
    }

    /// <summary>FromKubeConfig builds the port from kubeconfig bytes (e.g. admin.conf).</summary>
    public static HttpKubeApi FromKubeConfig(byte[] kubeconfig, TimeSpan? timeout = null)
    {
        using var ms = new MemoryStream(kubeconfig);
        var cfg = KubernetesClientConfiguration.BuildConfigFromConfigFile(ms);
        cfg.HttpClientTimeout = timeout ?? TimeSpan.FromSeconds(30);
        return new HttpKubeApi(new Kubernetes(cfg));
    }

    public Uri BaseUri => _base;

    public void Dispose() => _client.Dispose();

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
        if (_client.Credentials is { } creds)
        {
            await creds.ProcessHttpRequestAsync(req, ct).ConfigureAwait(false);
        }
        try
        {
            using var resp = await _client.HttpClient.SendAsync(req, ct).ConfigureAwait(false);
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
