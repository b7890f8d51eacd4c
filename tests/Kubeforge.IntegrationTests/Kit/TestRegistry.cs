using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kubeforge.Cli;

namespace Kubeforge.IntegrationTests.Kit;

/// <summary>TestRegistry is a real docker-registry (Debian package docker-registry) serving TLS with a certificate from
/// `kubeforge ca issue` (CA from `kubeforge ca create`), in a temp folder it deletes; Push uploads a tiny valid image
/// (one empty gzip tar layer) through the registry API.</summary>
public sealed class TestRegistry : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("kf-registry-").FullName;
    public string CaDir => Path.Join(Dir, "ca");
    public string Ca => Path.Join(CaDir, "ca.crt");
    public string ServerCert => Path.Join(Dir, "srv", "registry.local.crt");
    public string Address { get; }
    public int Port { get; }
    public string Host => $"{Address}:{Port}";
    private readonly Process _p;
    private readonly HttpClient _http;

    public TestRegistry(string address, int port)
    {
        Address = address;
        Port = port;
        var err = new StringWriter();
        Check(App.Run(["ca", "create", "--out", CaDir, "--cn", "Test Mirror CA", "--days", "30"], new StringWriter(), err), err);
        Check(App.Run(["ca", "issue", "--ca", CaDir, "--cn", "registry.local", "--san", $"{address},localhost", "--out", Path.Join(Dir, "srv")], new StringWriter(), err), err);
        File.WriteAllText(Path.Join(Dir, "config.yml"), $"""
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: {Dir}/data
            http:
              addr: {address}:{port}
              tls:
                certificate: {Dir}/srv/registry.local.crt
                key: {Dir}/srv/registry.local.key
            """);
        _p = Proc.Start(Path.Join(Dir, "registry.log"), "docker-registry", "serve", Path.Join(Dir, "config.yml"));
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(Ca);
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return cert is not null && chain.Build(cert);
            },
        };
        _http = new HttpClient(handler);
        if (!Proc.WaitUntil(() =>
            {
                try { return _http.GetAsync($"https://{Host}/v2/").Result.StatusCode == HttpStatusCode.OK; }
                catch (AggregateException) { return false; }
            }, TimeSpan.FromSeconds(20)))
        {
            throw new InvalidOperationException("registry did not answer: " + File.ReadAllText(Path.Join(Dir, "registry.log")));
        }
    }

    private static void Check(int code, StringWriter err)
    {
        if (code != 0)
        {
            throw new InvalidOperationException(err.ToString());
        }
    }

    private async Task<string> BlobAsync(string repo, byte[] data)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
        var start = await _http.PostAsync($"https://{Host}/v2/{repo}/blobs/uploads/", null);
        if (start.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"upload start: {start.StatusCode}");
        }
        var loc = start.Headers.Location!.IsAbsoluteUri ? start.Headers.Location : new Uri(new Uri($"https://{Host}"), start.Headers.Location);
        var put = await _http.PutAsync(loc + (loc.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest),
            new ByteArrayContent(data) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });
        if (put.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"upload: {put.StatusCode}");
        }
        return digest;
    }

    /// <summary>PushAsync uploads a minimal linux/amd64 OCI image as repo:tag.</summary>
    public async Task PushAsync(string repo, string tag)
    {
        var tar = new byte[1024]; // an empty tar archive: two zero blocks
        using var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(tar);
        }
        var layer = gz.ToArray();
        var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{diffId}\"]}}}}");
        var cd = await BlobAsync(repo, config);
        var ld = await BlobAsync(repo, layer);
        var manifest = $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{cd}\",\"size\":{config.Length}}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{ld}\",\"size\":{layer.Length}}}]}}";
        var put = await _http.PutAsync($"https://{Host}/v2/{repo}/manifests/{tag}",
            new StringContent(manifest, new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json")));
        if (put.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"manifest: {put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>PushPlanAsync pushes every image:tag of a plan (references must start with Host/).</summary>
    public async Task PushPlanAsync(IEnumerable<string> images)
    {
        foreach (var i in images)
        {
            var rest = i[(Host.Length + 1)..];
            var colon = rest.LastIndexOf(':');
            await PushAsync(rest[..colon], rest[(colon + 1)..]);
        }
    }

    public void Dispose()
    {
        Proc.Stop(_p);
        _http.Dispose();
        Directory.Delete(Dir, true);
    }
}
