using System.Collections.Concurrent;
using System.Text;
using Kubeforge.Cluster;
using Kubeforge.Cluster.Ha;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Tests.ControlPlane;

namespace Kubeforge.Tests.Cluster;

/// <summary>HaStepsTests run the load-balancer and vip steps against a recording host: idempotence, the one-time
/// backup of the distro file, validation before activation, service handling and the argv of every command.</summary>
public sealed class HaStepsTests
{
    private const string Debian = "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
    private const string DistroHaproxy = "global\n\tlog /dev/log local0\n\tchroot /var/lib/haproxy\n";
    private const string Validate = "haproxy -c -f /etc/haproxy/haproxy.cfg.kubeforge-new";
    private const string DpkgHaproxy = "dpkg-query -W -f=${db:Status-Abbrev}\\n haproxy";

    /// <summary>CaPem stands for the cluster CA the cluster-ca step made on the first control plane (its bytes are only copied).</summary>
    private const string CaPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    private static FakeHost NewHost(string osRelease = Debian)
    {
        var h = new FakeHost(managesServices: true);
        h.Files["/etc/os-release"] = (Encoding.UTF8.GetBytes(osRelease), FileModes.Public, FileModes.Dir);
        h.Files["/etc/kubernetes/pki/ca.crt"] = (Encoding.UTF8.GetBytes(CaPem), FileModes.Public, FileModes.Dir);
        h.Results[DpkgHaproxy] = new CommandResult(0, "ii \n", "");
        h.Results["dpkg-query -W -f=${db:Status-Abbrev}\\n keepalived curl"] = new CommandResult(0, "ii \nii \n", "");
        return h;
    }

    internal static StepContext Ctx(ClusterFile f, string host, IHost node) => new()
    {
        File = f,
        Host = f.Host(host),
        Node = node,
        HostOf = _ => node,
        Ui = new RecordingUi(),
        Shared = new ConcurrentDictionary<string, object>(),
    };

    private static bool Ran(FakeHost h, params string[] argv) => h.Commands.Any(c => c.SequenceEqual(argv));

    [Fact]
    public async Task LoadBalancerBacksUpTheDistroFileOnceValidatesAndReloadsOnlyOnChange()
    {
        var f = HaRenderTests.Three();
        var h = NewHost();
        h.Files["/etc/haproxy/haproxy.cfg"] = (Encoding.UTF8.GetBytes(DistroHaproxy), FileModes.Public, FileModes.Dir);

        var first = await HaSteps.LoadBalancerAsync(Ctx(f, "m1", h), CancellationToken.None);
        Assert.Equal(StepStatus.Done, first.Status);
        Assert.Equal(DistroHaproxy, h.Text("/etc/haproxy/haproxy.cfg.kubeforge-backup"));
        Assert.Equal(HaproxyConfig.Render(f, f.Host("m1"), HaPaths.Default), h.Files["/etc/haproxy/haproxy.cfg"].Content);
        Assert.False(h.Files.ContainsKey("/etc/haproxy/haproxy.cfg.kubeforge-new"));
        Assert.True(Ran(h, "haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg.kubeforge-new"));
        Assert.True(Ran(h, "systemctl", "reload-or-restart", "haproxy"));
        Assert.False(Ran(h, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "haproxy"));
        var validatedAt = h.Commands.FindIndex(c => string.Join(' ', c) == Validate);
        var reloadedAt = h.Commands.FindIndex(c => c.SequenceEqual(["systemctl", "reload-or-restart", "haproxy"]));
        Assert.True(validatedAt >= 0 && validatedAt < reloadedAt);

        h.Commands.Clear();
        var writes = h.Writes;
        var second = await HaSteps.LoadBalancerAsync(Ctx(f, "m1", h), CancellationToken.None);
        Assert.Equal(StepStatus.Unchanged, second.Status);
        Assert.Equal(writes, h.Writes);
        Assert.DoesNotContain(h.Commands, c => c[0] == "haproxy" || c.Contains("reload-or-restart") || c.Contains("restart"));
        Assert.True(Ran(h, "systemctl", "is-active", "haproxy"));

        // a later change (a new control plane) rewrites the config but keeps the first backup
        h.Files["/etc/haproxy/haproxy.cfg"] = (Encoding.UTF8.GetBytes("hand edited\n"), FileModes.Public, FileModes.Dir);
        var third = await HaSteps.LoadBalancerAsync(Ctx(f, "m1", h), CancellationToken.None);
        Assert.Equal(StepStatus.Done, third.Status);
        Assert.Equal(DistroHaproxy, h.Text("/etc/haproxy/haproxy.cfg.kubeforge-backup"));
    }

    [Fact]
    public async Task AnInvalidConfigIsNotActivatedAndTheValidatorIsQuoted()
    {
        var f = HaRenderTests.Three();
        var h = NewHost();
        h.Files["/etc/haproxy/haproxy.cfg"] = (Encoding.UTF8.GetBytes(DistroHaproxy), FileModes.Public, FileModes.Dir);
        h.Results[Validate] = new CommandResult(1, "", "[NOTICE] haproxy version is 2.6\n[ALERT] (1) : config : parsing [x:3] : unknown keyword 'check-ssl'\n");
        var e = await Assert.ThrowsAsync<UserError>(() => HaSteps.LoadBalancerAsync(Ctx(f, "m1", h), CancellationToken.None));
        Assert.Contains("unknown keyword 'check-ssl'", e.Message);
        Assert.Contains("haproxy -c -f /etc/haproxy/haproxy.cfg.kubeforge-new", e.Message);
        Assert.Contains("left as it was", e.Message);
        Assert.Equal(DistroHaproxy, h.Text("/etc/haproxy/haproxy.cfg"));
        Assert.False(h.Files.ContainsKey("/etc/haproxy/haproxy.cfg.kubeforge-new"));
        Assert.DoesNotContain(h.Commands, c => c[0] == "systemctl");
    }

    [Fact]
    public async Task MissingPackagesAreInstalledAndAStoppedServiceIsEnabledAndStarted()
    {
        var f = HaRenderTests.Three("    loadBalancer: nginx\n");
        var h = NewHost();
        h.Results["dpkg-query -W -f=${db:Status-Abbrev}\\n nginx libnginx-mod-stream"] = new CommandResult(0, "ii \nun \n", "");
        h.Results["systemctl is-enabled nginx"] = new CommandResult(1, "disabled\n", "");
        var active = 0;
        var inner = new ScriptedHost(h, argv => string.Join(' ', argv) == "systemctl is-active nginx" ? new CommandResult(active++ == 0 ? 3 : 0, "", "") : null);
        var r = await HaSteps.LoadBalancerAsync(Ctx(f, "m2", inner), CancellationToken.None);
        Assert.Equal(StepStatus.Done, r.Status);
        Assert.True(Ran(h, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "nginx", "libnginx-mod-stream"));
        Assert.True(Ran(h, "nginx", "-t", "-c", "/etc/nginx/nginx.conf.kubeforge-new"));
        Assert.True(Ran(h, "systemctl", "enable", "nginx"));
        Assert.True(Ran(h, "systemctl", "restart", "nginx"));
        Assert.Contains("user www-data;", h.Text("/etc/nginx/nginx.conf"));
        Assert.Contains("enabled, started; active", r.Summary);
    }

    [Fact]
    public async Task RpmHostsUseRpmAndDnf()
    {
        var f = HaRenderTests.Three();
        var h = NewHost("ID=\"rocky\"\nVERSION_ID=\"9.3\"\n");
        h.Results["rpm -q haproxy"] = new CommandResult(1, "package haproxy is not installed\n", "");
        await HaSteps.LoadBalancerAsync(Ctx(f, "m3", h), CancellationToken.None);
        Assert.True(Ran(h, "dnf", "install", "-y", "haproxy"));
        Assert.DoesNotContain(h.Commands, c => c[0] is "apt-get" or "env" or "dpkg-query");
    }

    [Fact]
    public async Task AFailedInstallRefreshesTheIndexOnceThenFailsWithTheMessage()
    {
        var f = HaRenderTests.Three();
        var h = NewHost();
        h.Results[DpkgHaproxy] = new CommandResult(1, "", "dpkg-query: no packages found matching haproxy\n");
        h.Results["env DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy"] = new CommandResult(100, "", "E: Unable to locate package haproxy\n");
        var e = await Assert.ThrowsAsync<UserError>(() => HaSteps.LoadBalancerAsync(Ctx(f, "m1", h), CancellationToken.None));
        Assert.True(Ran(h, "apt-get", "update", "-q"));
        Assert.Contains("Unable to locate package haproxy", e.Message);
    }

    [Fact]
    public async Task AServiceThatDoesNotComeUpIsAnErrorWithItsJournal()
    {
        var f = HaRenderTests.Three();
        var h = NewHost();
        h.Results["systemctl is-active haproxy"] = new CommandResult(3, "failed\n", "");
        h.Results["journalctl -u haproxy -n 5 --no-pager -o cat"] = new CommandResult(0, "[ALERT] Starting frontend kube-apiserver: cannot bind socket [0.0.0.0:8443]\n", "");
        var e = await Assert.ThrowsAsync<UserError>(() => HaSteps.LoadBalancerAsync(Ctx(f, "m1", h), CancellationToken.None));
        Assert.Contains("cannot bind socket", e.Message);
        Assert.Contains("haproxy is not active", e.Message);
    }

    [Fact]
    public async Task VipWritesTheCheckScriptExecutableAndValidatesKeepalived()
    {
        var f = HaRenderTests.Three();
        var h = NewHost();
        h.Results["ip -j route show default"] = new CommandResult(0, "[{\"dst\":\"default\",\"gateway\":\"10.0.0.1\",\"dev\":\"ens18\",\"flags\":[]}]", "");
        var r = await HaSteps.VipAsync(Ctx(f, "m2", h), CancellationToken.None);
        Assert.Equal(StepStatus.Done, r.Status);
        Assert.Equal(0x1ED, h.Files["/etc/keepalived/check_apiserver.sh"].Mode);
        Assert.Contains("https://10.0.0.12:6443/readyz", h.Text("/etc/keepalived/check_apiserver.sh"));
        Assert.Contains("interface ens18\n", h.Text("/etc/keepalived/keepalived.conf"));
        Assert.Contains("priority 180\n", h.Text("/etc/keepalived/keepalived.conf"));
        Assert.False(h.Files.ContainsKey("/etc/keepalived/keepalived.conf.kubeforge-backup")); // there was no distro file
        Assert.True(Ran(h, "keepalived", "-t", "-f", "/etc/keepalived/keepalived.conf.kubeforge-new"));
        Assert.True(Ran(h, "systemctl", "reload-or-restart", "keepalived"));
        var again = await HaSteps.VipAsync(Ctx(f, "m2", h), CancellationToken.None);
        Assert.Equal(StepStatus.Unchanged, again.Status);
    }

    [Fact]
    public async Task WorkersAndFilesWithoutHaAreRefused()
    {
        var f = HaRenderTests.Three();
        await Assert.ThrowsAsync<UserError>(() => HaSteps.VipAsync(Ctx(f, "w1", NewHost()), CancellationToken.None));
        var single = ClusterFile.Parse(ClusterFileTests.Single(), "c");
        var e = await Assert.ThrowsAsync<UserError>(() => HaSteps.LoadBalancerAsync(Ctx(single, "node1", NewHost()), CancellationToken.None));
        Assert.Contains("spec.ha", e.Message);
    }

    [Fact]
    public async Task ARootfsTreeGetsTheFilesAndNoCommands()
    {
        var dir = Directory.CreateTempSubdirectory("kfha-rootfs-");
        try
        {
            var f = HaRenderTests.Three();
            f.Ha!.Keepalived.Interface = "eth0";
            var node = new LocalHost(dir.FullName);
            Directory.CreateDirectory(Path.Join(dir.FullName, "etc/haproxy"));
            File.WriteAllText(Path.Join(dir.FullName, "etc/haproxy/haproxy.cfg"), DistroHaproxy);
            Directory.CreateDirectory(Path.Join(dir.FullName, "etc/kubernetes/pki"));
            File.WriteAllText(Path.Join(dir.FullName, "etc/kubernetes/pki/ca.crt"), CaPem);
            Assert.Equal(StepStatus.Done, (await HaSteps.LoadBalancerAsync(Ctx(f, "m1", node), CancellationToken.None)).Status);
            Assert.Equal(StepStatus.Done, (await HaSteps.VipAsync(Ctx(f, "m1", node), CancellationToken.None)).Status);
            Assert.Equal(DistroHaproxy, File.ReadAllText(Path.Join(dir.FullName, "etc/haproxy/haproxy.cfg.kubeforge-backup")));
            Assert.Equal(CaPem, File.ReadAllText(Path.Join(dir.FullName, "etc/kubeforge/ha/kubernetes-ca.crt"))); // the health checks' CA copy
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(Path.Join(dir.FullName, "etc/keepalived/check_apiserver.sh")));
            Assert.Equal(StepStatus.Unchanged, (await HaSteps.LoadBalancerAsync(Ctx(f, "m1", node), CancellationToken.None)).Status);
            Assert.Equal(StepStatus.Unchanged, (await HaSteps.VipAsync(Ctx(f, "m1", node), CancellationToken.None)).Status);

            var dry = new DryRunHost(node);
            f.Ha.Port = 9443;
            Assert.Equal(StepStatus.Done, (await HaSteps.LoadBalancerAsync(Ctx(f, "m1", dry), CancellationToken.None)).Status);
            Assert.DoesNotContain(dry.Actions, a => a.Kind == DryRunKind.Run);
            Assert.Contains("*:8443", File.ReadAllText(Path.Join(dir.FullName, "etc/haproxy/haproxy.cfg"))); // dry run changed nothing
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>ScriptedHost answers some commands with a function and passes everything else to the inner fake.</summary>
    private sealed class ScriptedHost(FakeHost inner, Func<IReadOnlyList<string>, CommandResult?> answer) : IHost
    {
        public string Name => inner.Name;
        public bool ManagesServices => inner.ManagesServices;
        public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) => inner.ReadFileAsync(path, ct);
        public Task<FileState> StatAsync(string path, CancellationToken ct = default) => inner.StatAsync(path, ct);
        public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) => inner.ListAsync(path, ct);
        public Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = FileModes.Dir, CancellationToken ct = default) => inner.WriteFileAsync(path, content, mode, dirMode, ct);
        public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default) => inner.CreateDirectoryAsync(path, mode, ct);
        public Task DeleteAsync(string path, CancellationToken ct = default) => inner.DeleteAsync(path, ct);
        public Task RenameAsync(string from, string to, CancellationToken ct = default) => inner.RenameAsync(from, to, ct);

        public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default)
        {
            var r = await inner.RunAsync(argv, stdin, ct);
            return answer(argv) ?? r;
        }
    }
}
