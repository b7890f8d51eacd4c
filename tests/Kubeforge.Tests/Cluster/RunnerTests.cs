using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Kubeforge.Cluster;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Tests.Cluster;

/// <summary>RunnerTests drive the cluster runner with a fake step table over fake hosts: concurrency, stage order, failure
/// handling and report, journal skips and reruns, selection flags, JSON events, interruption and secrets.</summary>
public sealed class RunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-runner-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>File is one control plane (cp) and n workers (w1..wn), no HA, flannel.</summary>
    internal static ClusterFile File(int workers)
    {
        var hosts = new List<string> { "    - name: cp\n      address: 10.0.0.10\n      roles: [control-plane]" };
        for (var i = 1; i <= workers; i++)
        {
            hosts.Add($"    - name: w{i}\n      address: 10.0.1.{i}\n      roles: [worker]");
        }
        return ClusterFile.Parse($"apiVersion: kubeforge.io/v1alpha1\nkind: Cluster\nspec:\n  kubernetesVersion: v1.30.6\n  hosts:\n{string.Join("\n", hosts)}\n", "c.yaml");
    }

    /// <summary>FakeHost counts every operation (a "host contact"); commands answer from Answer.</summary>
    internal sealed class FakeHost(string name) : IHost
    {
        public int Contacts;
        public Func<IReadOnlyList<string>, CommandResult> Answer { get; set; } = _ => new CommandResult(0, "", "");
        public string Name => name;
        public bool ManagesServices => true;
        public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) { Interlocked.Increment(ref Contacts); return Task.FromResult<byte[]?>(null); }
        public Task<FileState> StatAsync(string path, CancellationToken ct = default) { Interlocked.Increment(ref Contacts); return Task.FromResult(new FileState(false, false, 0, 0)); }
        public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) { Interlocked.Increment(ref Contacts); return Task.FromResult<IReadOnlyList<string>>([]); }
        public Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = 493, CancellationToken ct = default) { Interlocked.Increment(ref Contacts); return Task.CompletedTask; }
        public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default) { Interlocked.Increment(ref Contacts); return Task.CompletedTask; }
        public Task DeleteAsync(string path, CancellationToken ct = default) { Interlocked.Increment(ref Contacts); return Task.CompletedTask; }
        public Task RenameAsync(string from, string to, CancellationToken ct = default) { Interlocked.Increment(ref Contacts); return Task.CompletedTask; }
        public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default) { Interlocked.Increment(ref Contacts); return Task.FromResult(Answer(argv)); }
    }

    /// <summary>World is a fake cluster: hosts, a state dictionary the steps converge, and instrumentation.</summary>
    internal sealed class World
    {
        public ConcurrentDictionary<string, FakeHost> Hosts { get; } = new();
        public ConcurrentDictionary<string, string> State { get; } = new();
        public ConcurrentQueue<(string Event, string Task, int Stage)> Trace { get; } = new();
        public int Created;
        public int InFlight;
        public int MaxInFlight;
        public int Runs;
        public string Version = "v1";
        public TimeSpan Delay = TimeSpan.FromMilliseconds(5);
        public Func<StepContext, string, Task>? Hook;

        public IReadOnlyDictionary<string, StepDef> Table => ClusterPlan.Steps.Keys.ToDictionary(s => s, s => new StepDef(s, async (ctx, ct) =>
        {
            var now = Interlocked.Increment(ref InFlight);
            InterlockedMax(ref MaxInFlight, now);
            Interlocked.Increment(ref Runs);
            Trace.Enqueue(("start", $"{s}@{ctx.Host.Name}", 0));
            try
            {
                await ctx.Node.RunAsync(["touch", s], null, ct);
                await Task.Delay(Delay, ct);
                if (Hook is not null)
                {
                    await Hook(ctx, s);
                }
                var key = $"{ctx.Host.Name}/{s}";
                var changed = State.GetValueOrDefault(key) != Version;
                State[key] = Version;
                return StepResult.Of(changed, $"{s} {Version}");
            }
            finally
            {
                Trace.Enqueue(("end", $"{s}@{ctx.Host.Name}", 0));
                Interlocked.Decrement(ref InFlight);
            }
        }, (f, h) => $"{h.Name}:{s}:{Version}"));

        public HostPool Pool() => new(h =>
        {
            Interlocked.Increment(ref Created);
            return Hosts.GetOrAdd(h.Name, n => new FakeHost(n));
        });

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }

    private sealed class Recorder : IRunSink
    {
        public List<RunEvent> Events { get; } = [];
        public void Emit(RunEvent e) => Events.Add(e);
    }

    private string JournalPath => Path.Join(_dir, "state", Journal.FileName);

    private async Task<(RunResult Result, Recorder Events)> Run(ClusterFile f, World w, RunOptions? o = null, Journal? journal = null, IRunSink? extra = null, CancellationToken ct = default)
    {
        var rec = new Recorder();
        await using var pool = w.Pool();
        var runner = new ClusterRunner(f, w.Table, pool, journal ?? Journal.Load(JournalPath), extra is null ? rec : new RunSinks(rec, extra));
        var r = await runner.RunAsync(ClusterPlan.Build(f), o ?? new RunOptions(), ct);
        return (r, rec);
    }

    [Fact]
    public async Task ConcurrencyLimitIsHonoured()
    {
        var w = new World { Delay = TimeSpan.FromMilliseconds(30) };
        var (r, _) = await Run(File(12), w, new RunOptions { Concurrency = 4 });
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(4, w.MaxInFlight);
        var w2 = new World { Delay = TimeSpan.FromMilliseconds(30) };
        await Run(File(12), w2, new RunOptions { Concurrency = 16 }, Journal.InMemory());
        Assert.True(w2.MaxInFlight > 4, $"max in flight {w2.MaxInFlight}");
    }

    [Fact]
    public async Task StagesRunInOrderAndOneConnectionPerHost()
    {
        var f = File(3);
        var w = new World();
        var (r, _) = await Run(f, w);
        var stages = ClusterPlan.Build(f);
        var stageOf = stages.SelectMany((s, i) => s.Tasks.Select(t => ($"{t.Step}@{t.Host.Name}", i))).ToDictionary(x => x.Item1, x => x.i);
        var trace = w.Trace.ToList();
        for (var i = 0; i < trace.Count; i++)
        {
            if (trace[i].Event != "start")
            {
                continue;
            }
            // every task of an earlier stage has ended before a task of a later stage starts — on the same host only,
            // while both stages are host preparation (one lane per host)
            var stage = stageOf[trace[i].Task];
            var host = trace[i].Task.Split('@')[1];
            var local = stages[stage].HostLocal;
            var ended = trace.Take(i).Where(x => x.Event == "end").Select(x => x.Task).ToHashSet();
            Assert.All(stageOf.Where(kv => kv.Value < stage && (!local || kv.Key.EndsWith("@" + host, StringComparison.Ordinal))), kv => Assert.Contains(kv.Key, ended));
        }
        Assert.Equal(stageOf.Count, r.Tasks.Count);
        Assert.Equal(4, w.Created);
    }

    [Fact]
    public async Task EachHostGoesThroughHostPreparationWithoutWaitingForSlowerHosts()
    {
        var f = File(2);
        var w = new World();
        w.Hook = (ctx, s) => s == "preflight" && ctx.Host.Name == "w1" ? Task.Delay(400) : Task.CompletedTask;
        var (r, _) = await Run(f, w);
        Assert.Equal(0, r.ExitCode);
        var trace = w.Trace.ToList();
        int At(string ev, string task) => trace.FindIndex(x => x.Event == ev && x.Task == task);
        // cp and w2 reach their images step while w1 is still in preflight...
        Assert.True(At("end", "images@cp") < At("end", "preflight@w1"), "cp waited for w1's preflight");
        Assert.True(At("end", "images@w2") < At("end", "preflight@w1"), "w2 waited for w1's preflight");
        // ...but the first cluster-wide step waits for every host's preparation
        Assert.True(At("start", "init@cp") > At("end", "images@w1"));
        // outcomes come back in stage order, hosts in file order within a stage
        Assert.Equal(["preflight@cp", "preflight@w1", "preflight@w2", "os-prepare@cp"], r.Tasks.Take(4).Select(t => $"{t.Step}@{t.Host}"));
    }

    [Fact]
    public async Task FailureFinishesTheStageStopsLaterStagesAndReportsCommandLinesAndHint()
    {
        var f = File(3);
        var w = new World();
        w.Hook = async (ctx, s) =>
        {
            if (s == "containerd" && ctx.Host.Name == "w2")
            {
                ((FakeHost)((TaskHost)ctx.Node).Inner).Answer = _ => new CommandResult(1, "line one\nline two", "ctr: failed to resolve reference: x509: certificate signed by unknown authority");
                var res = await ctx.Node.RunAsync(["ctr", "images", "pull", "registry.example/pause:3.9"], null, CancellationToken.None);
                throw new UserError($"w2: pull failed (exit {res.ExitCode})");
            }
        };
        var plain = new StringWriter();
        var (r, ev) = await Run(f, w, extra: new PlainRunSink(plain));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(3, r.Tasks.Count(t => t.Step == "containerd" && t.Status == StepStatus.Done));
        // w2's lane stops at its failure; the other hosts finish their host preparation; nothing after it starts
        Assert.DoesNotContain(r.Tasks, t => t.Host == "w2" && t.Step is "packages" or "images");
        Assert.Equal(3, r.Tasks.Count(t => t.Step == "images" && t.Status == StepStatus.Done));
        Assert.DoesNotContain(r.Tasks, t => t.Step is "init" or "join-worker" or "cni" or "checks");
        Assert.True(r.StagesNotStarted > 0);
        var summary = RunSummary.Render(r);
        Assert.Contains("FAILED containerd on w2", summary);
        Assert.Contains("command: ctr images pull registry.example/pause:3.9", summary);
        Assert.Contains("line two", summary);
        Assert.Contains("x509: certificate signed by unknown authority", summary);
        Assert.Contains("hint: the registry or API certificate is not trusted", summary);
        Assert.Contains("later stage(s) not started", summary);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d\.\d{3} w2 containerd failed \d+\.\d{3}s w2: pull failed", plain.ToString());
        Assert.Equal(StepStatus.Failed, Journal.Load(JournalPath).Get("w2", "containerd")!.Status);
    }

    [Fact]
    public async Task RerunSkipsFinishedTasksWithoutContactingHosts()
    {
        var f = File(3);
        var w = new World();
        var (first, _) = await Run(f, w);
        Assert.All(first.Tasks, t => Assert.Equal(StepStatus.Done, t.Status));
        var contacts = w.Hosts.Values.Sum(h => h.Contacts);
        var created = w.Created;
        var (second, ev) = await Run(f, w);
        Assert.All(second.Tasks, t => Assert.Equal(StepStatus.Skipped, t.Status));
        Assert.Equal(first.Tasks.Count, second.Tasks.Count);
        Assert.Equal(contacts, w.Hosts.Values.Sum(h => h.Contacts));
        Assert.Equal(created, w.Created);
        Assert.DoesNotContain(ev.Events, e => e.Kind == RunEventKind.TaskStarted);
    }

    [Fact]
    public async Task ChangedInputsRerunAndFailedTasksAreRetried()
    {
        var f = File(2);
        var w = new World();
        w.Hook = (ctx, s) => s == "images" && ctx.Host.Name == "w1" ? throw new UserError("mirror down") : Task.CompletedTask;
        var (first, _) = await Run(f, w);
        Assert.Equal(1, first.ExitCode);
        w.Hook = null;
        var runsBefore = w.Runs;
        var (second, _) = await Run(f, w);
        Assert.Equal(0, second.ExitCode);
        // the failed task and the stages that never ran are run; the rest is skipped
        Assert.Equal(StepStatus.Done, second.Tasks.Single(t => t.Step == "images" && t.Host == "w1").Status);
        Assert.All(second.Tasks.Where(t => t.Step is "preflight" or "os-prepare" or "containerd" or "packages"), t => Assert.Equal(StepStatus.Skipped, t.Status));
        Assert.All(second.Tasks.Where(t => t.Step is "init" or "join-worker" or "checks"), t => Assert.Equal(StepStatus.Done, t.Status));
        Assert.Equal(second.Tasks.Count(t => t.Status != StepStatus.Skipped), w.Runs - runsBefore);

        w.Version = "v2"; // every input changes
        var (third, _) = await Run(f, w);
        Assert.All(third.Tasks, t => Assert.Equal(StepStatus.Done, t.Status));
        var (fourth, _) = await Run(f, w);
        Assert.All(fourth.Tasks, t => Assert.Equal(StepStatus.Skipped, t.Status));
    }

    [Fact]
    public async Task FromStepHostsAndStepsNarrowTheRun()
    {
        var f = File(3);
        var w = new World();
        await Run(f, w);
        var (steps, _) = await Run(f, w, new RunOptions { Steps = ["os-prepare", "containerd"] });
        Assert.Equal(8, steps.Tasks.Count);
        Assert.All(steps.Tasks, t => Assert.Contains(t.Step, new[] { "os-prepare", "containerd" }));
        Assert.All(steps.Tasks, t => Assert.Equal(StepStatus.Skipped, t.Status));

        var (from, _) = await Run(f, w, new RunOptions { FromStep = "containerd" });
        Assert.DoesNotContain(from.Tasks, t => t.Step is "preflight" or "os-prepare");
        Assert.Equal(4, from.Tasks.Count(t => t.Step == "containerd"));
        Assert.All(from.Tasks, t => Assert.Equal(StepStatus.Unchanged, t.Status));
        Assert.Contains(from.Tasks, t => t.Step == "checks");

        var (hosts, _) = await Run(f, w, new RunOptions { Hosts = ["w1", "w3"], FromStep = "preflight" });
        Assert.All(hosts.Tasks, t => Assert.Contains(t.Host, new[] { "w1", "w3" }));
        Assert.Equal(2 * 6, hosts.Tasks.Count); // preflight..images and join-worker on each

        await using var pool = w.Pool();
        var runner = new ClusterRunner(f, w.Table, pool, Journal.InMemory(), new Recorder());
        Assert.Contains("unknown step \"bogus\"", Assert.Throws<UserError>(() => runner.Select(ClusterPlan.Build(f), new RunOptions { Steps = ["bogus"] })).Message);
        Assert.Contains("not part of this cluster's plan", Assert.Throws<UserError>(() => runner.Select(ClusterPlan.Build(f), new RunOptions { FromStep = "vip" })).Message);
        Assert.Contains("no host named \"nope\"", Assert.Throws<UserError>(() => runner.Select(ClusterPlan.Build(f), new RunOptions { Hosts = ["nope"] })).Message);
    }

    [Fact]
    public async Task JsonLinesCarryTheEventFields()
    {
        var f = File(1);
        var w = new World();
        var json = new StringWriter();
        await Run(f, w, extra: new JsonRunSink(json), journal: Journal.InMemory());
        var lines = json.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal("runStarted", lines[0]["event"]!.GetValue<string>());
        Assert.Equal("runFinished", lines[^1]["event"]!.GetValue<string>());
        Assert.Equal(0, lines[^1]["counts"]!["failed"]!.GetValue<int>());
        var finished = lines.Where(l => l["event"]!.GetValue<string>() == "taskFinished").ToList();
        Assert.Equal(ClusterPlan.Build(f).Sum(s => s.Tasks.Count), finished.Count);
        Assert.All(finished, l =>
        {
            Assert.Equal("done", l["status"]!.GetValue<string>());
            Assert.True(l["durationMs"]!.GetValue<double>() >= 0);
            Assert.False(string.IsNullOrEmpty(l["host"]!.GetValue<string>()));
            Assert.False(string.IsNullOrEmpty(l["step"]!.GetValue<string>()));
            Assert.StartsWith(l["step"]!.GetValue<string>(), l["summary"]!.GetValue<string>());
            Assert.EndsWith("Z", l["time"]!.GetValue<string>());
        });
        Assert.Equal(finished.Count, lines.Count(l => l["event"]!.GetValue<string>() == "taskStarted"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(13)]
    public async Task InterruptedAfterKTasksThenRerunConvergesToTheSameEndState(int k)
    {
        var f = File(3);
        var clean = new World();
        await Run(f, clean, journal: Journal.InMemory());

        var w = new World();
        using var cts = new CancellationTokenSource();
        var finished = 0;
        w.Hook = (ctx, s) =>
        {
            if (Interlocked.Increment(ref finished) == k)
            {
                cts.Cancel();
            }
            return Task.CompletedTask;
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run(f, w, ct: cts.Token));
        var journaled = Journal.Load(JournalPath).Entries;
        Assert.True(journaled.Count < clean.State.Count);
        Assert.All(journaled, e => Assert.Equal(StepStatus.Done, e.Status));
        w.Hook = null;
        var (rerun, _) = await Run(f, w);
        Assert.Equal(0, rerun.ExitCode);
        Assert.Equal(clean.State.OrderBy(kv => kv.Key), w.State.OrderBy(kv => kv.Key));
        Assert.Equal(clean.State.Count, Journal.Load(JournalPath).Entries.Count);
        var (again, _) = await Run(f, w);
        Assert.All(again.Tasks, t => Assert.Equal(StepStatus.Skipped, t.Status));
    }

    [Fact]
    public async Task SecretsNeverReachOutputOrLog()
    {
        var f = File(1);
        var w = new World();
        const string token = "abcdef.0123456789abcdef";
        var key = new string('a', 64);
        w.Hook = (ctx, s) =>
        {
            if (s == "init")
            {
                ctx.Secrets.Add("hunter2-password");
                ctx.Ui.Info("bootstrap-token", $"Using token: {token}");
                ctx.Ui.Raw($"certificate key:\n{key}\n");
                ctx.Ui.Info("ssh", "password hunter2-password accepted");
                throw new UserError($"join failed with token {token} and password=hunter2-password");
            }
            return Task.CompletedTask;
        };
        var json = new StringWriter();
        var log = new StringWriter();
        var (r, _) = await Run(f, w, extra: new RunSinks(new JsonRunSink(json, details: true), new LogFileSink(log)));
        var all = json + "\n" + log + "\n" + RunSummary.Render(r);
        Assert.Contains("Using token: <redacted>", all);
        Assert.DoesNotContain(token, all);
        Assert.DoesNotContain(key, all);
        Assert.DoesNotContain("hunter2", all);
        Assert.DoesNotContain("hunter2", System.IO.File.ReadAllText(JournalPath));
    }
}
