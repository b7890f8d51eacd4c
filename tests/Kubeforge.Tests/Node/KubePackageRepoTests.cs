using System.Text;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Tests.ControlPlane;
using Kubeforge.Versions;

namespace Kubeforge.Tests.Node;

/// <summary>KubePackageRepoTests check Kubernetes packages from a custom pkgs.k8s.io-layout repository: the presets' bases render
/// byte-identically to the presets, a given key is written to the host instead of fetched, only that repository is refreshed,
/// and a signature the key does not verify is one clear refusal.</summary>
public class KubePackageRepoTests
{
    private static readonly byte[] Armored = Encoding.ASCII.GetBytes("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...\n-----END PGP PUBLIC KEY BLOCK-----\n");
    private static readonly byte[] Binary = [0x98, 0x33, 0x04, 0x65, 0x00, 0x00, 0x00, 0x00, 0x16, 0x09];

    private static VersionProfile P(string v) => VersionTable.TryGet(KubeVersion.Parse(v), out var p) ? p : throw new InvalidOperationException();

    [Theory]
    [InlineData(OsFamily.Deb, "https://pkgs.k8s.io/core:/stable:/", PackageSource.Upstream)]
    [InlineData(OsFamily.Rpm, "https://pkgs.k8s.io/core:/stable:/", PackageSource.Upstream)]
    [InlineData(OsFamily.Deb, "https://mirrors.aliyun.com/kubernetes-new/core/stable/", PackageSource.Aliyun)]
    [InlineData(OsFamily.Rpm, "https://mirrors.aliyun.com/kubernetes-new/core/stable/", PackageSource.Aliyun)]
    public void PresetBasesRenderLikeThePresets(OsFamily family, string b, PackageSource source)
    {
        Assert.Equal(Packages.Render(family, P("v1.29.3"), source), Packages.Render(family, P("v1.29.3"), new KubePackageRepo(b)));
        Assert.Equal(Packages.Render(family, P("v1.31.1"), source), Packages.Render(family, P("v1.31.1"), new KubePackageRepo(b.TrimEnd('/'))));
    }

    [Fact]
    public void CustomBaseWithAKeyIsSignedByTheWrittenKey()
    {
        var deb = Packages.Render(OsFamily.Deb, P("v1.29.3"), new KubePackageRepo("http://10.98.2.1:8080/k8s/", Armored));
        Assert.Equal("/etc/apt/sources.list.d/kubernetes.list", deb.Path);
        Assert.Equal("# Written by kubeforge\ndeb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] http://10.98.2.1:8080/k8s/v1.29/deb/ /\n", deb.Content);
        Assert.Null(deb.KeyUrl);
        Assert.Equal("/etc/apt/keyrings/kubernetes-apt-keyring.gpg", Packages.Render(OsFamily.Deb, P("v1.29.3"), new KubePackageRepo("http://m/k8s", Binary)).KeyPath);
        var rpm = Packages.Render(OsFamily.Rpm, P("v1.30.2"), new KubePackageRepo("http://m/k8s", Binary));
        Assert.Equal("# Written by kubeforge\n[kubernetes]\nname=Kubernetes\nbaseurl=http://m/k8s/v1.30/rpm/\nenabled=1\ngpgcheck=1\n" +
            "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kubernetes-kubeforge\nexclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n", rpm.Content);
        Assert.Equal(Packages.YumKey, rpm.KeyPath);
        // without a key the repository's own Release.key is fetched, as from pkgs.k8s.io
        Assert.Equal("http://m/k8s/v1.29/deb/Release.key", Packages.Render(OsFamily.Deb, P("v1.29.3"), new KubePackageRepo("http://m/k8s")).KeyUrl);
    }

    [Fact]
    public void CustomInstallRefreshesOnlyTheRepositoryPinsAndHolds()
    {
        var v = KubeVersion.Parse("v1.29.3");
        var deb = Packages.InstallCommands(OsFamily.Deb, v, P("v1.29.3"), new KubePackageRepo("http://m/k8s/", Armored), withKubeadm: false);
        Assert.Equal(3, deb.Count);
        Assert.Equal(["apt-get", "update", "-o", "Dir::Etc::sourcelist=/etc/apt/sources.list.d/kubernetes.list", "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0"], deb[0]);
        Assert.Equal(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--allow-change-held-packages", "kubelet=1.29.3-*", "kubectl=1.29.3-*", "cri-tools=1.29.*"], deb[1]);
        Assert.Equal(["apt-mark", "hold", "kubelet", "kubectl", "cri-tools"], deb[2]);
        var fetch = Packages.InstallCommands(OsFamily.Deb, v, P("v1.29.3"), new KubePackageRepo("http://m/k8s/"), withKubeadm: true);
        Assert.Equal(["curl", "-fsSL", "-o", "/etc/apt/keyrings/kubernetes-apt-keyring.asc", "http://m/k8s/v1.29/deb/Release.key"], fetch[1]);
        Assert.Equal(["apt-mark", "hold", "kubelet", "kubectl", "cri-tools", "kubeadm"], fetch[^1]);
        var rpm = Packages.InstallCommands(OsFamily.Rpm, v, P("v1.29.3"), new KubePackageRepo("http://m/k8s/", Armored), withKubeadm: false);
        Assert.Equal(["dnf", "makecache", "--repo", "kubernetes"], rpm[0]);
        Assert.Equal(["dnf", "install", "-y", "kubelet-1.29.3", "kubectl-1.29.3", "cri-tools-1.29.*", "--disableexcludes=kubernetes"], rpm[1]);
    }

    [Fact]
    public async Task InstallWritesTheKeyAndTheListOnce()
    {
        var host = new FakeHost(true);
        var repo = new KubePackageRepo("http://10.98.2.1:8080/k8s/", Armored);
        var steps = await Packages.InstallAsync(host, OsFamily.Deb, KubeVersion.Parse("v1.29.3"), P("v1.29.3"), repo, withKubeadm: false);
        Assert.Equal(Armored, host.Files["/etc/apt/keyrings/kubernetes-apt-keyring.asc"].Content);
        Assert.Contains("signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] http://10.98.2.1:8080/k8s/v1.29/deb/ /", host.Text(Packages.AptList));
        Assert.True(steps[0].Changed);
        Assert.Equal(3, host.Commands.Count);
        Assert.DoesNotContain(host.Commands, c => c[0] == "curl");
        var writes = host.Writes;
        var again = await Packages.InstallAsync(host, OsFamily.Deb, KubeVersion.Parse("v1.29.3"), P("v1.29.3"), repo, withKubeadm: false);
        Assert.False(again[0].Changed);
        Assert.Equal(writes, host.Writes);
    }

    [Fact]
    public async Task BadSignatureIsRefusedWithOneLine()
    {
        var host = new FakeHost(true);
        host.Results[string.Join(' ', Packages.RefreshCommand(OsFamily.Deb))] = new CommandResult(100, "Err:1 http://10.98.2.1:8080/k8s/v1.29/deb  InRelease\n",
            "W: GPG error: http://10.98.2.1:8080/k8s/v1.29/deb  InRelease: The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 0123456789ABCDEF\n" +
            "E: The repository 'http://10.98.2.1:8080/k8s/v1.29/deb  InRelease' is not signed.\n");
        var e = await Assert.ThrowsAsync<UserError>(() => Packages.InstallAsync(host, OsFamily.Deb, KubeVersion.Parse("v1.29.3"), P("v1.29.3"),
            new KubePackageRepo("http://10.98.2.1:8080/k8s/", Armored), withKubeadm: false));
        Assert.StartsWith("fake: the Kubernetes package repository http://10.98.2.1:8080/k8s/v1.29/deb/ was refused: W: GPG error:", e.Message);
        Assert.Contains("spec.mirror.packageKey", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain(host.Commands, c => c.Contains("install"));
    }
}
