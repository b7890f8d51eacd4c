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
    private TestRegistry _reg = null!;
    private int _port;
    private string _dir => _reg.Dir;
    private string Ca => _reg.Ca;

    public async Task InitializeAsync()
    {
        _port = SshdFixture.FreePort();
        _reg = new TestRegistry("127.0.0.1", _port);
        await _reg.PushAsync("google_containers/pause", "3.9");
        await _reg.PushAsync("google_containers/kube-apiserver", "v1.29.3");
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
        _reg.Dispose();
        return Task.CompletedTask;
    }
}
