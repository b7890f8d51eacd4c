using System.Security.Cryptography;
using Kubeforge.Cli;
using Kubeforge.Hosts;
using Kubeforge.IntegrationTests.Hosts;
using Kubeforge.Node;
using Kubeforge.Versions;

namespace Kubeforge.IntegrationTests.Node;

/// <summary>HostPrepOverSshTests gather facts, run preflight and a dry-run preparation over real SSH (the private sshd of SshdFixture
/// on this machine), and check that the dry run changes nothing.</summary>
public sealed class HostPrepOverSshTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private static readonly string[] Watched =
    [
        "/etc/fstab", "/etc/selinux/config", OsPrep.ModulesFile, OsPrep.SysctlFile, Containerd.ConfigFile, "/etc/os-release",
    ];

    private static string Hash(string path) => File.Exists(path) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))) : "absent";

    [Fact]
    public async Task FactsOverSshMatchThisMachine()
    {
        await using var h = new SshHost(sshd.Options());
        var f = await HostFacts.GatherAsync(h, TimeProvider.System);
        Assert.Equal(OsFamily.Deb, f.Os.Family);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), f.Hostname);
        Assert.Contains(sshd.Port, f.ListeningPorts);
        Assert.True(f.ClockSkew.Duration() < TimeSpan.FromSeconds(2), f.ClockSkew.ToString());
        Assert.Equal(Environment.ProcessorCount, f.Cpus);
        Assert.True(f.MemoryMb > 100);
        Assert.Equal(File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim(), f.Sysctls["net.ipv4.ip_forward"]);
        Assert.Contains("mount", f.Binaries.Keys);
        Assert.NotEmpty(f.Interfaces);
        var results = NodePreflight.Run(f, new PreflightOptions { Profile = VersionTable.Newest });
        Assert.Contains(results, r => r.Name == "Port-10250");
    }

    [Fact]
    public async Task DryRunPrepareOverSshChangesNothingAndShowsDiffs()
    {
        var before = Watched.ToDictionary(p => p, Hash);
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run(["prepare", "--host", $"root@127.0.0.1:{sshd.Port}", "--ssh-key", sshd.KeyEd25519, "--known-hosts", sshd.KnownHosts,
            "--dry-run", "--kubernetes-version", "v1.29.3", "--image-repository", "registry.aliyuncs.com/google_containers"], o, e);
        Assert.True(code == 0, e.ToString());
        var text = o.ToString();
        Assert.Equal(before, Watched.ToDictionary(p => p, Hash));
        if (!File.Exists(OsPrep.ModulesFile))
        {
            Assert.Contains($"Would create \"{OsPrep.ModulesFile}\"", text);
            Assert.Contains("+br_netfilter\n", text);
        }
        if (File.Exists("/usr/bin/containerd") && !File.ReadAllText(Containerd.ConfigFile).Contains("registry.aliyuncs.com/google_containers/pause:3.9"))
        {
            Assert.Contains("+    sandbox_image = \"registry.aliyuncs.com/google_containers/pause:3.9\"", text);
        }
        Assert.Contains("Nothing on root@", text);
    }

    [Fact]
    public async Task PreflightCliOverSshReportsAndFixDryRunKeepsHost()
    {
        var before = Watched.ToDictionary(p => p, Hash);
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run(["preflight", "--host", $"root@127.0.0.1:{sshd.Port}", "--ssh-key", sshd.KeyEd25519, "--known-hosts", sshd.KnownHosts,
            "--fix", "--dry-run", "--ignore-preflight-errors", "all"], o, e);
        Assert.True(code == 0, e.ToString() + o);
        Assert.Contains("[preflight] Running pre-flight checks on root@", o.ToString());
        Assert.Equal(before, Watched.ToDictionary(p => p, Hash));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task TrustOverSshWritesOnlyUnderDryRunOverlay()
    {
        var dir = Directory.CreateTempSubdirectory("kf-catrust-").FullName;
        try
        {
            Assert.Equal(0, App.Run(["ca", "create", "--out", dir], new StringWriter(), new StringWriter()));
            var o = new StringWriter();
            var code = App.Run(["ca", "trust", "--ca", Path.Join(dir, "ca.crt"), "--registry", "mirror.local:5000", "--dry-run",
                "--host", $"127.0.0.1:{sshd.Port}", "--ssh-key", sshd.KeyEd25519, "--known-hosts", sshd.KnownHosts], o, new StringWriter());
            Assert.Equal(0, code);
            Assert.Contains("Would create \"/usr/local/share/ca-certificates/kubeforge-mirror-ca.crt\"", o.ToString());
            Assert.Contains("Would run: update-ca-certificates", o.ToString());
            Assert.Contains("+  ca = \"/etc/containerd/certs.d/mirror.local:5000/ca.crt\"", o.ToString());
            Assert.False(File.Exists("/usr/local/share/ca-certificates/kubeforge-mirror-ca.crt"));
            Assert.False(Directory.Exists("/etc/containerd/certs.d/mirror.local:5000"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
        await Task.CompletedTask;
    }
}
