using System.Security.Cryptography.X509Certificates;
using Kubeforge.Cli;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Pki;
using Kubeforge.Tests.ControlPlane;

namespace Kubeforge.Tests.Pki;

public class MirrorCaTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void IssuesServerCertWithSans()
    {
        var ca = MirrorCa.Create("Mirror CA", 3650, Now, "ECDSA-P256");
        Assert.True(CertFactory.IsCa(ca.Cert));
        var leaf = MirrorCa.Issue(ca, "*.k8s.io", ["registry.local", "127.0.0.1"], 825, Now, "ECDSA-P256");
        Assert.True(CertFactory.VerifiesWith(leaf.Cert, ca.Cert));
        var san = leaf.Cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["registry.local", "*.k8s.io"], san.EnumerateDnsNames());
        Assert.Equal("127.0.0.1", san.EnumerateIPAddresses().Single().ToString());
        Assert.Equal("wildcard.k8s.io", MirrorCa.FileBase("*.k8s.io"));
        Assert.Throws<UserError>(() => MirrorCa.Issue(ca, "x", ["bad name!"], 1, Now, "ECDSA-P256"));
    }

    [Fact]
    public void WritesKeyPrivateAndRefusesOverwrite()
    {
        var dir = Directory.CreateTempSubdirectory("kf-ca-").FullName;
        try
        {
            var ca = MirrorCa.Create("Mirror CA", 10, Now, "ECDSA-P256");
            var (c, k) = MirrorCa.WriteLocal(dir, "ca", ca);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(k));
            Assert.Throws<UserError>(() => MirrorCa.WriteLocal(dir, "ca", ca));
            var loaded = MirrorCa.LoadLocal(dir);
            Assert.Equal(ca.Cert.Thumbprint, loaded.Cert.Thumbprint);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task TrustPerFamilyAndContainerd()
    {
        Assert.Equal("/etc/pki/ca-trust/source/anchors/m.crt", MirrorCa.TrustTarget(OsFamily.Rpm, "m").Path);
        Assert.Equal(["update-ca-certificates"], MirrorCa.TrustTarget(OsFamily.Deb, "m").Refresh);
        var host = new FakeHost(true);
        var pem = MirrorCa.Create("Mirror CA", 10, Now, "ECDSA-P256").CertPem;
        var steps = await MirrorCa.TrustAsync(host, OsFamily.Rpm, pem, "m", "mirror.local:5000");
        Assert.True(steps.All(s => s.Changed));
        Assert.Equal(pem, host.Text("/etc/pki/ca-trust/source/anchors/m.crt"));
        Assert.Contains("ca = \"/etc/containerd/certs.d/mirror.local:5000/ca.crt\"", host.Text("/etc/containerd/certs.d/mirror.local:5000/hosts.toml"));
        Assert.Contains(host.Commands, c => c.SequenceEqual(["update-ca-trust", "extract"]));
        host.Commands.Clear();
        var again = await MirrorCa.TrustAsync(host, OsFamily.Rpm, pem, "m", "mirror.local:5000");
        Assert.All(again, s => Assert.False(s.Changed));
        Assert.Empty(host.Commands);
    }

    [Theory]
    [InlineData("kf@10.0.0.5", "kf", "10.0.0.5", 22)]
    [InlineData("10.0.0.5:2222", "root", "10.0.0.5", 2222)]
    [InlineData("root@[fd00::5]:2200", "root", "fd00::5", 2200)]
    [InlineData("fd00::5", "root", "fd00::5", 22)]
    public void HostTargets(string s, string user, string addr, int port) =>
        Assert.Equal((user, addr, port), HostOptions.ParseTarget(s));
}
