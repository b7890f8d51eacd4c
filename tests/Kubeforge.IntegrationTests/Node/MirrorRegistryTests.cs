using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Kubeforge.Cli;
using Kubeforge.IntegrationTests.Hosts;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.Node;

namespace Kubeforge.IntegrationTests.Node;

/// <summary>MirrorRegistryTests: a CA and a server certificate from `kubeforge ca`, checked with openssl, serve a real
/// docker-registry on 127.0.0.1; a tiny image is pushed through the registry API; `images check` finds it and names what is missing.</summary>
public sealed class MirrorRegistryTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-registry-").FullName;
    private Process? _registry;
    private int _port;
    private string Ca => Path.Join(_dir, "ca", "ca.crt");

    public async Task InitializeAsync()
    {
        Assert.Equal(0, App.Run(["ca", "create", "--out", Path.Join(_dir, "ca"), "--cn", "Test Mirror CA", "--days", "30"], new StringWriter(), new StringWriter()));
        var err = new StringWriter();
        Assert.True(0 == App.Run(["ca", "issue", "--ca", Path.Join(_dir, "ca"), "--cn", "registry.local", "--san", "127.0.0.1,localhost", "--out", Path.Join(_dir, "srv")],
            new StringWriter(), err), err.ToString());
        _port = SshdFixture.FreePort();
        File.WriteAllText(Path.Join(_dir, "config.yml"), $"""
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: {_dir}/data
            http:
              addr: 127.0.0.1:{_port}
              tls:
                certificate: {_dir}/srv/registry.local.crt
                key: {_dir}/srv/registry.local.key
            """);
        _registry = Proc.Start(Path.Join(_dir, "registry.log"), "docker-registry", "serve", Path.Join(_dir, "config.yml"));
        using var http = Client();
        Assert.True(Proc.WaitUntil(() =>
        {
            try { return http.GetAsync($"https://127.0.0.1:{_port}/v2/").Result.StatusCode == HttpStatusCode.OK; }
            catch (AggregateException) { return false; }
        }, TimeSpan.FromSeconds(20)), File.ReadAllText(Path.Join(_dir, "registry.log")));
        await PushAsync(http, "google_containers/pause", "3.9");
        await PushAsync(http, "google_containers/kube-apiserver", "v1.29.3");
    }

    private HttpClient Client()
    {
        var handler = new HttpClientHandler();
        var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        roots.ImportFromPemFile(Ca);
        handler.ServerCertificateCustomValidationCallback = (_, cert, _, errors) =>
        {
            using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
            chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            return cert is not null && chain.Build(cert);
        };
        return new HttpClient(handler);
    }

    private async Task<string> BlobAsync(HttpClient http, string repo, byte[] data)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
        var start = await http.PostAsync($"https://127.0.0.1:{_port}/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var loc = start.Headers.Location!.IsAbsoluteUri ? start.Headers.Location : new Uri(new Uri($"https://127.0.0.1:{_port}"), start.Headers.Location);
        var put = await http.PutAsync(loc + (loc.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest),
            new ByteArrayContent(data) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        return digest;
    }

    private async Task PushAsync(HttpClient http, string repo, string tag)
    {
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        var layer = new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
        var cd = await BlobAsync(http, repo, config);
        var ld = await BlobAsync(http, repo, layer);
        var manifest = $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{cd}\",\"size\":{config.Length}}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{ld}\",\"size\":{layer.Length}}}]}}";
        var put = await http.PutAsync($"https://127.0.0.1:{_port}/v2/{repo}/manifests/{tag}",
            new StringContent(manifest, new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json")));
        Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
    }

    [Fact]
    public void IssuedCertificateVerifiesWithOpenssl()
    {
        var (code, output) = Proc.Run("openssl", "verify", "-CAfile", Ca, Path.Join(_dir, "srv", "registry.local.crt"));
        Assert.True(code == 0, output);
        var (_, text) = Proc.Run("openssl", "x509", "-noout", "-text", "-in", Path.Join(_dir, "srv", "registry.local.crt"));
        Assert.Contains("DNS:localhost", text);
        Assert.Contains("IP Address:127.0.0.1", text);
        Assert.Contains("TLS Web Server Authentication", text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Join(_dir, "ca", "ca.key")));
        var (_, caText) = Proc.Run("openssl", "x509", "-noout", "-subject", "-in", Ca);
        Assert.Contains("CN = Test Mirror CA", caText);
    }

    [Fact]
    public async Task ClientFindsPushedTagsAndMissesOthers()
    {
        using var client = new RegistryClient(new RegistryClientOptions { CaFile = Ca });
        var r = await client.CheckAllAsync([$"127.0.0.1:{_port}/google_containers/pause:3.9", $"127.0.0.1:{_port}/google_containers/pause:9.9"]);
        Assert.True(r[0].Exists, r[0].Detail);
        Assert.Equal("application/vnd.oci.image.manifest.v1+json", r[0].Detail);
        Assert.False(r[1].Exists);
        Assert.Contains("not found", r[1].Detail);
        using var untrusting = new RegistryClient();
        var u = await untrusting.ExistsAsync($"127.0.0.1:{_port}/google_containers/pause:3.9");
        Assert.False(u.Exists);
        Assert.Contains("cannot reach", u.Detail);
    }

    [Fact]
    public void ImagesCheckCliNamesMissingImages()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run(["images", "check", "--kubernetes-version", "v1.29.3", "--image-repository", $"127.0.0.1:{_port}/google_containers", "--ca-file", Ca], o, e);
        Assert.Equal(1, code);
        Assert.Contains($"OK      127.0.0.1:{_port}/google_containers/kube-apiserver:v1.29.3", o.ToString());
        Assert.Contains($"OK      127.0.0.1:{_port}/google_containers/pause:3.9", o.ToString());
        Assert.Contains($"MISSING 127.0.0.1:{_port}/google_containers/kube-scheduler:v1.29.3", o.ToString());
        Assert.Contains("5 of 7 images are not available", e.ToString());
        Assert.Contains("kube-proxy:v1.29.3", e.ToString());
    }

    public Task DisposeAsync()
    {
        if (_registry is not null)
        {
            Proc.Stop(_registry);
        }
        Directory.Delete(_dir, true);
        return Task.CompletedTask;
    }
}
