using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Tests.ClusterObjects;
using Kubeforge.Tests.ControlPlane;
using Kubeforge.Tests.Node;

namespace Kubeforge.Tests.Phases;

/// <summary>HostPreflightTests check that init's and join's preflight phases run the host checks (NodePreflight over the facts
/// of a running host) with kubeadm's verdict, and skip them with a notice on a --rootfs tree.</summary>
public class HostPreflightTests
{
    // a running host whose fact script answers with the captured output of HostFactsTests (ip_forward 0, ports 6443 and
    // 10250 taken, node name "Node-1", swap on...)
    private static async Task<FakeHost> SeededHost()
    {
        var h = new FakeHost(true);
        foreach (var (path, text) in HostFactsTests.Files)
        {
            if (text is not null)
            {
                h.Files[path] = (System.Text.Encoding.UTF8.GetBytes(text), FileModes.Public, FileModes.Dir);
            }
        }
        await HostFacts.GatherAsync(h, TimeProvider.System);
        h.Results[string.Join(' ', h.Commands.Single())] = new CommandResult(0, HostFactsTests.Output, "");
        h.Commands.Clear();
        return h;
    }

    private static PhaseContext Ctx(IHost host, RecordingUi ui, params string[] ignore)
    {
        var cfg = TestEnv.Config("v1.29.3", c => c.Init.NodeRegistration.IgnorePreflightErrors = [.. ignore]);
        return new PhaseContext { Config = cfg, Host = host, Ui = ui, DryRun = host is DryRunHost };
    }

    [Fact]
    public async Task InitStopsOnHostErrorsWithTheirFixes()
    {
        var host = await SeededHost();
        var e = await Assert.ThrowsAsync<UserError>(() => Preflight.RunInitAsync(Ctx(host, new RecordingUi(), "IsPrivilegedUser"), default));
        Assert.Contains("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]", e.Message);
        Assert.Contains("[ERROR Port-6443]: Port 6443 is in use", e.Message);
        Assert.Contains("[ERROR CgroupDriver]", e.Message);
        Assert.Contains("[ERROR NodeAddress]: address 192.168.10.100", e.Message);
        Assert.Contains("(fix: net.ipv4.ip_forward = 1", e.Message);
        Assert.DoesNotContain("[ERROR Swap]", e.Message); // a warning since 1.28-era kubeadm
        Assert.DoesNotContain("NodeName", e.Message); // init's node name "master1" overrides the host's "Node-1"
        Assert.Single(host.Commands); // one read-only fact round, nothing changed
    }

    [Fact]
    public async Task IgnoredErrorsBecomeWarningsAndWarningsArePrinted()
    {
        var ui = new RecordingUi();
        var host = await SeededHost();
        await Preflight.RunInitAsync(Ctx(host, ui, "all"), default);
        Assert.Contains(ui.Lines, l => l.StartsWith("[preflight] WARNING: [Port-6443]: Port 6443 is in use (error ignored)", StringComparison.Ordinal));
        Assert.Contains(ui.Lines, l => l.StartsWith("[preflight] WARNING: [Swap]: swap is on", StringComparison.Ordinal) && l.Contains("; fix: swapoff -a"));

        var some = new RecordingUi();
        var seeded = await SeededHost();
        var e = await Assert.ThrowsAsync<UserError>(() => Preflight.RunInitAsync(Ctx(seeded, some, "port-6443", "IsPrivilegedUser"), default));
        Assert.DoesNotContain("Port-6443", e.Message);
        Assert.Contains("[ERROR Port-10250]", e.Message);
        Assert.Contains(some.Lines, l => l.Contains("[Port-6443]: Port 6443 is in use (error ignored)"));
    }

    [Fact]
    public async Task DryRunReadsTheRealHostAndChangesNothing()
    {
        var inner = await SeededHost();
        var e = await Assert.ThrowsAsync<UserError>(() => Preflight.RunInitAsync(Ctx(new DryRunHost(inner), new RecordingUi()), default));
        Assert.Contains("[ERROR Port-6443]", e.Message);
        Assert.DoesNotContain("IsPrivilegedUser", e.Message); // a dry run needs no root
        Assert.Equal(0, inner.Writes);
    }

    [Fact]
    public async Task RootfsSkipsTheHostChecksWithANotice()
    {
        var dir = Directory.CreateTempSubdirectory("kf-preflight-");
        try
        {
            var ui = new RecordingUi();
            await Preflight.RunInitAsync(Ctx(new LocalHost(dir.FullName), ui), default);
            Assert.Contains(ui.Lines, l => l.Contains("Skipping the host checks") && l.Contains("root filesystem"));
            Directory.CreateDirectory(Path.Join(dir.FullName, "etc/kubernetes/manifests"));
            File.WriteAllText(Path.Join(dir.FullName, "etc/kubernetes/manifests/etcd.yaml"), "x");
            var e = await Assert.ThrowsAsync<UserError>(() => Preflight.RunInitAsync(Ctx(new LocalHost(dir.FullName), new RecordingUi()), default));
            Assert.Contains("[ERROR FileAvailable--etc-kubernetes-manifests-etcd.yaml]", e.Message); // file checks still run
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public async Task JoinChecksTheWorkerOrControlPlanePorts()
    {
        var worker = new JoinConfiguration();
        worker.NodeRegistration.Name = "w1";
        worker.NodeRegistration.IgnorePreflightErrors = ["IsPrivilegedUser"];
        var host = await SeededHost();
        var e = await Assert.ThrowsAsync<UserError>(() => JoinPreflight.RunAsync(worker, host, new RecordingUi(), false, default));
        Assert.Contains("[ERROR Port-10250]", e.Message);
        Assert.DoesNotContain("Port-6443", e.Message);
        Assert.DoesNotContain("NumCPU", e.Message);

        Assert.True(JoinPreflight.Options(worker).ControlPlane is false);
        var cp = new JoinConfiguration { ControlPlane = new JoinControlPlane() };
        cp.ControlPlane.LocalApiEndpoint.BindPort = 7443;
        Assert.Equal(7443, JoinPreflight.Options(cp).ApiServerPort);
        var dir = Directory.CreateTempSubdirectory("kf-join-preflight-");
        try
        {
            var ui = new RecordingUi();
            await JoinPreflight.RunAsync(cp, new LocalHost(dir.FullName), ui, false, default);
            Assert.Contains(ui.Lines, l => l.Contains("Skipping the host checks"));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
