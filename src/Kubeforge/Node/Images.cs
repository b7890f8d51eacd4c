using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Node;

/// <summary>ImageRef is a parsed image reference: registry host[:port], repository path and tag.</summary>
public sealed record ImageRef(string Registry, string Repository, string Tag)
{
    /// <summary>Parse splits "registry.k8s.io/coredns/coredns:v1.11.1"; no registry means docker.io (library/ for one-part names).</summary>
    public static ImageRef Parse(string image)
    {
        var at = image.IndexOf('@');
        var rest = at >= 0 ? image[..at] : image;
        var digest = at >= 0 ? image[(at + 1)..] : null;
        var slash = rest.IndexOf('/');
        var first = slash > 0 ? rest[..slash] : "";
        string registry, path;
        if (slash > 0 && (first.Contains('.') || first.Contains(':') || first == "localhost"))
        {
            (registry, path) = (first, rest[(slash + 1)..]);
        }
        else
        {
            (registry, path) = ("docker.io", rest);
        }
        var colon = path.LastIndexOf(':');
        var tag = digest ?? (colon > 0 ? path[(colon + 1)..] : "latest");
        if (colon > 0 && digest is null)
        {
            path = path[..colon];
        }
        if (registry == "docker.io" && !path.Contains('/'))
        {
            path = "library/" + path;
        }
        return new ImageRef(registry, path, tag);
    }

    /// <summary>ApiHost is where the registry API answers (docker.io → registry-1.docker.io).</summary>
    public string ApiHost => Registry == "docker.io" ? "registry-1.docker.io" : Registry;
}

/// <summary>ImageCheckResult says whether one image:tag exists in its registry.</summary>
public sealed record ImageCheckResult(string Image, bool Exists, string Detail);

/// <summary>RegistryClientOptions: basic auth credentials, a CA file to trust (PEM), plain HTTP for lab registries.</summary>
public sealed record RegistryClientOptions
{
    public string? Username { get; init; }
    public string? Password { get; init; }
    public string? CaFile { get; init; }
    public bool PlainHttp { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>RegistryClient asks a registry (Docker Registry HTTP API v2) whether manifests exist: HEAD /v2/&lt;name&gt;/manifests/&lt;tag&gt;
/// with OCI and Docker Accept headers; on 401 it follows WWW-Authenticate (Bearer: anonymous or basic-authenticated token
/// request; Basic: the credentials).</summary>
public sealed class RegistryClient : IDisposable
{
    /// <summary>ManifestTypes are the Accept values sent (OCI index/manifest, Docker list/manifest v2).</summary>
    public static readonly string[] ManifestTypes =
    [
        "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
    ];

    private readonly HttpClient _http;
    private readonly RegistryClientOptions _o;
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);

    /// <summary>RegistryClient uses the given HTTP handler (tests, proxies); CaFile is not applied.</summary>
    public RegistryClient(RegistryClientOptions options, HttpMessageHandler handler)
    {
        _o = options;
        _http = new HttpClient(handler) { Timeout = _o.Timeout };
    }

    /// <summary>RegistryClient builds the HTTP client (trusting CaFile in addition to the system roots when given).</summary>
    public RegistryClient(RegistryClientOptions? options = null)
    {
        _o = options ?? new RegistryClientOptions();
        var handler = new SocketsHttpHandler { AllowAutoRedirect = true };
        if (_o.CaFile is { } ca)
        {
            if (!File.Exists(ca))
            {
                throw new UserError($"--ca-file: {ca} does not exist; give the PEM file of the CA that signed the registry's certificate");
            }
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(ca);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            {
                if (errors == System.Net.Security.SslPolicyErrors.None)
                {
                    return true;
                }
                if (cert is null || errors.HasFlag(System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch))
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(cert));
            };
        }
        _http = new HttpClient(handler) { Timeout = _o.Timeout };
    }

    /// <summary>ExistsAsync checks one image reference.</summary>
    public async Task<ImageCheckResult> ExistsAsync(string image, CancellationToken ct = default)
    {
        var r = ImageRef.Parse(image);
        var url = $"{(_o.PlainHttp ? "http" : "https")}://{r.ApiHost}/v2/{r.Repository}/manifests/{r.Tag}";
        try
        {
            using var resp = await SendAsync(HttpMethod.Head, url, r, ct).ConfigureAwait(false);
            return resp.StatusCode switch
            {
                HttpStatusCode.OK => new(image, true, resp.Content.Headers.ContentType?.MediaType ?? "found"),
                HttpStatusCode.NotFound => new(image, false, $"not found in {r.Registry} (manifest unknown)"),
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new(image, false, $"{r.Registry} refused access ({(int)resp.StatusCode}); give credentials"),
                _ => new(image, false, $"{r.Registry} answered {(int)resp.StatusCode} {resp.ReasonPhrase}"),
            };
        }
        catch (HttpRequestException e)
        {
            return new(image, false, $"cannot reach {r.ApiHost}: {e.InnerException?.Message ?? e.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new(image, false, $"{r.ApiHost} did not answer within {_o.Timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>CheckAllAsync checks every image (four at a time) and keeps the order.</summary>
    public async Task<IReadOnlyList<ImageCheckResult>> CheckAllAsync(IEnumerable<string> images, CancellationToken ct = default)
    {
        using var gate = new SemaphoreSlim(4);
        var tasks = images.Select(async i =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try { return await ExistsAsync(i, ct).ConfigureAwait(false); }
            finally { gate.Release(); }
        }).ToList();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private HttpRequestMessage Request(HttpMethod m, string url, string? auth)
    {
        var req = new HttpRequestMessage(m, url);
        foreach (var t in ManifestTypes)
        {
            req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(t));
        }
        if (auth is not null)
        {
            req.Headers.TryAddWithoutValidation("Authorization", auth);
        }
        return req;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod m, string url, ImageRef r, CancellationToken ct)
    {
        var scope = $"repository:{r.Repository}:pull";
        _tokens.TryGetValue(r.ApiHost + " " + scope, out var auth);
        var resp = await _http.SendAsync(Request(m, url, auth), ct).ConfigureAwait(false);
        if (resp.StatusCode != HttpStatusCode.Unauthorized)
        {
            return resp;
        }
        var challenge = resp.Headers.WwwAuthenticate.FirstOrDefault();
        resp.Dispose();
        if (challenge is null)
        {
            return new HttpResponseMessage(HttpStatusCode.Unauthorized);
        }
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            auth = BasicAuth();
        }
        else if (challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            auth = await TokenAsync(ParseChallenge(challenge.Parameter ?? ""), scope, ct).ConfigureAwait(false);
        }
        if (auth is null)
        {
            return new HttpResponseMessage(HttpStatusCode.Unauthorized);
        }
        lock (_tokens)
        {
            _tokens[r.ApiHost + " " + scope] = auth;
        }
        return await _http.SendAsync(Request(m, url, auth), ct).ConfigureAwait(false);
    }

    private string? BasicAuth() => _o.Username is null ? null
        : "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{_o.Username}:{_o.Password}"));

    private async Task<string?> TokenAsync(IReadOnlyDictionary<string, string> c, string scope, CancellationToken ct)
    {
        if (!c.TryGetValue("realm", out var realm))
        {
            return null;
        }
        var q = new List<string>();
        if (c.TryGetValue("service", out var service))
        {
            q.Add("service=" + Uri.EscapeDataString(service));
        }
        q.Add("scope=" + Uri.EscapeDataString(c.GetValueOrDefault("scope", scope)));
        using var req = new HttpRequestMessage(HttpMethod.Get, realm + (realm.Contains('?') ? "&" : "?") + string.Join("&", q));
        if (BasicAuth() is { } basic)
        {
            req.Headers.TryAddWithoutValidation("Authorization", basic);
        }
        using var resp = await _http.SendAsync(req, ct).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode)
        {
            return null;
        }
        var json = JsonNode.Parse(await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
        var token = json?["token"]?.GetValue<string>() ?? json?["access_token"]?.GetValue<string>();
        return token is null ? null : "Bearer " + token;
    }

    /// <summary>ParseChallenge reads the key="value" pairs of a WWW-Authenticate parameter (commas inside quotes kept).</summary>
    public static IReadOnlyDictionary<string, string> ParseChallenge(string parameter)
    {
        var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || parameter[i] == ' ')) i++;
            var eq = parameter.IndexOf('=', i);
            if (eq < 0) break;
            var key = parameter[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                var end = parameter.IndexOf('"', i + 1);
                if (end < 0) end = parameter.Length;
                value = parameter[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                var end = parameter.IndexOf(',', i);
                if (end < 0) end = parameter.Length;
                value = parameter[i..end].Trim();
                i = end;
            }
            d[key] = value;
        }
        return d;
    }

    /// <summary>Dispose releases the HTTP client.</summary>
    public void Dispose() => _http.Dispose();
}

/// <summary>ImagePull pulls images into containerd's k8s.io namespace on a host (kubeadm config images pull), using the hosts.toml
/// mirrors under /etc/containerd/certs.d.</summary>
public static class ImagePull
{
    /// <summary>PullCommand is the argv that pulls one image.</summary>
    public static IReadOnlyList<string> PullCommand(string image) =>
        ["ctr", "--address", Containerd.Socket, "-n", "k8s.io", "images", "pull", "--hosts-dir", Containerd.CertsDir, image];

    /// <summary>PullAllAsync pulls each image in order and reports it; a failure is a UserError naming the image.</summary>
    public static async Task PullAllAsync(IHost host, IReadOnlyList<string> images, IUi ui, CancellationToken ct = default)
    {
        foreach (var image in images)
        {
            var r = await host.RunAsync(PullCommand(image), null, ct).ConfigureAwait(false);
            if (!r.Ok)
            {
                throw new UserError($"{host.Name}: failed to pull image {image}: {OsPrep.FirstLine(r.Stderr)}; check `kubeforge images check` and the registry mirror");
            }
            ui.Raw($"[config/images] Pulled {image}\n");
        }
    }
}
