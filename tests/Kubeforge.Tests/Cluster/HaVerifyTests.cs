using System.Diagnostics;
using Kubeforge.Cluster;
using Kubeforge.Hosts;
using Kubeforge.Tests.ControlPlane;

namespace Kubeforge.Tests.Cluster;

/// <summary>HaVerifyTests drive <c>ha verify</c> against a simulated three-control-plane cluster: hosts whose services and
/// manifests can be stopped, a VIP that moves after a delay when the holder's load balancer or API server stops, and leases
/// that change holder after a delay.</summary>
public sealed class HaVerifyTests : IDisposable
{
    private const string Yaml = """
        apiVersion: kubeforge.io/v1alpha1
        kind: Cluster
        metadata: {name: lab}
        spec:
          kubernetesVersion: v1.29.3
          hosts:
            - {name: cp1, address: 10.0.0.11, roles: [control-plane]}
            - {name: cp2, address: 10.0.0.12, roles: [control-plane]}
            - {name: cp3, address: 10.0.0.13, roles: [control-plane]}
          ha: {vip: 10.0.0.100}
          leaderElection: {leaseDuration: 3s, renewDeadline: 2s, retryPeriod: 500ms}
        """;

    private readonly string _state = Directory.CreateTempSubdirectory("kf-haverify-").FullName;
    private readonly ClusterFile _file = ClusterFile.Parse(Yaml, "cluster.yaml");

    public void Dispose() => Directory.Delete(_state, true);

    /// <summary>Sim is the simulated cluster: which services run and which manifests are in place, per host.</summary>
    private sealed class Sim
    {
        public readonly Stopwatch Clock = Stopwatch.StartNew();
        public readonly Dictionary<string, SimHost> Hosts = new();
        public string VipHolder = "cp1";
        public TimeSpan? OutageSince;
        public TimeSpan VipMoveDelay = TimeSpan.FromMilliseconds(400);
        public Dictionary<string, (string Holder, TimeSpan? StoppedAt)> Leases = new()
        {
            ["kube-scheduler"] = ("cp2_1234", null),
            ["kube-controller-manager"] = ("cp1_abcd", null),
        };
        public TimeSpan LeaseTakeover = TimeSpan.FromMilliseconds(600);
        public bool ApiNeverReturns;

        public void Changed()
        {
            foreach (var (name, (holder, stopped)) in Leases.ToList())
            {
                var host = holder.Split('_')[0];
                var running = Hosts[host].Manifests.Contains(name);
                Leases[name] = (holder, running ? null : stopped ?? Clock.Elapsed);
            }
            var h = Hosts[VipHolder];
            var broken = !h.Services.Contains("haproxy") || !h.Manifests.Contains("kube-apiserver");
            OutageSince = broken ? OutageSince ?? Clock.Elapsed : null;
        }

        public bool ApiUp()
        {
            if (OutageSince is { } since)
            {
                if (ApiNeverReturns || Clock.Elapsed - since < VipMoveDelay)
                {
                    return false;
                }
                VipHolder = Hosts.Keys.First(k => k != VipHolder);
                OutageSince = null;
            }
            return true;
        }

        public string? Lease(string name)
        {
            var (holder, stopped) = Leases[name];
            if (stopped is { } at && Clock.Elapsed - at > LeaseTakeover)
            {
                var next = Hosts.Keys.First(k => k != holder.Split('_')[0]) + "_new";
                Leases[name] = (next, null);
                return next;
            }
            return holder;
        }
    }

    private sealed class SimHost(Sim sim, string name) : IHost
    {
        public HashSet<string> Services { get; } = ["haproxy", "keepalived", "kubelet"];
        public HashSet<string> Manifests { get; } = ["kube-apiserver", "kube-scheduler", "kube-controller-manager", "etcd"];
        public List<string> Log { get; } = [];
        public string Name => name;
        public bool ManagesServices => true;

        public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) =>
            Task.FromResult(path == NodePaths.KubeConfig("admin.conf") ? "x"u8.ToArray() : null);

        public Task<FileState> StatAsync(string path, CancellationToken ct = default) =>
            Task.FromResult(new FileState(ClusterStatus.Leases.Append("kube-apiserver").Any(m => Disruption.ParkedPath(m) == path && !Manifests.Contains(m)), false, 0x180, 1));

        public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) => Task.FromResult<IReadOnlyList<string>>([]);
        public Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = 0x1ED, CancellationToken ct = default) => Task.CompletedTask;
        public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default) => Task.CompletedTask;
        public Task DeleteAsync(string path, CancellationToken ct = default) => Task.CompletedTask;

        public Task RenameAsync(string from, string to, CancellationToken ct = default)
        {
            Log.Add($"mv {from} {to}");
            var component = Path.GetFileName(from).Split('.')[0];
            if (from.StartsWith(NodePaths.ManifestsDir, StringComparison.Ordinal))
            {
                Manifests.Remove(component);
            }
            else
            {
                Manifests.Add(component);
            }
            sim.Changed();
            return Task.CompletedTask;
        }

        public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default)
        {
            Log.Add(string.Join(' ', argv));
            switch (argv)
            {
                case ["ip", "-o", "addr", "show"]:
                    return Task.FromResult(new CommandResult(0, sim.VipHolder == name ? "2: eth0 inet 10.0.0.100/32 scope global eth0\n" : "2: eth0 inet 10.0.0.1/24\n", ""));
                case ["systemctl", "stop", var unit]:
                    Services.Remove(unit);
                    break;
                case ["systemctl", "start", var unit]:
                    Services.Add(unit);
                    break;
            }
            sim.Changed();
            return Task.FromResult(new CommandResult(0, "", ""));
        }
    }

    private (HaVerify Verify, Sim Sim) Make(RecordingUi ui)
    {
        var sim = new Sim();
        foreach (var h in _file.Hosts)
        {
            sim.Hosts[h.Name] = new SimHost(sim, h.Name);
        }
        var v = new HaVerify(_file, h => sim.Hosts[h.Name], ui, _state)
        {
            ProbeInterval = TimeSpan.FromMilliseconds(20),
            VipBound = TimeSpan.FromSeconds(2),
            StableFor = TimeSpan.FromMilliseconds(300),
            ApiUp = _ => Task.FromResult(sim.ApiUp()),
            LeaseHolder = (n, _) => Task.FromResult(sim.Lease(n)),
        };
        return (v, sim);
    }

    private static bool AllRestored(Sim sim) => sim.Hosts.Values.All(h => h.Services.SetEquals(["haproxy", "keepalived", "kubelet"]) && h.Manifests.Count == 4);

    [Fact]
    public async Task MeasuresEachDisruptionAndRestoresEverything()
    {
        var ui = new RecordingUi();
        var (v, sim) = Make(ui);
        var results = await v.RunAsync(CancellationToken.None);

        Assert.Equal(4, results.Count);
        Assert.All(results, r => Assert.True(r.Pass, r.Detail));
        Assert.Equal("cp1", results[0].Host);                       // the VIP holder's haproxy
        Assert.InRange(results[0].Measured.TotalSeconds, 0.3, 1.5); // the simulated 0.4 s move, measured
        Assert.Equal("cp2", results[1].Host);                       // the VIP moved to cp2, whose apiserver is stopped next
        Assert.Equal("cp2", results[2].Host);                       // scheduler lease holder cp2_1234
        Assert.Equal("cp1", results[3].Host);
        Assert.InRange(results[2].Measured.TotalSeconds, 0.5, 2);
        Assert.Equal(TimeSpan.FromSeconds(3) + 2.2 * TimeSpan.FromMilliseconds(500), v.LeaseBound);
        Assert.True(AllRestored(sim));
        Assert.False(File.Exists(Path.Join(_state, "ha-verify-pending.json")));
        Assert.Contains("all 4 checks passed", HaVerify.Report(results));
    }

    [Fact]
    public async Task AnApiThatDoesNotComeBackFailsTheCheckAndIsStillRestored()
    {
        var (v, sim) = Make(new RecordingUi());
        sim.ApiNeverReturns = true;
        var quick = new HaVerify(_file, h => sim.Hosts[h.Name], new RecordingUi(), _state)
        {
            ProbeInterval = TimeSpan.FromMilliseconds(20),
            VipBound = TimeSpan.FromMilliseconds(200),
            GiveUpAfter = TimeSpan.FromSeconds(1),
            StableFor = TimeSpan.FromMilliseconds(300),
            ApiUp = _ => Task.FromResult(sim.ApiUp()),
            LeaseHolder = (n, _) => Task.FromResult(sim.Lease(n)),
        };
        var results = await quick.RunAsync(CancellationToken.None);
        Assert.False(results[0].Pass);
        Assert.Contains("did not come back", results[0].Detail);
        Assert.Contains("FAILED", HaVerify.Report(results));
        Assert.True(AllRestored(sim));
        _ = v;
    }

    [Fact]
    public async Task AnInterruptedRunRestoresAndAKilledRunIsRestoredByTheNextOne()
    {
        var (v, sim) = Make(new RecordingUi());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(150)); // in the middle of the first disruption
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => v.RunAsync(cts.Token));
        Assert.True(AllRestored(sim));
        Assert.False(File.Exists(Path.Join(_state, "ha-verify-pending.json")));

        // a run killed with haproxy stopped leaves its pending file: the next run starts by restoring it
        sim.Hosts["cp3"].Services.Remove("haproxy");
        File.WriteAllText(Path.Join(_state, "ha-verify-pending.json"), """[{"host":"cp3","kind":"stop-service","target":"haproxy"}]""");
        var ui = new RecordingUi();
        var (v2, _) = (new HaVerify(_file, h => sim.Hosts[h.Name], ui, _state), 0);
        Assert.Equal(1, await v2.RestorePendingAsync(CancellationToken.None));
        Assert.Contains("haproxy", sim.Hosts["cp3"].Services);
        Assert.Contains(ui.Lines, l => l.Contains("interrupted run"));
    }

    [Fact]
    public async Task WithoutHaItRefusesWithAMessage()
    {
        var file = ClusterFile.Parse(Yaml.Replace("  ha: {vip: 10.0.0.100}\n", "").Replace("""
                - {name: cp2, address: 10.0.0.12, roles: [control-plane]}
                - {name: cp3, address: 10.0.0.13, roles: [control-plane]}

            """, ""), "single.yaml");
        var v = new HaVerify(file, _ => throw new InvalidOperationException(), new RecordingUi(), _state);
        var e = await Assert.ThrowsAsync<Kubeforge.Phases.UserError>(() => v.RunAsync(CancellationToken.None));
        Assert.Contains("spec.ha", e.Message);
    }
}
