using System.Diagnostics;
using Kubeforge.Cli;
using Kubeforge.IntegrationTests.Kit;

namespace Kubeforge.IntegrationTests.Lab;

/// <summary>LabOfflineMirrorTests run `kubeforge prepare` over SSH on lab host h1 (tests/lab/lab.sh up 1) for what an air-gapped
/// site meets: containerd installed for real from a signed offline apt repository that this machine builds from Debian's .debs and
/// serves on the lab bridge (a repository signed by another key is refused), and an active swap file (lab.sh KFLAB_SWAP=1 lets
/// the host swapon) turned off for good. Each test stops the lab it started and every process it started.</summary>
[Collection("lab")]
public sealed class LabOfflineMirrorTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("kf-lab-mirror-").FullName;
    private readonly AptRepoKit _repos;
    private string? _swapFile;

    public LabOfflineMirrorTests() => _repos = new AptRepoKit(_tmp);

    private static string[] HostArgs => ["--host", $"root@{LabKit.Addr(1)}", "--ssh-key", LabKit.Key, "--known-hosts", LabKit.KnownHosts];

    private static (int Code, string Output) SshTry(string script) => Proc.RunWithTimeout(TimeSpan.FromSeconds(120), "ssh", "-i", LabKit.Key,
        "-o", "UserKnownHostsFile=" + LabKit.KnownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", $"root@{LabKit.Addr(1)}", script);

    private static string Ssh(string script)
    {
        var (code, output) = SshTry(script);
        Assert.True(code == 0, $"ssh {script}: {output}");
        return output;
    }

    private static (int Code, string Out, string Err) Kf(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run([.. args, .. HostArgs], o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static void Up(bool swap)
    {
        var (code, output) = swap
            ? Proc.RunWithTimeout(TimeSpan.FromMinutes(15), "env", "KFLAB_SWAP=1", LabKit.LabSh, "up", "1")
            : Proc.RunWithTimeout(TimeSpan.FromMinutes(15), "env", "KFLAB_SWAP=0", LabKit.LabSh, "up", "1");
        Assert.True(code == 0, output);
    }

    [Fact]
    public void ContainerdInstallsFromASignedOfflineMirror()
    {
        var sw = Stopwatch.StartNew();
        Up(swap: false);
        // the offline mirror: Debian's containerd and runc .debs (a lab host lacks nothing else once they are purged)
        var debs = AptRepoKit.Download(Path.Join(_tmp, "debs"), "containerd", "runc");
        var version = AptRepoKit.DebVersion(debs, "containerd");
        var good = _repos.GpgKey("mirror");
        var other = _repos.GpgKey("other");
        AptRepoKit.SignedRepo(Path.Join(_repos.Web, "os"), debs, good);
        AptRepoKit.SignedRepo(Path.Join(_repos.Web, "bad"), debs, other);
        var key = AptRepoKit.ExportKey(good, Path.Join(_tmp, "os-mirror.asc"));
        var server = _repos.Serve();
        var url = server + "/os";

        // an air-gapped host: no containerd, no runc, no index of Debian's archive
        Ssh("systemctl stop containerd; DEBIAN_FRONTEND=noninteractive apt-get purge -y -q containerd runc && rm -f /var/lib/apt/lists/*debian.org* && ! command -v containerd && ! command -v runc");
        string[] prep = ["prepare", "--kubernetes-version", "v1.29.3", "--containerd", "package", "--os-package-mirror", url, "--os-package-key", key];
        var first = Kf(prep);
        Assert.True(first.Code == 0, first.Err + first.Out);
        Assert.Contains("os-package-mirror: changed: wrote /etc/apt/sources.list.d/kubeforge-os-mirror.list", first.Out);
        Assert.Contains("containerd-install: changed: installed package containerd", first.Out);

        Assert.Equal($"install ok installed {version}", Ssh("dpkg-query -W -f '${Status} ${Version}' containerd").Trim());
        Assert.Equal($"install ok installed {AptRepoKit.DebVersion(debs, "runc")}", Ssh("dpkg-query -W -f '${Status} ${Version}' runc").Trim());
        var policy = Ssh("apt-cache policy containerd");
        Assert.Contains($"*** {version} 500", policy);
        Assert.Matches($@"500 {System.Text.RegularExpressions.Regex.Escape(url)}/? \./ Packages", policy);
        Assert.Contains("signed-by=/etc/apt/keyrings/kubeforge-os-mirror.asc", Ssh("cat /etc/apt/sources.list.d/kubeforge-os-mirror.list"));
        Assert.Contains("SystemdCgroup = true", Ssh("cat /etc/containerd/config.toml"));
        Assert.Equal("active", Ssh("systemctl is-active containerd").Trim());
        Assert.Contains("Server:", Ssh("ctr --address /run/containerd/containerd.sock version"));
        Assert.Contains("containerd-check: unchanged: containerd answers on /run/containerd/containerd.sock", first.Out);

        var again = Kf(prep);
        Assert.True(again.Code == 0, again.Err + again.Out);
        Assert.Contains("[prepare] 0 of ", again.Out);
        Assert.Contains("containerd-install: unchanged: containerd", again.Out);

        // the same packages signed by a key the host does not trust: refused before anything is installed
        var bad = Kf([.. prep[..^4], "--os-package-mirror", server + "/bad", "--os-package-key", key]);
        Assert.Equal(1, bad.Code);
        Assert.Contains($"the OS package mirror {server}/bad was refused: W: GPG error:", bad.Err);
        Assert.Contains("NO_PUBKEY", bad.Err);
        Assert.DoesNotContain("   at ", bad.Err);
        Console.WriteLine($"LabOfflineMirrorTests.ContainerdInstallsFromASignedOfflineMirror: {sw.Elapsed.TotalSeconds:0} s");
    }

    [Fact]
    public void ActiveSwapIsTurnedOffAndStaysOffAfterARestart()
    {
        var sw = Stopwatch.StartNew();
        Up(swap: true);
        // swap is the kernel's, not the host's: a tiny file, unique to this lab, always swapped off in Dispose
        _swapFile = $"/var/lib/kflab-swap/kf-{Environment.GetEnvironmentVariable("KFLAB_BRIDGE") ?? "kflab0"}-h1";
        Ssh($"dd if=/dev/zero of={_swapFile} bs=1M count=16 status=none && chmod 600 {_swapFile} && mkswap -q {_swapFile} && swapon {_swapFile} && " +
            $"echo '{_swapFile} none swap sw 0 0' >> /etc/fstab");
        Assert.Contains(_swapFile, Ssh("cat /proc/swaps"));

        var pf = Kf("preflight", "--kubernetes-version", "v1.29.3");
        Assert.Contains("[WARNING Swap]: swap is on (" + _swapFile, pf.Out);
        Assert.Contains("[WARNING SwapFstab]", pf.Out);

        var prep = Kf("prepare", "--kubernetes-version", "v1.29.3");
        Assert.True(prep.Code == 0, prep.Err + prep.Out);
        Assert.Contains("swap: changed: swapoff -a (" + _swapFile, prep.Out);
        Assert.DoesNotContain(_swapFile, Ssh("cat /proc/swaps"));
        Assert.StartsWith("#" + _swapFile, Ssh($"grep -F '{_swapFile}' /etc/fstab"));
        Assert.Equal(_swapFile + " none swap sw 0 0", Ssh($"grep -hF '{_swapFile}' /etc/fstab.kubeforge-backup-*").Trim());

        var (rc, rout) = Proc.RunWithTimeout(TimeSpan.FromMinutes(3), LabKit.LabSh, "restart", "h1");
        Assert.True(rc == 0, rout);
        Assert.DoesNotContain(_swapFile, Ssh("cat /proc/swaps"));
        var after = Kf("prepare", "--kubernetes-version", "v1.29.3");
        Assert.Contains("swap: unchanged: swap is off and not in /etc/fstab", after.Out);
        Console.WriteLine($"LabOfflineMirrorTests.ActiveSwapIsTurnedOffAndStaysOffAfterARestart: {sw.Elapsed.TotalSeconds:0} s");
    }

    public void Dispose()
    {
        if (_swapFile is not null)
        {
            SshTry($"swapoff {_swapFile}");
        }
        _repos.Dispose();
        Proc.RunWithTimeout(TimeSpan.FromMinutes(2), LabKit.LabSh, "down");
        Directory.Delete(_tmp, recursive: true);
    }
}
