using Kubeforge.Cli;
using Kubeforge.IntegrationTests.Kit;

namespace Kubeforge.IntegrationTests.Lab;

/// <summary>LabHostPrepTests is the acceptance test of host preparation on a real systemd host of the lab (tests/lab/lab.sh, one
/// nspawn host h1 booted from the cached base): seeded problems are reported with fixes, fixed, idempotent, survive a reboot of
/// the host, and a dry run over SSH changes nothing. It stops the lab it started.</summary>
public sealed class LabHostPrepTests : IDisposable
{
    private static readonly string Repo = FindRepo();
    private static string LabSh => Path.Join(Repo, "tests", "lab", "lab.sh");
    private static string State => Path.Join(Repo, "tests", "lab", ".state");
    private const string Addr = "10.98.0.11";

    private static string FindRepo()
    {
        var d = AppContext.BaseDirectory;
        while (!File.Exists(Path.Join(d, "tests", "lab", "lab.sh")))
        {
            d = Path.GetDirectoryName(d) ?? throw new InvalidOperationException("repo root not found");
        }
        return d;
    }

    private static string[] HostArgs => ["--host", $"root@{Addr}", "--ssh-key", Path.Join(State, "id_ed25519"), "--known-hosts", Path.Join(State, "known_hosts")];

    private static string Ssh(string script)
    {
        var (code, output) = Proc.RunWithTimeout(TimeSpan.FromSeconds(60), "ssh", "-i", Path.Join(State, "id_ed25519"), "-o", "UserKnownHostsFile=" + Path.Join(State, "known_hosts"),
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", $"root@{Addr}", script);
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

    private const string Watched = "/etc/fstab /etc/containerd/config.toml /etc/modules-load.d/k8s.conf /etc/sysctl.d/99-kubernetes.conf /etc/selinux/config";
    private static string Hashes() => Ssh($"for f in {Watched}; do [ -f $f ] && sha256sum $f || echo absent $f; done; ls /etc | sort | sha256sum");

    [Fact]
    public void SeededProblemsAreReportedFixedAndSurviveRestart()
    {
        var (upCode, upOut) = Proc.RunWithTimeout(TimeSpan.FromMinutes(15), LabSh, "up", "1");
        Assert.True(upCode == 0, upOut);
        Ssh("sysctl -qw net.ipv4.ip_forward=0; echo '/swapfile none swap sw 0 0' >> /etc/fstab; mkdir -p /etc/containerd; " +
            "printf 'version = 2\\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\\n  SystemdCgroup = false\\n' > /etc/containerd/config.toml");

        var pf = Kf("preflight", "--kubernetes-version", "v1.29.3");
        Assert.Equal(1, pf.Code);
        Assert.Contains("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]", pf.Out);
        Assert.Contains("[WARNING SwapFstab]", pf.Out);
        Assert.Contains("[ERROR CgroupDriver]", pf.Out);
        Assert.Contains("[WARNING KernelModulesConfig]", pf.Out);
        Assert.Contains("fix (--fix)", pf.Out);

        var before = Hashes();
        var dry = Kf("prepare", "--dry-run", "--kubernetes-version", "v1.29.3");
        Assert.True(dry.Code == 0, dry.Err);
        Assert.Contains("Would change \"/etc/fstab\"", dry.Out);
        Assert.Equal(before, Hashes());

        var fix = Kf("preflight", "--fix", "--kubernetes-version", "v1.29.3", "--ignore-preflight-errors", "NumCPU,Mem,FileExisting-conntrack,Port-22");
        Assert.Contains("Checks after the fixes", fix.Out);
        var prep = Kf("prepare", "--kubernetes-version", "v1.29.3");
        Assert.True(prep.Code == 0, prep.Err + prep.Out);
        var again = Kf("prepare", "--kubernetes-version", "v1.29.3");
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("[prepare] 0 of ", again.Out);
        Assert.Contains("SystemdCgroup = true", Ssh("cat /etc/containerd/config.toml"));
        Assert.StartsWith("#/swapfile", Ssh("grep swapfile /etc/fstab"));
        Assert.Single(Ssh("ls /etc/fstab.kubeforge-backup-*").Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var (rc, rout) = Proc.RunWithTimeout(TimeSpan.FromMinutes(3), LabSh, "restart", "h1");
        Assert.True(rc == 0, rout);
        Assert.Equal("1", Ssh("cat /proc/sys/net/ipv4/ip_forward").Trim());
        var after = Kf("prepare", "--kubernetes-version", "v1.29.3");
        Assert.Contains("[prepare] 0 of ", after.Out);
        var pf2 = Kf("preflight", "--kubernetes-version", "v1.29.3");
        Assert.DoesNotContain("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]", pf2.Out);
        Assert.DoesNotContain("[ERROR CgroupDriver]", pf2.Out);
        Assert.DoesNotContain("SwapFstab", pf2.Out);
    }

    public void Dispose() => Proc.RunWithTimeout(TimeSpan.FromMinutes(2), LabSh, "down");
}
