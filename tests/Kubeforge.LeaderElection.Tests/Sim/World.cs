namespace Kubeforge.LeaderElection.Tests.Sim;

/// <summary>Node is one simulated process running RunAsync in a loop (a new identity per term, like a restarted
/// kube-scheduler), with what the invariants need: whether its leader token is live and when its last successful
/// lease write was applied at the server.</summary>
public sealed class Node
{
    public required int Index { get; init; }
    public required SimClock Clock { get; set; }
    public required SimLeaseClient Client { get; set; }
    public required Faults Faults { get; init; }
    public required double Rate { get; init; }
    public required DateTimeOffset Wall { get; init; }
    public string Identity { get; set; } = "";
    public bool Leading { get; set; }
    public long LeadingSince { get; set; }
    public long LastWriteApplied { get; set; } = long.MinValue / 2;
    public CancellationTokenSource? Run { get; set; }
    public bool Running => Run is not null && !Clock.Crashed;
    public bool Started { get; set; }
    public Task? LoopTask { get; set; }
    public LeaderElector? Elector { get; set; }

    /// <summary>FirstSeen maps a resourceVersion to the global time this node's elector first received it.</summary>
    public Dictionary<long, long> FirstSeen { get; } = [];
}

/// <summary>World wires a Sim, a lease store and nodes with an elector configuration.</summary>
public sealed class World
{
    private readonly Random rng;
    private int generation;

    public World(int seed, int nodes, TimeSpan lease, TimeSpan renew, TimeSpan retry, double rateSpread, double maxLatency, bool release)
    {
        rng = new Random(seed);
        LeaseDuration = lease;
        RenewDeadline = renew;
        RetryPeriod = retry;
        ReleaseOnCancel = release;
        for (var i = 0; i < nodes; i++)
        {
            var rate = 1 + (rng.NextDouble() * 2 - 1) * rateSpread;
            var wall = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(rng.Next(-3600, 3600));
            var faults = new Faults { MaxLatency = maxLatency };
            var clock = new SimClock(Sim, rate, wall);
            Nodes.Add(new Node { Index = i, Clock = clock, Client = new SimLeaseClient(clock, Store, new Random(), faults), Faults = faults, Rate = rate, Wall = wall });
        }
    }

    public Sim Sim { get; } = new();
    public SimLeaseStore Store { get; } = new();
    public List<Node> Nodes { get; } = [];
    public TimeSpan LeaseDuration { get; }
    public TimeSpan RenewDeadline { get; }
    public TimeSpan RetryPeriod { get; }
    public bool ReleaseOnCancel { get; }
    public int Errors { get; private set; }
    public List<string> ErrorLog { get; } = [];
    public List<string> Trace { get; } = [];

    public double RateMin => Nodes.Min(n => n.Clock.Rate);
    public double RateMax => Nodes.Max(n => n.Clock.Rate);

    /// <summary>LeaseSecondsInRecord is what candidates judge expiry by (whole seconds written to the Lease).</summary>
    public int LeaseSecondsInRecord => (int)LeaseDuration.TotalSeconds;

    /// <summary>Start (re)starts a node's process with a fresh identity, standing for election in a loop.</summary>
    public void Start(Node n)
    {
        // a new process: new clock (same rate/skew) and client, so the old incarnation's events stay dead or finish alone
        var clock = new SimClock(Sim, n.Rate, n.Wall);
        var client = new SimLeaseClient(clock, Store, new Random(rng.Next()), n.Faults);
        var identity = "";
        client.OnWriteSucceeded = (at, r) => { if (r.HolderIdentity == identity && n.Clock == clock) n.LastWriteApplied = Math.Max(n.LastWriteApplied, at); };
        client.OnGetDelivered = (at, v) => { if (n.Clock == clock) n.FirstSeen.TryAdd(v, at); };
        client.IdentitySink = id => identity = id;
        n.Clock = clock;
        n.Client = client;
        Trace.Add($"{Sim.Now / 1e7:0.000} START node{n.Index}");
        n.Leading = false;
        n.LastWriteApplied = long.MinValue / 2;
        n.FirstSeen.Clear();
        n.Run = new CancellationTokenSource();
        n.LoopTask = Loop(n, n.Run.Token);
    }

    private async Task Loop(Node n, CancellationToken ct)
    {
        var clock = n.Clock;
        var client = n.Client;
        while (!ct.IsCancellationRequested && !clock.Crashed)
        {
            n.Identity = $"node{n.Index}_{++generation}";
            client.IdentitySink?.Invoke(n.Identity);
            n.FirstSeen.Clear(); // observations belong to one elector
            n.Elector = new LeaderElector(new LeaderElectionConfig
            {
                Lock = new LeaseLock(client, "kube-system", "sim", n.Identity),
                LeaseDuration = LeaseDuration, RenewDeadline = RenewDeadline, RetryPeriod = RetryPeriod,
                ReleaseOnCancel = ReleaseOnCancel, Time = clock, Random = new Random(rng.Next()),
                CallbackScheduler = InlineScheduler.Instance, InlineContinuations = true,
                Log = m => Trace.Add($"{Sim.Now / 1e7:0.000} {n.Identity}: {m}"),
                OnError = e => { Errors++; if (ErrorLog.Count < 50) ErrorLog.Add($"{Sim.Now}: {n.Identity}: {e}"); },
                Callbacks = new LeaderCallbacks
                {
                    OnStartedLeading = token =>
                    {
                        Sim.AssertOnSimThread();
                        if (n.Clock != clock) return Task.CompletedTask;
                        n.Leading = true;
                        n.LeadingSince = Sim.Now;
                        token.Register(() => { if (n.Clock == clock) n.Leading = false; });
                        return Task.CompletedTask;
                    },
                    OnStoppedLeading = () => { if (n.Clock == clock) n.Leading = false; },
                },
            });
            await n.Elector.RunAsync(ct);
        }
    }

    /// <summary>Crash kills the process: no more events, no release, in-flight requests lost.</summary>
    public void Crash(Node n)
    {
        Trace.Add($"{Sim.Now / 1e7:0.000} CRASH {n.Identity}");
        n.Clock.Crashed = true;
        n.Leading = false;
        n.Run = null;
    }

    /// <summary>Stop cancels the process's token (graceful: release when configured) and marks it not running.</summary>
    public void Stop(Node n)
    {
        Trace.Add($"{Sim.Now / 1e7:0.000} STOP {n.Identity}");
        var cts = n.Run;
        n.Run = null;
        cts?.Cancel();
    }

    public IEnumerable<Node> Leaders => Nodes.Where(n => n.Leading && !n.Clock.Crashed);
}
