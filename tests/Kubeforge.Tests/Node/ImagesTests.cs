using Kubeforge.Node;

namespace Kubeforge.Tests.Node;

public class ImagesTests
{
    [Theory]
    [InlineData("registry.k8s.io/coredns/coredns:v1.11.1", "registry.k8s.io", "coredns/coredns", "v1.11.1")]
    [InlineData("registry.aliyuncs.com/google_containers/pause:3.9", "registry.aliyuncs.com", "google_containers/pause", "3.9")]
    [InlineData("127.0.0.1:5000/kube-apiserver:v1.29.3", "127.0.0.1:5000", "kube-apiserver", "v1.29.3")]
    [InlineData("busybox", "docker.io", "library/busybox", "latest")]
    [InlineData("flannel/flannel:v0.25.1", "docker.io", "flannel/flannel", "v0.25.1")]
    [InlineData("localhost/x@sha256:abc", "localhost", "x", "sha256:abc")]
    public void ParsesReferences(string image, string registry, string repo, string tag)
    {
        Assert.Equal(new ImageRef(registry, repo, tag), ImageRef.Parse(image));
    }

    [Fact]
    public void ParsesBearerChallenge()
    {
        var c = RegistryClient.ParseChallenge("realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull,push\"");
        Assert.Equal("https://auth.docker.io/token", c["realm"]);
        Assert.Equal("registry.docker.io", c["service"]);
        Assert.Equal("repository:library/busybox:pull,push", c["scope"]);
        Assert.Equal("docker.io", ImageRef.Parse("busybox").Registry);
        Assert.Equal("registry-1.docker.io", ImageRef.Parse("busybox").ApiHost);
    }

    [Fact]
    public void PullCommandUsesK8sNamespaceAndHostsDir() =>
        Assert.Equal(["ctr", "--address", "/run/containerd/containerd.sock", "-n", "k8s.io", "images", "pull", "--hosts-dir", "/etc/containerd/certs.d", "registry.k8s.io/pause:3.9"],
            ImagePull.PullCommand("registry.k8s.io/pause:3.9"));
}

public class RegistryAuthTests
{
    /// <summary>Fake is a registry with token auth (Bearer realm) or basic auth, recording requests.</summary>
    private sealed class Fake(bool bearer) : HttpMessageHandler
    {
        public List<string> Seen { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage req, CancellationToken ct)
        {
            var auth = req.Headers.Authorization?.ToString();
            Seen.Add($"{req.Method} {req.RequestUri} {auth}");
            if (req.RequestUri!.AbsolutePath == "/token")
            {
                Assert.Equal("?service=reg.example&scope=repository%3Ag%2Fpause%3Apull", req.RequestUri.Query);
                return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent("{\"token\":\"T0K\"}") });
            }
            Assert.Contains("application/vnd.oci.image.index.v1+json", req.Headers.Accept.ToString());
            Assert.Contains("application/vnd.docker.distribution.manifest.v2+json", req.Headers.Accept.ToString());
            var ok = bearer ? auth == "Bearer T0K" : auth == "Basic " + Convert.ToBase64String("u:p"u8.ToArray());
            if (!ok)
            {
                var r = new HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized);
                r.Headers.WwwAuthenticate.ParseAdd(bearer
                    ? "Bearer realm=\"https://auth.example/token\",service=\"reg.example\",scope=\"repository:g/pause:pull\""
                    : "Basic realm=\"registry\"");
                return Task.FromResult(r);
            }
            var found = req.RequestUri.AbsolutePath.EndsWith("/manifests/3.9");
            var resp = new HttpResponseMessage(found ? System.Net.HttpStatusCode.OK : System.Net.HttpStatusCode.NotFound) { Content = new ByteArrayContent([]) };
            resp.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.oci.image.index.v1+json");
            return Task.FromResult(resp);
        }
    }

    [Fact]
    public async Task AnonymousBearerTokenFlowAndReuse()
    {
        var fake = new Fake(bearer: true);
        using var c = new RegistryClient(new RegistryClientOptions(), fake);
        var ok = await c.ExistsAsync("reg.example/g/pause:3.9");
        Assert.True(ok.Exists, ok.Detail);
        var missing = await c.ExistsAsync("reg.example/g/pause:9.9");
        Assert.False(missing.Exists);
        Assert.Contains("manifest unknown", missing.Detail);
        Assert.Equal(
        [
            "HEAD https://reg.example/v2/g/pause/manifests/3.9 ",
            "GET https://auth.example/token?service=reg.example&scope=repository%3Ag%2Fpause%3Apull ",
            "HEAD https://reg.example/v2/g/pause/manifests/3.9 Bearer T0K",
            "HEAD https://reg.example/v2/g/pause/manifests/9.9 Bearer T0K",
        ], fake.Seen);
    }

    [Fact]
    public async Task BasicAuthOnlyWithCredentials()
    {
        using var anon = new RegistryClient(new RegistryClientOptions(), new Fake(bearer: false));
        var r = await anon.ExistsAsync("reg.example/g/pause:3.9");
        Assert.False(r.Exists);
        Assert.Contains("refused access (401)", r.Detail);
        using var c = new RegistryClient(new RegistryClientOptions { Username = "u", Password = "p" }, new Fake(bearer: false));
        Assert.True((await c.ExistsAsync("reg.example/g/pause:3.9")).Exists);
    }
}
