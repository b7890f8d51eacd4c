using System.Text;
using Kubeforge.Cli;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Tests.ControlPlane;

namespace Kubeforge.Tests.Node;

/// <summary>OsMirrorTests check the offline OS package mirror: the apt source list and yum .repo renders (GPG checks on, the key
/// where the family keeps keys), the flag validation, the refresh of that repository alone and the refusal of a bad signature.</summary>
public class OsMirrorTests
{
    private static readonly byte[] Armored = Encoding.ASCII.GetBytes("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...\n-----END PGP PUBLIC KEY BLOCK-----\n");
    private static readonly byte[] Binary = [0x98, 0x33, 0x04, 0x65, 0x00, 0x00, 0x00, 0x00, 0x16, 0x09];

    [Fact]
    public void AptFlatAndSuiteLayouts()
    {
        var flat = OsMirror.Render(OsFamily.Deb, OsPackageMirror.Parse("http://10.98.2.1:8080/os", Armored));
        Assert.Equal("/etc/apt/sources.list.d/kubeforge-os-mirror.list", flat.Path);
        Assert.Equal("/etc/apt/keyrings/kubeforge-os-mirror.asc", flat.KeyPath);
        Assert.Equal("# Written by kubeforge: OS packages from an offline mirror\ndeb [signed-by=/etc/apt/keyrings/kubeforge-os-mirror.asc] http://10.98.2.1:8080/os/ ./\n", flat.Content);
        var suite = OsMirror.Render(OsFamily.Deb, OsPackageMirror.Parse("  https://m.example.com/debian/  bookworm main contrib", Binary));
        Assert.EndsWith("deb [signed-by=/etc/apt/keyrings/kubeforge-os-mirror.gpg] https://m.example.com/debian/ bookworm main contrib\n", suite.Content);
        Assert.EndsWith("https://m.example.com/debian/ bookworm main\n", OsMirror.Render(OsFamily.Deb, OsPackageMirror.Parse("https://m.example.com/debian bookworm", Armored)).Content);
    }

    [Fact]
    public void YumRepoChecksPackageAndRepositorySignatures()
    {
        var r = OsMirror.Render(OsFamily.Rpm, OsPackageMirror.Parse("http://10.0.0.1/rocky9/BaseOS", Armored));
        Assert.Equal("/etc/yum.repos.d/kubeforge-os-mirror.repo", r.Path);
        Assert.Equal("/etc/pki/rpm-gpg/RPM-GPG-KEY-kubeforge-os-mirror", r.KeyPath);
        Assert.Equal("# Written by kubeforge: OS packages from an offline mirror\n[kubeforge-os-mirror]\nname=OS packages (kubeforge mirror)\n" +
            "baseurl=http://10.0.0.1/rocky9/BaseOS\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kubeforge-os-mirror\n", r.Content);
        Assert.Equal(["dnf", "makecache", "--repo", "kubeforge-os-mirror"], OsMirror.RefreshCommand(OsFamily.Rpm));
    }

    [Theory]
    [InlineData("ftp://10.0.0.1/debian", "--os-package-mirror: \"ftp://10.0.0.1/debian\" is not an http(s) repository URL")]
    [InlineData("", "is not an http(s) repository URL")]
    [InlineData("10.0.0.1/debian", "is not an http(s) repository URL")]
    public void BadMirrorUrlsAreOneLine(string spec, string expected) =>
        Assert.Contains(expected, Assert.Throws<UserError>(() => OsPackageMirror.Parse(spec, Armored)).Message);

    [Fact]
    public void KeyMustBeAnOpenPgpPublicKey()
    {
        Assert.True(OsMirror.IsOpenPgpKey(Armored));
        Assert.True(OsMirror.IsOpenPgpKey(Binary));
        Assert.True(OsMirror.IsOpenPgpKey([0xC6, 0x33, 0x04, 0, 0, 0, 0, 0, 0, 0])); // new-format packet header
        Assert.False(OsMirror.IsOpenPgpKey(Encoding.ASCII.GetBytes("-----BEGIN CERTIFICATE-----\nMIIB...\n")));
        Assert.False(OsMirror.IsOpenPgpKey([0x99, 1, 2])); // too short
        Assert.Contains("--os-package-key: the file is not an OpenPGP public key", Assert.Throws<UserError>(() => OsPackageMirror.Parse("http://x/", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).Message);
        Assert.Contains("needs --os-package-key", Assert.Throws<UserError>(() => NodeCommands.ReadOsMirror("http://x/", null)).Message);
        Assert.Contains("given without --os-package-mirror", Assert.Throws<UserError>(() => NodeCommands.ReadOsMirror(null, "k.asc")).Message);
        Assert.Contains("/nonexistent/k.asc does not exist", Assert.Throws<UserError>(() => NodeCommands.ReadOsMirror("http://x/", "/nonexistent/k.asc")).Message);
        Assert.Null(NodeCommands.ReadOsMirror(null, null));
    }

    [Fact]
    public async Task ApplyWritesOnceRefreshesOnlyTheMirrorAndIsIdempotent()
    {
        var host = new FakeHost(true);
        var m = OsPackageMirror.Parse("http://10.98.2.1:8080/os", Armored);
        var s = await OsMirror.ApplyAsync(host, OsFamily.Deb, m, refresh: true);
        Assert.True(s.Changed);
        Assert.Equal(Armored, host.Files["/etc/apt/keyrings/kubeforge-os-mirror.asc"].Content);
        Assert.Contains("signed-by=", host.Text(OsMirror.AptList));
        var update = Assert.Single(host.Commands);
        Assert.Equal(["apt-get", "update", "-o", "Dir::Etc::sourcelist=/etc/apt/sources.list.d/kubeforge-os-mirror.list", "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0"], update);

        var again = await OsMirror.ApplyAsync(host, OsFamily.Deb, m, refresh: false);
        Assert.False(again.Changed);
        Assert.Single(host.Commands); // nothing changed and nothing to install: no refresh
        Assert.Equal(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "containerd"], Assert.Single(Containerd.PackageInstallCommands(OsFamily.Deb, "containerd", refresh: false)));
        Assert.Equal(2, Containerd.PackageInstallCommands(OsFamily.Deb, "containerd").Count);
    }

    [Fact]
    public async Task BadSignatureIsRefusedWithAClearMessage()
    {
        var host = new FakeHost(true);
        host.Results[string.Join(' ', OsMirror.RefreshCommand(OsFamily.Deb))] = new CommandResult(100,
            "Get:1 http://10.98.2.1:8080/os ./ InRelease [1,234 B]\nErr:1 http://10.98.2.1:8080/os ./ InRelease\n  The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 0123456789ABCDEF\n",
            "W: GPG error: http://10.98.2.1:8080/os ./ InRelease: The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 0123456789ABCDEF\n" +
            "E: The repository 'http://10.98.2.1:8080/os ./ InRelease' is not signed.\n");
        var e = await Assert.ThrowsAsync<UserError>(() => OsMirror.ApplyAsync(host, OsFamily.Deb, OsPackageMirror.Parse("http://10.98.2.1:8080/os", Armored), true));
        Assert.StartsWith("fake: the OS package mirror http://10.98.2.1:8080/os was refused: W: GPG error:", e.Message);
        Assert.Contains("NO_PUBKEY 0123456789ABCDEF", e.Message);
        Assert.Contains("--os-package-key", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        Assert.Null(OsMirror.RefusalOf(new CommandResult(0, "Hit:1 http://10.98.2.1:8080/os ./ InRelease\nReading package lists...\n", "")));
        Assert.Equal("E: Failed to fetch http://x/Packages 404 Not Found", OsMirror.RefusalOf(new CommandResult(100, "", "E: Failed to fetch http://x/Packages 404 Not Found\n")));
    }
}
