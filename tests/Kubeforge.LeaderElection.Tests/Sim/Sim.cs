namespace Kubeforge.LeaderElection.Tests.Sim;

/// <summary>Sim is a single-threaded discrete-event world in global ticks. Every timer of every SimClock and every
/// simulated API call is an event here; callbacks run inline on the simulation thread, so async code completes
/// deterministically (continuations are inlined because nothing completes on another thread).</summary>
public sealed class Sim
{
    private readonly PriorityQueue<Event, (long At, long Seq)> queue = new();
    private long seq;
    private int thread = -1;

    public static System.Collections.Concurrent.ConcurrentBag<string> OffThread { get; } = [];

    /// <summary>Now is global time in ticks (100 ns).</summary>
    public long Now { get; private set; }

    /// <summary>AfterEvent runs after every processed event (invariant checks).</summary>
    public Action? AfterEvent { get; set; }

    /// <summary>Schedule queues an action at a global time; owner (when set) delays it while paused and drops it once crashed.</summary>
    public Event Schedule(long at, SimClock? owner, Action action)
    {
        var e = new Event(action, owner);
        queue.Enqueue(e, (Math.Max(at, Now), seq++));
        return e;
    }

    /// <summary>RunUntil processes events up to the global time `until` and leaves Now there.</summary>
    public void RunUntil(long until)
    {
        if (thread == -1) thread = Environment.CurrentManagedThreadId;
        AssertOnSimThread();
        while (queue.TryPeek(out var e, out var key) && key.At <= until)
        {
            queue.Dequeue();
            if (e.Cancelled) continue;
            if (e.Owner is { } o)
            {
                if (o.Crashed) continue;
                if (o.PausedUntil > key.At)
                {
                    queue.Enqueue(e, (o.PausedUntil, seq++));
                    continue;
                }
            }
            Now = key.At;
            e.Action();
            AfterEvent?.Invoke();
        }
        Now = Math.Max(Now, until);
    }

    /// <summary>AssertOnSimThread fails when elector code runs off the simulation thread (the run would not be deterministic).</summary>
    public void AssertOnSimThread()
    {
        if (thread != -1 && Environment.CurrentManagedThreadId != thread)
        {
            OffThread.Add(Environment.StackTrace);
            throw new InvalidOperationException("simulation code ran on another thread");
        }
    }

    /// <summary>Event is one queued action.</summary>
    public sealed class Event(Action action, SimClock? owner)
    {
        public Action Action { get; } = action;
        public SimClock? Owner { get; } = owner;
        public bool Cancelled { get; set; }
    }

    /// <summary>Ticks converts seconds to ticks.</summary>
    public static long Ticks(double seconds) => (long)Math.Round(seconds * TimeSpan.TicksPerSecond);
}

/// <summary>SimClock is one process's TimeProvider: local time runs at Rate × global time from a wall-clock offset
/// (arbitrary skew); the process can be paused (its events wait) or crashed (its events vanish).</summary>
public sealed class SimClock(Sim sim, double rate, DateTimeOffset wallAtZero) : TimeProvider
{
    public Sim Sim { get; } = sim;
    public double Rate { get; } = rate;
    public long PausedUntil { get; set; }
    public bool Crashed { get; set; }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => (long)(Sim.Now * Rate);

    public override DateTimeOffset GetUtcNow() => wallAtZero.AddTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Sim.AssertOnSimThread();
        var t = new SimTimer(this, callback, state);
        t.Change(dueTime, period);
        return t;
    }

    /// <summary>GlobalDelay converts a local duration to global ticks (rounded up, so the local time has passed).</summary>
    public long GlobalDelay(TimeSpan local) => (long)Math.Ceiling(local.Ticks / Rate) + 1;

    private sealed class SimTimer(SimClock clock, TimerCallback callback, object? state) : ITimer
    {
        private Sim.Event? pending;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (pending is not null) pending.Cancelled = true;
            pending = null;
            if (dueTime == Timeout.InfiniteTimeSpan) return true;
            pending = clock.Sim.Schedule(clock.Sim.Now + clock.GlobalDelay(dueTime), clock, () =>
            {
                pending = null;
                if (period != Timeout.InfiniteTimeSpan && period > TimeSpan.Zero) Change(period, period);
                callback(state);
            });
            return true;
        }

        public void Dispose()
        {
            if (pending is not null) pending.Cancelled = true;
            pending = null;
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>InlineScheduler runs tasks immediately on the calling thread (the elector's callbacks in the simulation).</summary>
public sealed class InlineScheduler : TaskScheduler
{
    public static InlineScheduler Instance { get; } = new();
    protected override IEnumerable<Task>? GetScheduledTasks() => [];
    protected override void QueueTask(Task task) => TryExecuteTask(task);
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => TryExecuteTask(task);
}
