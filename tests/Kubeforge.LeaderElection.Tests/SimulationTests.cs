using System.Globalization;
using Kubeforge.LeaderElection.Tests.Sim;
using Xunit.Abstractions;

namespace Kubeforge.LeaderElection.Tests;

/// <summary>SimulationTests run thousands of seeded random schedules (crashes, pauses longer than the lease, API errors,
/// hung requests, latency, clock-rate differences, graceful stops) in virtual time and check client-go's guarantees:
///
/// (A) always: at most one *valid* leader, where valid = its leader token is live and its last successful lease write
///     was applied less than leaseDurationSeconds(record) / maxClockRate ago. (A candidate takes over only after a full
///     lease duration on its own clock since it observed that write, so a token older than that is the "paused leader
///     that still believes it leads" case client-go does not fence.)
/// (B) when no process is paused and latency + (retryPeriod + renewDeadline)/minRate &lt; leaseSeconds/maxRate: never two
///     live leader tokens at all (the old leader stops before anyone may start).
/// (C) a crashed leader is replaced within (leaseSeconds + 2.2 × retryPeriod)/minRate + 3 round trips after the first
///     time a live candidate observed its last write (expiry + one jittered retry + the attempt itself).
/// (D) a released lease is taken within 2.2 × retryPeriod/minRate + 3 round trips of the release write (next retry).</summary>
public class SimulationTests(ITestOutputHelper output)
{
    private const int Schedules = 2000;

    [Fact]
    public void RandomSchedulesKeepClientGoGuarantees()
    {
        var crashTakeovers = new List<double>();
        var releaseTakeovers = new List<double>();
        var failures = new List<string>();
        var strict = 0;
        RunOnDedicatedThread(() =>
        {
            var only = Environment.GetEnvironmentVariable("LE_SIM_SEED");
            for (var seed = only is null ? 1 : int.Parse(only, CultureInfo.InvariantCulture); seed <= (only is null ? Schedules : int.Parse(only, CultureInfo.InvariantCulture)) && failures.Count < 5; seed++)
            {
                try
                {
                    if (RunSchedule(seed, crashTakeovers, releaseTakeovers)) strict++;
                }
                catch (Exception e)
                {
                    failures.Add($"seed {seed}: {e.Message}");
                }
            }
        });
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        output.WriteLine($"{Schedules} schedules, {strict} with the strict no-overlap check");
        output.WriteLine($"crash takeover (time after crash / leaseDuration): {Stats(crashTakeovers)}");
        output.WriteLine($"release takeover (s after stop): {Stats(releaseTakeovers)}");
        Assert.True(strict > Schedules / 5, "too few schedules exercised the strict check");
    }

    [Fact]
    public void DefaultTimingsCrashTakeoverMatchesTheGuideNumbers()
    {
        // 15 s / 10 s / 2 s, equal clocks, ~no latency: the guide (§6.1) says 13–24 s after the crash, typically 15–19 s.
        var takeovers = new List<double>();
        RunOnDedicatedThread(() =>
        {
            for (var seed = 1; seed <= 200; seed++)
            {
                var w = new World(seed, 3, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), 0, 0.001, true);
                w.Nodes.ForEach(w.Start);
                w.Sim.RunUntil(Sim.Sim.Ticks(60 + seed % 7));
                var leader = Assert.Single(w.Leaders);
                var crashedAt = w.Sim.Now;
                w.Crash(leader);
                var t = RunUntilLeader(w, Sim.Sim.Ticks(60));
                Assert.NotNull(t);
                takeovers.Add((t.Value - crashedAt) / (double)TimeSpan.TicksPerSecond);
            }
        });
        output.WriteLine($"default timings, crash → new leader: {Stats(takeovers)}");
        Assert.InRange(takeovers.Min(), 13.0, 24.0);
        Assert.InRange(takeovers.Max(), 13.0, 24.0);
    }

    private static bool RunSchedule(int seed, List<double> crashTakeovers, List<double> releaseTakeovers)
    {
        World? world = null;
        try
        {
            return RunSchedule(seed, crashTakeovers, releaseTakeovers, w => world = w);
        }
        catch (Exception e) when (world is not null && Environment.GetEnvironmentVariable("LE_SIM_TRACE") is { } filter)
        {
            var lines = world.Trace.Where(l => filter.Split(',').Any(l.Contains)).TakeLast(120)
                .Concat(world.Store.Writes.TakeLast(25).Select(x => $"WRITE {Secs(x.At)} v{x.Version} {x.Record.HolderIdentity} tr={x.Record.LeaderTransitions}"));
            throw new InvalidOperationException(e.Message + "\n" + string.Join("\n", lines), e);
        }
    }

    private static bool RunSchedule(int seed, List<double> crashTakeovers, List<double> releaseTakeovers, Action<World> expose)
    {
        var rng = new Random(seed * 7919);
        var retry = 0.5 + rng.NextDouble() * 2.5;
        var renew = retry * 1.2 + 0.05 + rng.NextDouble() * 8;
        var lease = renew + 0.05 + rng.NextDouble() * 8;
        if (lease < 1) lease = 1;
        var spread = new[] { 0, 0.001, 0.01, 0.05 }[rng.Next(4)];
        var latency = new[] { 0.0005, 0.02, 0.2 }[rng.Next(3)];
        var pauses = rng.NextDouble() < 0.5;
        var nodes = rng.Next(2, 6);
        var w = new World(seed, nodes, TimeSpan.FromSeconds(lease), TimeSpan.FromSeconds(renew), TimeSpan.FromSeconds(retry),
            spread, latency, release: rng.NextDouble() < 0.8);
        expose(w);
        w.Trace.Add($"CONFIG lease={lease:0.###} renew={renew:0.###} retry={retry:0.###} rates={string.Join("/", w.Nodes.Select(n => n.Rate.ToString("0.###", CultureInfo.InvariantCulture)))} latency={latency} pauses={pauses}");
        var leaseRec = w.LeaseSecondsInRecord;
        var validFor = Sim.Sim.Ticks(leaseRec / w.RateMax);
        var strict = !pauses && latency + (retry + renew) / w.RateMin + 0.001 < leaseRec / w.RateMax;
        w.Sim.AfterEvent = () =>
        {
            var now = w.Sim.Now;
            var valid = w.Leaders.Where(n => now - n.LastWriteApplied < validFor).Select(n => n.Identity).ToList();
            if (valid.Count > 1) throw new InvalidOperationException($"(A) two valid leaders at {Secs(now)}: {string.Join(", ", valid)}");
            if (strict && w.Leaders.Count() > 1)
                throw new InvalidOperationException($"(B) overlapping leaders at {Secs(now)}: {string.Join(", ", w.Leaders.Select(n => n.Identity))}");
        };
        w.Nodes.ForEach(w.Start);

        // chaos phase
        var end = Sim.Sim.Ticks(40 + rng.NextDouble() * 120);
        var baseError = rng.NextDouble() < 0.5 ? 0 : 0.05;
        var baseHang = rng.NextDouble() < 0.5 ? 0 : 0.02;
        foreach (var n in w.Nodes) { n.Faults.ErrorRate = baseError; n.Faults.HangRate = baseHang; }
        while (w.Sim.Now < end)
        {
            w.Sim.RunUntil(w.Sim.Now + Sim.Sim.Ticks(0.5 + rng.NextDouble() * 8));
            var n = w.Nodes[rng.Next(w.Nodes.Count)];
            var roll = rng.NextDouble();
            if (roll < 0.15 && w.Nodes.Count(x => x.Running) > 1) w.Crash(n);
            else if (roll < 0.25 && w.Nodes.Count(x => x.Running) > 1) w.Stop(n);
            else if (roll < 0.45 && !n.Running) w.Start(n);
            else if (roll < 0.6 && pauses && n.Running)
            {
                n.Clock.PausedUntil = Math.Max(n.Clock.PausedUntil, w.Sim.Now + Sim.Sim.Ticks(0.1 + rng.NextDouble() * 2.5 * lease));
                w.Trace.Add($"{w.Sim.Now / 1e7:0.000} PAUSE {n.Identity} until {n.Clock.PausedUntil / 1e7:0.000}");
            }
            else if (roll < 0.75) n.Faults.ErrorRate = rng.NextDouble();
            else if (roll < 0.85) n.Faults.HangRate = rng.NextDouble() * 0.5;
            else { n.Faults.ErrorRate = baseError; n.Faults.HangRate = baseHang; }
        }

        // calm phase: faults off (latency and clock rates stay), every process running
        foreach (var n in w.Nodes)
        {
            n.Faults.ErrorRate = 0;
            n.Faults.HangRate = 0;
            if (!n.Running) w.Start(n);
        }
        // let pauses end and hung requests time out (max(1 s, renewDeadline/2)) before anything is measured
        w.Sim.RunUntil(w.Nodes.Max(n => n.Clock.PausedUntil) + Sim.Sim.Ticks(Math.Max(1, renew / 2) + latency * 2));
        var rtt = 2 * latency;
        var settle = RunUntilLeader(w, Sim.Sim.Ticks(3 * lease + 10 * retry + 10 * rtt + 5));
        if (settle is null) throw new InvalidOperationException($"no leader emerged in the calm phase by {Secs(w.Sim.Now)}");
        var leader = RunUntilSingleLeader(w, Sim.Sim.Ticks(2 * (renew + retry) + lease + 1))
                     ?? throw new InvalidOperationException($"not exactly one leader at {Secs(w.Sim.Now)}: " +
                                                            string.Join(", ", w.Leaders.Select(n => $"{n.Identity} running={n.Running} since {Secs(n.LeadingSince)}")));

        // (C) crash the leader
        var crashedAt = w.Sim.Now;
        w.Crash(leader);
        var finalVersion = w.Store.Version;
        var bound = Sim.Sim.Ticks((leaseRec + 2.2 * retry) / w.RateMin + 3 * rtt) + 1000;
        var took = RunUntilLeader(w, Sim.Sim.Ticks(2 * lease + 10 * retry + 10 * rtt + 5))
                   ?? throw new InvalidOperationException($"(C) no takeover after crash at {Secs(crashedAt)}");
        var observed = w.Nodes.Where(n => n != leader && n.FirstSeen.ContainsKey(finalVersion)).Select(n => n.FirstSeen[finalVersion]).DefaultIfEmpty(took).Min();
        if (took > observed + bound)
            throw new InvalidOperationException($"(C) takeover at {Secs(took)} > observed {Secs(observed)} + bound {Secs(bound)}");
        crashTakeovers.Add((took - crashedAt) / (double)TimeSpan.TicksPerSecond / lease);

        // (D) graceful stop with release
        if (w.ReleaseOnCancel)
        {
            w.Start(leader);
            var l2 = RunUntilSingleLeader(w, Sim.Sim.Ticks(renew + 3 * retry + 1))
                     ?? throw new InvalidOperationException("(D) not exactly one leader before release");
            var before = w.Store.Writes.Count;
            var stoppedAt = w.Sim.Now;
            var transitions = w.Store.Record!.LeaderTransitions;
            w.Stop(l2);
            var t2 = RunUntilLeader(w, Sim.Sim.Ticks(lease + 10 * retry + 10 * rtt + 5))
                     ?? throw new InvalidOperationException("(D) no takeover after release");
            var rel = w.Store.Writes.Skip(before).FirstOrDefault(x => x.Record.HolderIdentity == "");
            if (rel.Record is null) throw new InvalidOperationException($"(D) no release write; stopped {l2.Identity} at {Secs(stoppedAt)}\n" + string.Join("\n", w.Trace.TakeLast(15)) + "\n" + string.Join("\n", w.ErrorLog.TakeLast(5)));
            if (rel.Record.LeaseDurationSeconds != 1 || rel.Record.LeaderTransitions != transitions || rel.Record.AcquireTime != rel.Record.RenewTime)
                throw new InvalidOperationException($"(D) bad release record {rel.Record}");
            var relBound = Sim.Sim.Ticks(2.2 * retry / w.RateMin + 3 * rtt) + 1000;
            if (t2 > rel.At + relBound) throw new InvalidOperationException($"(D) takeover at {Secs(t2)} > release {Secs(rel.At)} + {Secs(relBound)}");
            releaseTakeovers.Add((t2 - stoppedAt) / (double)TimeSpan.TicksPerSecond);
        }
        return strict;
    }

    // RunUntilLeader advances in small steps until some running process holds a live leader token; returns that time.
    private static long? RunUntilLeader(World w, long within)
    {
        var limit = w.Sim.Now + within;
        long? at = null;
        var check = w.Sim.AfterEvent;
        w.Sim.AfterEvent = () =>
        {
            check?.Invoke();
            if (at is null && w.Leaders.Any(n => n.Running)) at = w.Sim.Now;
        };
        try
        {
            while (at is null && w.Sim.Now < limit) w.Sim.RunUntil(Math.Min(limit, w.Sim.Now + Sim.Sim.Ticks(0.05)));
        }
        finally
        {
            w.Sim.AfterEvent = check;
        }
        return at;
    }

    // RunUntilSingleLeader advances until exactly one running leader exists (an old leader may still be inside its
    // renew deadline after the chaos phase).
    private static Node? RunUntilSingleLeader(World w, long within)
    {
        var limit = w.Sim.Now + within;
        while (w.Sim.Now < limit)
        {
            w.Sim.RunUntil(w.Sim.Now + Sim.Sim.Ticks(0.05));
            var ls = w.Leaders.ToList();
            if (ls.Count == 1 && ls[0].Running) return ls[0];
        }
        return null;
    }

    private static string Secs(long ticks) => (ticks / (double)TimeSpan.TicksPerSecond).ToString("0.000", CultureInfo.InvariantCulture) + "s";

    private static string Stats(List<double> xs) => xs.Count == 0 ? "none" :
        string.Create(CultureInfo.InvariantCulture, $"n={xs.Count} min={xs.Min():0.00} mean={xs.Average():0.00} p50={xs.Order().ElementAt(xs.Count / 2):0.00} max={xs.Max():0.00}");

    internal static void RunOnDedicatedThread(Action body)
    {
        Exception? error = null;
        var t = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(null);
            try { body(); }
            catch (Exception e) { error = e; }
        }, 16 * 1024 * 1024);
        t.Start();
        t.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
    }
}
