using Kubeforge.Cli;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.IntegrationTests.Hosts;

namespace Kubeforge.IntegrationTests.Lab;

/// <summary>LabHostPrepTests is the acceptance test of host preparation on real systemd hosts of the lab (tests/lab/lab.sh up 3:
/// nspawn hosts booted from the cached base), driven in parallel as root@h1, kf@h2 (sudo with a password) and kf@h3 (NOPASSWD
/// sudo): seeded problems are reported with fixes, fixed, idempotent, survive a reboot of the host, and a dry run over SSH changes
/// nothing. It stops the lab it started.</summary>
[Collection("lab")]
public sealed class LabHostPrepTests : IDisposable
{
    private static string LabSh => LabKit.LabSh;
    private static string State => LabKit.State;

    private sealed record Lab(int I, string User)
    {
        public string Addr => LabKit.Addr(I);

        public string[] HostArgs => I == 2
            ? ["--host", $"{User}@{Addr}", "--ssh-key", Path.Join(State, "id_ed25519"), "--known-hosts", Path.Join(State, "known_hosts"), "--sudo-password-file", Path.Join(State, "sudo-password")]
            : ["--host", $"{User}@{Addr}", "--ssh-key", Path.Join(State, "id_ed25519"), "--known-hosts", Path.Join(State, "known_hosts")];
    }

    private static string Ssh(Lab h, string script)
    {
        var (code, output) = Proc.RunWithTimeout(TimeSpan.FromSeconds(60), "ssh", "-i", Path.Join(State, "id_ed25519"), "-o", "UserKnownHostsFile=" + Path.Join(State, "known_hosts"),
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", $"root@{h.Addr}", script);
        Assert.True(code == 0, $"ssh {script}: {output}");
        return output;
    }

    private static (int Code, string Out, string Err) Kf(Lab h, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run([.. args, .. h.HostArgs], o, e);
        return (code, o.ToString(), e.ToString());
    }

    private const string Watched = "/etc/fstab /etc/containerd/config.toml /etc/modules-load.d/k8s.conf /etc/sysctl.d/99-kubernetes.conf /etc/selinux/config";
    private static string Hashes(Lab h) => Ssh(h, $"for f in {Watched}; do [ -f $f ] && sha256sum $f || echo absent $f; done; ls /etc | sort | sha256sum");

    [Fact]
    public async Task SeededProblemsAreReportedFixedAndSurviveRestart()
    {
        var (upCode, upOut) = Proc.RunWithTimeout(TimeSpan.FromMinutes(15), LabSh, "up", "3");
        Assert.True(upCode == 0, upOut);
        // a mirror registry on the lab bridge with a certificate from `kubeforge ca issue`, holding the v1.29.3 plan
        using var reg = new TestRegistry(LabKit.Machine, SshdFixture.FreePort());
        var repo = $"{reg.Host}/google_containers";
        var plan = new StringWriter();
        Assert.Equal(0, App.Run(["config", "images", "list", "--kubernetes-version", "v1.29.3", "--image-repository", repo], plan, new StringWriter()));
        var images = plan.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await reg.PushPlanAsync(images);
        var check = new StringWriter();
        Assert.Equal(0, App.Run(["images", "check", "--kubernetes-version", "v1.29.3", "--image-repository", repo, "--ca-file", reg.Ca], check, new StringWriter()));
        Assert.Equal(7, check.ToString().Split('\n').Count(l => l.StartsWith("OK ")));
        await Task.WhenAll(new[] { new Lab(1, "root"), new Lab(2, "kf"), new Lab(3, "kf") }.Select(h => Task.Run(() => Host(h, reg, repo, images))));
    }

    private static void Host(Lab h, TestRegistry reg, string repo, string[] images)
    {
        Ssh(h, "sysctl -qw net.ipv4.ip_forward=0; echo '/swapfile none swap sw 0 0' >> /etc/fstab; mkdir -p /etc/containerd; " +
            "printf 'version = 2\\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\\n  SystemdCgroup = false\\n' > /etc/containerd/config.toml");

        var pf = Kf(h, "preflight", "--kubernetes-version", "v1.29.3");
        Assert.Equal(1, pf.Code);
        Assert.Contains("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]", pf.Out);
        Assert.Contains("[WARNING SwapFstab]", pf.Out);
        Assert.Contains("[ERROR CgroupDriver]", pf.Out);
        Assert.Contains("[WARNING KernelModulesConfig]", pf.Out);
        Assert.Contains("fix (--fix)", pf.Out);

        var before = Hashes(h);
        var dry = Kf(h, "prepare", "--dry-run", "--kubernetes-version", "v1.29.3");
        Assert.True(dry.Code == 0, dry.Err);
        Assert.Contains("Would change \"/etc/fstab\"", dry.Out);
        Assert.Equal(before, Hashes(h));

        var fix = Kf(h, "preflight", "--fix", "--kubernetes-version", "v1.29.3", "--ignore-preflight-errors", "NumCPU,Mem,FileExisting-conntrack,Port-22");
        Assert.Contains("Checks after the fixes", fix.Out);
        var prep = Kf(h, "prepare", "--kubernetes-version", "v1.29.3");
        Assert.True(prep.Code == 0, prep.Err + prep.Out);
        var again = Kf(h, "prepare", "--kubernetes-version", "v1.29.3");
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("[prepare] 0 of ", again.Out);
        Assert.Contains("SystemdCgroup = true", Ssh(h, "cat /etc/containerd/config.toml"));
        Assert.StartsWith("#/swapfile", Ssh(h, "grep swapfile /etc/fstab"));
        Assert.Single(Ssh(h, "ls /etc/fstab.kubeforge-backup-*").Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var (rc, rout) = Proc.RunWithTimeout(TimeSpan.FromMinutes(3), LabSh, "restart", $"h{h.I}");
        Assert.True(rc == 0, rout);
        Assert.Equal("1", Ssh(h, "cat /proc/sys/net/ipv4/ip_forward").Trim());
        var after = Kf(h, "prepare", "--kubernetes-version", "v1.29.3");
        Assert.Contains("[prepare] 0 of ", after.Out);
        var pf2 = Kf(h, "preflight", "--kubernetes-version", "v1.29.3");
        Assert.DoesNotContain("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]", pf2.Out);
        Assert.DoesNotContain("[ERROR CgroupDriver]", pf2.Out);
        Assert.DoesNotContain("SwapFstab", pf2.Out);

        // trust the mirror CA on the host and pull the plan's images from the mirror into containerd
        var trust = Kf(h, "ca", "trust", "--ca", reg.Ca, "--registry", reg.Host);
        Assert.True(trust.Code == 0, trust.Err);
        Assert.Contains("update-ca-certificates", trust.Out);
        var pull = Kf(h, "config", "images", "pull", "--kubernetes-version", "v1.29.3", "--image-repository", repo);
        Assert.True(pull.Code == 0, pull.Err + pull.Out);
        var listed = Ssh(h, "ctr -n k8s.io images ls -q");
        Assert.All(images, i => Assert.Contains(i, listed));
    }

    public void Dispose() => Proc.RunWithTimeout(TimeSpan.FromMinutes(2), LabSh, "down");
}
