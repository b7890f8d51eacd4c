namespace Kubeforge.LeaderElection;

/// <summary>LeaderCallbacks are client-go's LeaderCallbacks. OnStartedLeading runs asynchronously (like `go f(ctx)`) and
/// its token is cancelled when leadership ends; OnStoppedLeading runs when RunAsync ends (also when leadership was
/// never obtained, as in client-go); OnNewLeader is called, in order, whenever the observed holder changes.</summary>
public sealed class LeaderCallbacks
{
    /// <summary>OnStartedLeading is the leader's work; it must stop when the token is cancelled.</summary>
    public Func<CancellationToken, Task>? OnStartedLeading { get; init; }

    /// <summary>OnStoppedLeading runs once at the end of every RunAsync.</summary>
    public Action? OnStoppedLeading { get; init; }

    /// <summary>OnNewLeader receives each newly observed holder identity (including the first one observed).</summary>
    public Action<string>? OnNewLeader { get; init; }
}

/// <summary>LeaderElectionConfig is client-go's LeaderElectionConfig plus the .NET plumbing (TimeProvider, error sink).</summary>
public sealed class LeaderElectionConfig
{
    /// <summary>JitterFactor is client-go's JitterFactor (1.2): acquire attempts are RetryPeriod × (1 + 1.2 × rand) apart.</summary>
    public const double JitterFactor = 1.2;

    /// <summary>Lock is the Lease lock with this candidate's identity.</summary>
    public required LeaseLock Lock { get; init; }

    /// <summary>LeaseDuration is how long non-leaders wait, from the last locally observed change of the record, before
    /// they may take over (client-go default for components: 15 s).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>RenewDeadline is how long the leader keeps retrying a renewal before it stops leading (default 10 s).</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>RetryPeriod is the wait between attempts (default 2 s).</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Callbacks are required: OnStartedLeading and OnStoppedLeading must be set.</summary>
    public required LeaderCallbacks Callbacks { get; init; }

    /// <summary>ReleaseOnCancel releases the Lease (holder "", leaseDurationSeconds 1) when RunAsync's token is cancelled
    /// while leading; the release waits for OnStartedLeading's task to finish first.</summary>
    public bool ReleaseOnCancel { get; init; }

    /// <summary>Name names the lock in messages (default: the Lease's namespace/name).</summary>
    public string? Name { get; init; }

    /// <summary>Time is the clock for every wait and timestamp.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>OnError receives every failure (API errors, timeouts, unexpected conflicts, callback crashes). When null,
    /// errors are written to standard error: they are never dropped.</summary>
    public Action<LeaderElectionError>? OnError { get; init; }

    /// <summary>Log receives informational messages (acquired, lost, expected conflicts); null = silent.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Random is the jitter source (seedable for tests); null = Random.Shared.</summary>
    public Random? Random { get; init; }

    internal TaskScheduler CallbackScheduler { get; init; } = TaskScheduler.Default;

    internal bool InlineContinuations { get; init; }

    /// <summary>Validate applies NewLeaderElector's checks in client-go's order; throws ArgumentException naming the rule.</summary>
    public void Validate()
    {
        if (LeaseDuration <= RenewDeadline)
            throw new ArgumentException($"leaseDuration must be greater than renewDeadline (leaseDuration {LeaseDuration}, renewDeadline {RenewDeadline})");
        if (RenewDeadline <= TimeSpan.FromTicks((long)(JitterFactor * RetryPeriod.Ticks)))
            throw new ArgumentException($"renewDeadline must be greater than retryPeriod*JitterFactor (renewDeadline {RenewDeadline}, retryPeriod {RetryPeriod}, JitterFactor {JitterFactor})");
        if (LeaseDuration <= TimeSpan.Zero) throw new ArgumentException("leaseDuration must be greater than zero");
        if (RenewDeadline <= TimeSpan.Zero) throw new ArgumentException("renewDeadline must be greater than zero");
        if (RetryPeriod <= TimeSpan.Zero) throw new ArgumentException("retryPeriod must be greater than zero");
        if (LeaseDuration < TimeSpan.FromSeconds(1))
            throw new ArgumentException($"leaseDuration must be at least 1s: the Lease stores whole seconds (got {LeaseDuration})");
        if (Callbacks?.OnStartedLeading is null) throw new ArgumentException("OnStartedLeading callback must not be nil");
        if (Callbacks.OnStoppedLeading is null) throw new ArgumentException("OnStoppedLeading callback must not be nil");
        if (Lock is null) throw new ArgumentException("Lock must not be nil.");
        if (string.IsNullOrEmpty(Lock.Identity)) throw new ArgumentException("Lock identity is empty");
    }

    /// <summary>NewIdentity is what kube-scheduler and kube-controller-manager use: hostname + "_" + a random UUID, so
    /// two processes (or a restarted one) never share an identity.</summary>
    public static string NewIdentity() => $"{Environment.MachineName.ToLowerInvariant()}_{Guid.NewGuid()}";

    /// <summary>FromFlags reads component-base's leader-election flags (keys with or without "--"): --leader-elect,
    /// --leader-elect-lease-duration, --leader-elect-renew-deadline, --leader-elect-retry-period (Go duration syntax),
    /// --leader-elect-resource-lock, --leader-elect-resource-name, --leader-elect-resource-namespace. Defaults are the
    /// components' (true, 15s, 10s, 2s, leases, defaultResourceName, kube-system). Throws ArgumentException naming the
    /// flag on bad values or when component-base validation fails.</summary>
    public static LeaderElectionFlags FromFlags(IDictionary<string, string> flags, string defaultResourceName = "kube-scheduler")
    {
        string? Get(string key) =>
            flags.TryGetValue("--" + key, out var v) ? v : flags.TryGetValue(key, out v) ? v : null;
        TimeSpan Dur(string key, TimeSpan def)
        {
            var s = Get(key);
            if (s is null) return def;
            try { return GoDuration.Parse(s); }
            catch (FormatException e) { throw new ArgumentException($"invalid value \"{s}\" for flag --{key}: {e.Message}"); }
        }
        var electRaw = Get("leader-elect");
        bool elect = electRaw switch
        {
            null or "" => true,
            _ when bool.TryParse(electRaw, out var b) => b,
            "1" or "t" or "T" => true,
            "0" or "f" or "F" => false,
            _ => throw new ArgumentException($"invalid value \"{electRaw}\" for flag --leader-elect: expected true or false"),
        };
        var f = new LeaderElectionFlags(elect, Dur("leader-elect-lease-duration", TimeSpan.FromSeconds(15)),
            Dur("leader-elect-renew-deadline", TimeSpan.FromSeconds(10)), Dur("leader-elect-retry-period", TimeSpan.FromSeconds(2)),
            Get("leader-elect-resource-lock") ?? "leases", Get("leader-elect-resource-name") ?? defaultResourceName,
            Get("leader-elect-resource-namespace") ?? "kube-system");
        f.Validate();
        return f;
    }
}

/// <summary>LeaderElectionFlags are the parsed component flags (component-base LeaderElectionConfiguration).</summary>
public sealed record LeaderElectionFlags(bool LeaderElect, TimeSpan LeaseDuration, TimeSpan RenewDeadline, TimeSpan RetryPeriod,
    string ResourceLock, string ResourceName, string ResourceNamespace)
{
    /// <summary>Validate is component-base's ValidateLeaderElectionConfiguration (only when leader election is on), plus
    /// client-go's rule that only the "leases" lock exists.</summary>
    public void Validate()
    {
        if (!LeaderElect) return;
        if (LeaseDuration <= TimeSpan.Zero) throw new ArgumentException("leaseDuration: Invalid value: must be greater than zero");
        if (RenewDeadline <= TimeSpan.Zero) throw new ArgumentException("renewDeadline: Invalid value: must be greater than zero");
        if (RetryPeriod <= TimeSpan.Zero) throw new ArgumentException("retryPeriod: Invalid value: must be greater than zero");
        if (LeaseDuration <= RenewDeadline) throw new ArgumentException("leaseDuration: Invalid value: LeaseDuration must be greater than RenewDeadline");
        if (ResourceLock.Length == 0) throw new ArgumentException("resourceLock: Invalid value: resourceLock is required");
        if (ResourceNamespace.Length == 0) throw new ArgumentException("resourceNamespace: Invalid value: resourceNamespace is required");
        if (ResourceName.Length == 0) throw new ArgumentException("resourceName: Invalid value: resourceName is required");
        if (ResourceLock != "leases")
            throw new ArgumentException($"--leader-elect-resource-lock={ResourceLock}: only \"leases\" is supported (endpoints/configmaps locks are removed; migrate to leases)");
    }

    /// <summary>ToConfig builds an elector config for this candidate (ReleaseOnCancel as kube-scheduler: true).</summary>
    public LeaderElectionConfig ToConfig(ILeaseClient client, string identity, LeaderCallbacks callbacks, TimeProvider? time = null,
        Action<LeaderElectionError>? onError = null, Action<string>? log = null, bool releaseOnCancel = true) => new()
    {
        Lock = new LeaseLock(client, ResourceNamespace, ResourceName, identity),
        LeaseDuration = LeaseDuration, RenewDeadline = RenewDeadline, RetryPeriod = RetryPeriod,
        Callbacks = callbacks, ReleaseOnCancel = releaseOnCancel, Name = ResourceName,
        Time = time ?? TimeProvider.System, OnError = onError, Log = log,
    };
}

/// <summary>LeaderElectionError is one reported failure: what was being done, and the exception.</summary>
public sealed record LeaderElectionError(string Operation, string Message, Exception? Exception)
{
    /// <summary>ToString is "operation: message".</summary>
    public override string ToString() => $"{Operation}: {Message}";
}

/// <summary>GoDuration parses Go's time.ParseDuration syntax: "300ms", "1.5h", "2h45m", "-1m", "0"; units ns, us, µs, ms, s, m, h.</summary>
public static class GoDuration
{
    /// <summary>Parse converts a Go duration string; FormatException when malformed.</summary>
    public static TimeSpan Parse(string s)
    {
        var i = 0;
        var neg = false;
        if (i < s.Length && s[i] is '-' or '+') neg = s[i++] == '-';
        if (s[i..] == "0") return TimeSpan.Zero;
        if (i == s.Length) throw new FormatException($"time: invalid duration \"{s}\"");
        double ticks = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s[start..i], System.Globalization.NumberStyles.AllowDecimalPoint,
                    System.Globalization.CultureInfo.InvariantCulture, out var n))
                throw new FormatException($"time: invalid duration \"{s}\"");
            var ustart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.') i++;
            double unit = s[ustart..i] switch
            {
                "ns" => 0.01, "us" or "µs" or "μs" => 10, "ms" => TimeSpan.TicksPerMillisecond, "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute, "h" => TimeSpan.TicksPerHour,
                "" => throw new FormatException($"time: missing unit in duration \"{s}\""),
                var u => throw new FormatException($"time: unknown unit \"{u}\" in duration \"{s}\""),
            };
            ticks += n * unit;
        }
        return TimeSpan.FromTicks((long)Math.Round(neg ? -ticks : ticks));
    }
}
