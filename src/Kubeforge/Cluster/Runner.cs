using System.Collections.Concurrent;
using System.Diagnostics;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Cluster;

/// <summary>StepDef is one row of the steps table: the step's name, its implementation, and its inputs — the parts of the
/// cluster file that affect this step on this host, as a canonical string (the journal hashes it).</summary>
public sealed record StepDef(string Name, StepRun Run, Func<ClusterFile, ClusterHost, string> Inputs);

/// <summary>RunOptions narrow and shape one run: concurrency limit, --from-step, --hosts, --steps, dry run.</summary>
public sealed record RunOptions
{
    public int Concurrency { get; init; } = 64;

    /// <summary>FromStep runs that step and every later stage regardless of the journal.</summary>
    public string? FromStep { get; init; }

    /// <summary>Hosts keeps only the tasks on these hosts (null: all).</summary>
    public IReadOnlyCollection<string>? Hosts { get; init; }

    /// <summary>Steps keeps only these steps (null: all).</summary>
    public IReadOnlyCollection<string>? Steps { get; init; }

    /// <summary>DryRun runs every selected step against DryRunHost wrappers, ignores the journal and writes nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>KubeforgeVersion goes into every inputs hash (a new version reruns the steps).</summary>
    public string KubeforgeVersion { get; init; } = "dev";
}

/// <summary>TaskOutcome is how one task of the run ended.</summary>
public sealed record TaskOutcome(int Stage, string Host, string Step, StepStatus Status, TimeSpan Duration, string Summary, TaskFailure? Failure);

/// <summary>RunResult is the outcome of a run: every task considered, the stages not started after a failure, the wall time.</summary>
public sealed record RunResult(IReadOnlyList<TaskOutcome> Tasks, int StagesNotStarted, TimeSpan Elapsed)
{
    public bool Failed => Tasks.Any(t => t.Status == StepStatus.Failed);

    /// <summary>ExitCode is 1 when a task failed, else 0.</summary>
    public int ExitCode => Failed ? 1 : 0;

    /// <summary>Counts are the task counts per status word (done, unchanged, skipped, failed).</summary>
    public IReadOnlyDictionary<string, int> Counts =>
        Enum.GetValues<StepStatus>().ToDictionary(Journal.StatusName, s => Tasks.Count(t => t.Status == s));
}

/// <summary>HostPool holds one IHost per cluster host for the whole run, created on first use by connect (SSH connections
/// open lazily on the first command) and disposed at the end.</summary>
public sealed class HostPool(Func<ClusterHost, IHost> connect) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IHost>> _hosts = new(StringComparer.Ordinal);

    /// <summary>Get returns the host's IHost, creating it once.</summary>
    public IHost Get(ClusterHost h) => _hosts.GetOrAdd(h.Name, _ => new Lazy<IHost>(() => connect(h))).Value;

    /// <summary>Opened lists the hosts created so far, by name.</summary>
    public IReadOnlyDictionary<string, IHost> Opened =>
        _hosts.Where(kv => kv.Value.IsValueCreated).ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        foreach (var h in Opened.Values)
        {
            var real = h is DryRunHost d ? d.Inner : h;
            switch (real)
            {
                case IAsyncDisposable a:
                    await a.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable x:
                    x.Dispose();
                    break;
            }
        }
        _hosts.Clear();
    }
}

/// <summary>ClusterRunner runs the stages of a cluster plan (<see cref="ClusterPlan.Build"/>) in order. The tasks of one stage
/// run concurrently, at most Concurrency at once; when a task fails, the other tasks of its stage finish, later stages do not
/// start and the run fails. A task whose journal entry is Done/Unchanged with the same inputs hash is skipped without
/// touching its host. The journal is written only after a task ends, so an interrupted task simply runs again next time.
/// Every text reaching the sink passes the run's <see cref="Redactor"/>.</summary>
public sealed class ClusterRunner(ClusterFile file, IReadOnlyDictionary<string, StepDef> steps, HostPool pool, Journal journal, IRunSink sink, TimeProvider? time = null, Redactor? secrets = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _emitLock = new();

    /// <summary>Secrets is the run's redactor; steps register the secrets they make (tokens, certificate keys).</summary>
    public Redactor Secrets { get; } = secrets ?? new();

    /// <summary>Shared is the per-run bag given to every step.</summary>
    public ConcurrentDictionary<string, object> Shared { get; } = new(StringComparer.Ordinal);

    /// <summary>Select applies --from-step, --hosts and --steps to the stages: per stage the tasks to consider and whether they
    /// are forced (run regardless of the journal). Unknown names are UserErrors.</summary>
    public IReadOnlyList<(PlanStage Stage, IReadOnlyList<PlanTask> Tasks, bool Forced)> Select(IReadOnlyList<PlanStage> stages, RunOptions o)
    {
        var planSteps = stages.SelectMany(s => s.Tasks).Select(t => t.Step).ToHashSet(StringComparer.Ordinal);
        foreach (var s in (o.Steps ?? []).Concat(o.FromStep is null ? [] : [o.FromStep]))
        {
            if (!ClusterPlan.Steps.ContainsKey(s))
            {
                throw new UserError($"unknown step \"{s}\"; steps are {string.Join(", ", ClusterPlan.Steps.Keys)}");
            }
            if (!planSteps.Contains(s))
            {
                throw new UserError($"step \"{s}\" is not part of this cluster's plan (see \"kubeforge plan -f {file.Source}\")");
            }
        }
        foreach (var h in o.Hosts ?? [])
        {
            file.Host(h);
        }
        var from = o.FromStep is null ? -1 : stages.ToList().FindIndex(s => s.Tasks.Any(t => t.Step == o.FromStep));
        var result = new List<(PlanStage, IReadOnlyList<PlanTask>, bool)>();
        for (var i = 0; i < stages.Count; i++)
        {
            var tasks = stages[i].Tasks.Where(t =>
                (from < 0 || i > from || (i == from && t.Step == o.FromStep)) &&
                (o.Hosts is null || o.Hosts.Contains(t.Host.Name)) &&
                (o.Steps is null || o.Steps.Contains(t.Step))).ToList();
            result.Add((stages[i], tasks, from >= 0 && i >= from));
        }
        return result;
    }

    /// <summary>RunAsync runs the selected tasks of stages and returns every outcome. Cancellation stops the run (tasks in
    /// flight are cancelled and not journaled) and surfaces as OperationCanceledException.</summary>
    public async Task<RunResult> RunAsync(IReadOnlyList<PlanStage> stages, RunOptions o, CancellationToken ct = default)
    {
        if (o.Concurrency < 1)
        {
            throw new UserError($"--concurrency: {o.Concurrency} is not a positive number");
        }
        var selected = Select(stages, o);
        var sw = Stopwatch.StartNew();
        var total = selected.Sum(s => s.Tasks.Count);
        Emit(new RunEvent(RunEventKind.RunStarted, _time.GetUtcNow())
        {
            Summary = $"cluster \"{file.Name}\", {total} tasks in {selected.Count(s => s.Tasks.Count > 0)} stages, concurrency {o.Concurrency}{(o.DryRun ? ", dry run" : "")}",
        });
        var outcomes = new List<TaskOutcome>();
        using var gate = new SemaphoreSlim(o.Concurrency);
        var notStarted = 0;
        for (var i = 0; i < selected.Count; i++)
        {
            var (_, tasks, forced) = selected[i];
            if (tasks.Count == 0)
            {
                continue;
            }
            if (outcomes.Any(t => t.Status == StepStatus.Failed))
            {
                notStarted++;
                continue;
            }
            var end = i;
            while (end + 1 < selected.Count && selected[i].Stage.HostLocal && selected[end + 1].Stage.HostLocal)
            {
                end++;
            }
            if (end > i)
            {
                outcomes.AddRange(await RunLanesAsync(selected, i, end, o, gate, ct).ConfigureAwait(false));
                i = end;
                continue;
            }
            var stage = i + 1;
            outcomes.AddRange(await Task.WhenAll(tasks.Select(t => RunTaskAsync(stage, t, forced, o, gate, ct))).ConfigureAwait(false));
        }
        var result = new RunResult(outcomes, notStarted, sw.Elapsed);
        var c = result.Counts;
        Emit(new RunEvent(RunEventKind.RunFinished, _time.GetUtcNow())
        {
            Duration = sw.Elapsed,
            Counts = c,
            Summary = $"{outcomes.Count} tasks: {c["done"]} done, {c["unchanged"]} unchanged, {c["skipped"]} skipped, {c["failed"]} failed" +
                (notStarted > 0 ? $"; {notStarted} later stage(s) not started" : ""),
        });
        return result;
    }

    /// <summary>RunLanesAsync runs the host-local stages first..last as one lane per host: a host goes through its tasks of
    /// those stages in order without waiting for the other hosts (no barrier: the slowest host no longer holds everyone
    /// back at each step). A failed task ends its host's lane; the other lanes finish. Outcomes come back in stage order.</summary>
    private async Task<IReadOnlyList<TaskOutcome>> RunLanesAsync(IReadOnlyList<(PlanStage Stage, IReadOnlyList<PlanTask> Tasks, bool Forced)> selected,
        int first, int last, RunOptions o, SemaphoreSlim gate, CancellationToken ct)
    {
        var lanes = new List<(ClusterHost Host, List<(int Stage, PlanTask Task, bool Forced)> Tasks)>();
        for (var k = first; k <= last; k++)
        {
            foreach (var t in selected[k].Tasks)
            {
                var lane = lanes.FindIndex(l => l.Host.Name == t.Host.Name);
                if (lane < 0)
                {
                    lanes.Add((t.Host, []));
                    lane = lanes.Count - 1;
                }
                lanes[lane].Tasks.Add((k + 1, t, selected[k].Forced));
            }
        }
        var results = await Task.WhenAll(lanes.Select(async lane =>
        {
            var done = new List<TaskOutcome>();
            foreach (var (stage, t, forced) in lane.Tasks)
            {
                var r = await RunTaskAsync(stage, t, forced, o, gate, ct).ConfigureAwait(false);
                done.Add(r);
                if (r.Status == StepStatus.Failed)
                {
                    break;
                }
            }
            return done;
        })).ConfigureAwait(false);
        var order = lanes.Select((l, n) => (l.Host.Name, n)).ToDictionary(x => x.Name, x => x.n, StringComparer.Ordinal);
        return results.SelectMany(r => r).OrderBy(r => r.Stage).ThenBy(r => order[r.Host]).ToList();
    }

    private async Task<TaskOutcome> RunTaskAsync(int stage, PlanTask t, bool forced, RunOptions o, SemaphoreSlim gate, CancellationToken ct)
    {
        var def = steps.TryGetValue(t.Step, out var d) ? d : throw new UserError($"step \"{t.Step}\" has no implementation in this build");
        var hash = Journal.Hash(def.Inputs(file, t.Host), o.KubeforgeVersion);
        if (!forced && !o.DryRun && journal.Get(t.Host.Name, t.Step) is { Status: StepStatus.Done or StepStatus.Unchanged } prev && prev.InputsHash == hash)
        {
            var skipped = new TaskOutcome(stage, t.Host.Name, t.Step, StepStatus.Skipped, TimeSpan.Zero, $"{Journal.StatusName(prev.Status)} with the same inputs at {prev.Start.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z (journal)", null);
            Emit(Finished(skipped));
            return skipped;
        }
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var start = _time.GetUtcNow();
            Emit(new RunEvent(RunEventKind.TaskStarted, start) { Host = t.Host.Name, Step = t.Step, Stage = stage });
            var ui = new TaskUi(this, t);
            var sw = Stopwatch.StartNew();
            TaskHost? node = null;
            TaskOutcome outcome;
            try
            {
                node = new TaskHost(pool.Get(t.Host), line => ui.Detail(line));
                var ctx = new StepContext
                {
                    File = file,
                    Host = t.Host,
                    Node = node,
                    HostOf = pool.Get,
                    Ui = ui,
                    Time = _time,
                    DryRun = o.DryRun,
                    Shared = Shared,
                    Secrets = Secrets,
                };
                var r = await def.Run(ctx, ct).ConfigureAwait(false);
                foreach (var line in r.Details ?? [])
                {
                    ui.Detail(line);
                }
                outcome = new TaskOutcome(stage, t.Host.Name, t.Step, r.Status, sw.Elapsed, Secrets.Clean(r.Summary), null);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                var failure = Failure(e, node, ui);
                outcome = new TaskOutcome(stage, t.Host.Name, t.Step, StepStatus.Failed, sw.Elapsed, failure.Message, failure);
            }
            if (!o.DryRun)
            {
                journal.Record(new JournalEntry(t.Host.Name, t.Step, hash, outcome.Status, start, outcome.Duration, outcome.Summary));
            }
            Emit(Finished(outcome));
            return outcome;
        }
        finally
        {
            gate.Release();
        }
    }

    private TaskFailure Failure(Exception e, TaskHost? node, TaskUi ui)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } agg)
        {
            e = agg.InnerExceptions[0];
        }
        var message = Secrets.Clean(e is UserError ? e.Message : $"{e.GetType().Name}: {e.Message}");
        var failed = node?.LastFailed;
        var lines = failed is { } f
            ? Tail((f.Result.Stdout + "\n" + f.Result.Stderr).Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0), 20)
            : Tail(ui.Lines, 10);
        lines = lines.Select(Secrets.Clean).ToList();
        var hint = FailureHints.For(message + "\n" + string.Join("\n", lines));
        return new TaskFailure(message, failed is { } c ? Secrets.Clean(c.Command) : null, lines, hint);
    }

    private static List<string> Tail(IEnumerable<string> lines, int n)
    {
        var all = lines.ToList();
        return all.Skip(Math.Max(0, all.Count - n)).ToList();
    }

    private static RunEvent Finished(TaskOutcome t) => new(RunEventKind.TaskFinished, DateTimeOffset.UtcNow)
    {
        Host = t.Host,
        Step = t.Step,
        Stage = t.Stage,
        Status = t.Status,
        Duration = t.Duration,
        Summary = t.Summary,
        Failure = t.Failure,
    };

    private void Emit(RunEvent e)
    {
        lock (_emitLock)
        {
            sink.Emit(e);
        }
    }

    /// <summary>TaskUi turns a step's progress lines into redacted detail events and keeps them for the failure report.</summary>
    private sealed class TaskUi(ClusterRunner runner, PlanTask t) : IUi
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IEnumerable<string> Lines => _lines;

        public void Detail(string line)
        {
            line = runner.Secrets.Clean(line);
            _lines.Enqueue(line);
            runner.Emit(new RunEvent(RunEventKind.Detail, runner._time.GetUtcNow()) { Host = t.Host.Name, Step = t.Step, Summary = line });
        }

        public void Info(string phase, string message) => Detail($"[{phase}] {message}");

        public void Warn(string phase, string message) => Detail($"[{phase}] WARNING: {message}");

        public void Raw(string text)
        {
            foreach (var l in text.Split('\n').Where(l => l.Trim().Length > 0))
            {
                Detail(l.TrimEnd());
            }
        }
    }
}

/// <summary>TaskHost is the IHost a task sees: it passes everything to the run's host of that machine and remembers the
/// commands the task ran (for the log and, on failure, the command and its last output lines).</summary>
public sealed class TaskHost(IHost inner, Action<string>? log = null) : IHost
{
    private readonly Lock _lock = new();

    /// <summary>LastFailed is the most recent command that exited non-zero.</summary>
    public (string Command, CommandResult Result)? LastFailed { get; private set; }

    /// <summary>Inner is the run's host.</summary>
    public IHost Inner => inner;

    public string Name => inner.Name;
    public bool ManagesServices => inner.ManagesServices;

    public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        var r = await inner.RunAsync(argv, stdin, ct).ConfigureAwait(false);
        var cmd = ShellQuote.Join(argv);
        log?.Invoke($"$ {(cmd.Length > 300 ? cmd[..300] + "…" : cmd)} (exit {r.ExitCode}, {sw.Elapsed.TotalSeconds:0.000}s)");
        if (!r.Ok)
        {
            lock (_lock)
            {
                LastFailed = (cmd, r);
            }
        }
        return r;
    }

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) => inner.ReadFileAsync(path, ct);
    public Task<FileState> StatAsync(string path, CancellationToken ct = default) => inner.StatAsync(path, ct);
    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) => inner.ListAsync(path, ct);

    public async Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = FileModes.Dir, CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        await inner.WriteFileAsync(path, content, mode, dirMode, ct).ConfigureAwait(false);
        log?.Invoke($"write {path} (mode {Convert.ToString(mode, 8)}, {sw.Elapsed.TotalSeconds:0.000}s)");
    }

    public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default) => inner.CreateDirectoryAsync(path, mode, ct);

    public Task DeleteAsync(string path, CancellationToken ct = default)
    {
        log?.Invoke($"delete {path}");
        return inner.DeleteAsync(path, ct);
    }

    public Task RenameAsync(string from, string to, CancellationToken ct = default) => inner.RenameAsync(from, to, ct);
}
