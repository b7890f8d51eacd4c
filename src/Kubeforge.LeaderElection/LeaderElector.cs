namespace Kubeforge.LeaderElection;

/// <summary>LeaderElector is a port of client-go's tools/leaderelection LeaderElector (Lease lock, non-coordinated).
/// It only trusts local time: a candidate may take over when the record has not changed for the record's
/// leaseDurationSeconds, measured on its own monotonic clock from the moment it observed the change.</summary>
public sealed class LeaderElector
{
    private readonly LeaderElectionConfig config;
    private readonly LeaseLock lease;
    private readonly TimeProvider time;
    private readonly Random random;
    private readonly object gate = new();
    private LeaderElectionRecord observedRecord = LeaderElectionRecord.Empty;
    private string? observedRawRecord;
    private long observedTimestamp;
    private string reportedLeader = "";
    private Task callbackChain = Task.CompletedTask;

    /// <summary>LeaderElector validates the config (ArgumentException naming the failed rule) and builds the elector.</summary>
    public LeaderElector(LeaderElectionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.config = config;
        lease = config.Lock;
        time = config.Time;
        random = config.Random ?? Random.Shared;
        lease.Time = time;
        lease.RequestTimeout ??= TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, config.RenewDeadline.Ticks / 2));
    }

    private string Name => config.Name ?? lease.Describe();

    /// <summary>IsLeader is true when the last observed record names this candidate (client-go's IsLeader; it can stay
    /// true briefly after leadership was lost — use OnStartedLeading's token to guard leader work).</summary>
    public bool IsLeader
    {
        get { lock (gate) return observedRecord.HolderIdentity == lease.Identity; }
    }

    /// <summary>GetLeader returns the last observed holder ("" when none observed yet).</summary>
    public string GetLeader()
    {
        lock (gate) return observedRecord.HolderIdentity;
    }

    /// <summary>ObservedRecord is the last record observed or written (for diagnostics).</summary>
    public LeaderElectionRecord ObservedRecord
    {
        get { lock (gate) return observedRecord; }
    }

    /// <summary>Check is the healthz watchdog: an error when this candidate believes it leads but has not renewed for
    /// more than LeaseDuration + maxTolerableExpiredLease; null when healthy.</summary>
    public string? Check(TimeSpan maxTolerableExpiredLease)
    {
        if (!IsLeader) return null;
        long since;
        lock (gate) since = observedTimestamp;
        return time.GetElapsedTime(since) > config.LeaseDuration + maxTolerableExpiredLease
            ? $"failed election to renew leadership on lease {Name}"
            : null;
    }

    /// <summary>RunAsync is client-go's Run: acquire (until the token is cancelled), then run OnStartedLeading and renew
    /// until renewal fails or the token is cancelled; release if ReleaseOnCancel; OnStoppedLeading always runs at the end.
    /// It does not loop: call it again to stand for election again.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            if (!await AcquireAsync(ct).ConfigureAwait(false)) return;
            using var leaderCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var work = Task.Factory.StartNew(() => config.Callbacks.OnStartedLeading!(leaderCts.Token), CancellationToken.None,
                TaskCreationOptions.DenyChildAttach, config.CallbackScheduler).Unwrap();
            _ = work.ContinueWith(t => Error("OnStartedLeading", "the leader callback failed", t.Exception), CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            await RenewAsync(leaderCts.Token).ConfigureAwait(false);
            leaderCts.Cancel(); // leader work stops before anything else (client-go cancels right after renew returns)
            Info($"stopped leading {Name}");
            if (config.ReleaseOnCancel) await ReleaseAfterAsync(work).ConfigureAwait(false);
        }
        finally
        {
            try { config.Callbacks.OnStoppedLeading!(); }
            catch (Exception e) { Error("OnStoppedLeading", "the callback failed", e); }
        }
    }

    // acquire: wait.JitterUntil(f, RetryPeriod, 1.2, sliding=true) until tryAcquireOrRenew succeeds or ct is cancelled.
    private async Task<bool> AcquireAsync(CancellationToken ct)
    {
        Info($"attempting to acquire leader lease {lease.Describe()}...");
        while (!ct.IsCancellationRequested)
        {
            var ok = await TryAcquireOrRenewAsync(ct).ConfigureAwait(false);
            MaybeReportTransition();
            if (ok)
            {
                Info($"successfully acquired lease {lease.Describe()}");
                return true;
            }
            var wait = config.RetryPeriod + TimeSpan.FromTicks((long)(random.NextDouble() * LeaderElectionConfig.JitterFactor * config.RetryPeriod.Ticks));
            if (!await DelayAsync(wait, ct).ConfigureAwait(false)) break;
        }
        return false;
    }

    // renew: wait.Until(round, RetryPeriod) where a round is PollImmediateUntil(RetryPeriod, tryAcquireOrRenew) bounded
    // by RenewDeadline; a failed round ends leadership.
    private async Task RenewAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            bool renewed;
            using (var deadline = new CancellationTokenSource(config.RenewDeadline, time))
            using (var round = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token))
            {
                renewed = await PollImmediateUntilAsync(round.Token).ConfigureAwait(false);
            }
            MaybeReportTransition();
            if (!renewed)
            {
                if (!ct.IsCancellationRequested)
                    Error("renew", $"failed to renew lease {lease.Describe()}: timed out after renewDeadline {config.RenewDeadline}; stopping leading", null);
                return;
            }
            if (!await DelayAsync(config.RetryPeriod, ct).ConfigureAwait(false)) return;
        }
    }

    // PollImmediateUntil: try now, then on a RetryPeriod ticker (a tick that passed during a slow attempt fires at once).
    private async Task<bool> PollImmediateUntilAsync(CancellationToken ct)
    {
        var start = time.GetTimestamp();
        var period = config.RetryPeriod.Ticks;
        while (true)
        {
            var before = time.GetElapsedTime(start).Ticks / period;
            if (await TryAcquireOrRenewAsync(ct).ConfigureAwait(false)) return true;
            if (ct.IsCancellationRequested) return false;
            var elapsed = time.GetElapsedTime(start).Ticks;
            if (elapsed / period > before) continue; // a tick passed during the attempt: it is buffered, fire at once
            if (!await DelayAsync(TimeSpan.FromTicks((elapsed / period + 1) * period - elapsed), ct).ConfigureAwait(false)) return false;
        }
    }

    /// <summary>TryAcquireOrRenewAsync is one step of client-go's tryAcquireOrRenew (§1.4): true when this candidate now
    /// holds the lease.</summary>
    internal async Task<bool> TryAcquireOrRenewAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var nowTs = time.GetTimestamp();
        var desired = new LeaderElectionRecord(lease.Identity, (int)(config.LeaseDuration.Ticks / TimeSpan.TicksPerSecond), now, now, 0);

        // 1. fast path: the leader updates optimistically with the cached resourceVersion.
        if (IsLeader && IsLeaseValid(nowTs))
        {
            var old = ObservedRecord;
            var fast = desired with { AcquireTime = old.AcquireTime, LeaderTransitions = old.LeaderTransitions };
            try
            {
                await lease.UpdateAsync(fast, ct).ConfigureAwait(false);
                SetObservedRecord(fast);
                return true;
            }
            catch (Exception e)
            {
                if (ct.IsCancellationRequested) return false;
                Report("update", $"failed to update lock {lease.Describe()} optimistically, falling back to slow path", e);
            }
        }

        // 2. obtain or create the record.
        LeaseSnapshot? snap;
        try
        {
            snap = await lease.GetAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (!ct.IsCancellationRequested) Report("get", $"error retrieving resource lock {lease.Describe()}", e);
            return false;
        }
        if (snap is null)
        {
            try
            {
                await lease.CreateAsync(desired, ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                if (!ct.IsCancellationRequested) Report("create", $"error initially creating leader election record {lease.Describe()}", e);
                return false;
            }
            SetObservedRecord(desired);
            return true;
        }

        // 3. record obtained: remember when it last changed (local time), then check holder and expiry.
        var oldRecord = snap.Record;
        var raw = oldRecord.Raw();
        bool changed;
        lock (gate)
        {
            changed = raw != observedRawRecord;
            if (changed)
            {
                observedRecord = oldRecord;
                observedTimestamp = time.GetTimestamp();
                observedRawRecord = raw;
            }
        }
        if (changed) Debug($"observed a change of {lease.Describe()} (resourceVersion {snap.ResourceVersion}, holder \"{oldRecord.HolderIdentity}\")");
        if (oldRecord.HolderIdentity.Length > 0 && IsLeaseValid(nowTs) && !IsLeader)
        {
            Debug($"lock is held by {oldRecord.HolderIdentity} and has not yet expired");
            return false;
        }

        // 4. correct the desired record, then 5. update with the resourceVersion from step 2.
        // Deliberate fix over client-go: when the fast path failed after its write was applied (answer lost), client-go
        // rewrites the byte-identical record (same renewTime), which other candidates cannot see as a change, while this
        // leader restarts its own lease clock — the two then disagree about expiry by up to a request timeout. A fresh
        // renewTime makes every successful renewal visible.
        desired = IsLeader
            ? desired with { RenewTime = time.GetUtcNow(), AcquireTime = oldRecord.AcquireTime, LeaderTransitions = oldRecord.LeaderTransitions }
            : desired with { LeaderTransitions = oldRecord.LeaderTransitions + 1 };
        try
        {
            await lease.UpdateAsync(desired, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (!ct.IsCancellationRequested) Report("update", $"failed to update lock {lease.Describe()}", e);
            return false;
        }
        SetObservedRecord(desired);
        return true;
    }

    private async Task ReleaseAfterAsync(Task work)
    {
        if (!IsLeader) return;
        // Release only once the leader's work has stopped, else two processes could act at once (ReleaseOnCancel's contract).
        using var stop = new CancellationTokenSource();
        var waited = await Task.WhenAny(work, DelayAsync(config.RenewDeadline, stop.Token)).ConfigureAwait(false);
        stop.Cancel();
        if (waited != work)
        {
            Error("release", $"not releasing {lease.Describe()}: OnStartedLeading did not return within renewDeadline {config.RenewDeadline} after cancellation", null);
            return;
        }
        var now = time.GetUtcNow();
        var released = new LeaderElectionRecord("", 1, now, now, ObservedRecord.LeaderTransitions);
        using var timeout = new CancellationTokenSource(config.RenewDeadline, time);
        try
        {
            try
            {
                await lease.UpdateAsync(released, timeout.Token).ConfigureAwait(false);
            }
            catch (LeaseApiException e) when (e.IsConflict)
            {
                // A renewal cancelled in flight may have been applied, leaving our cached resourceVersion stale (client-go
                // then fails the release). Re-read: if we still hold it, nobody else can have taken it, so release it.
                var current = await lease.GetAsync(timeout.Token).ConfigureAwait(false);
                if (current?.Record.HolderIdentity != lease.Identity) throw;
                await lease.UpdateAsync(released, timeout.Token).ConfigureAwait(false);
            }
            SetObservedRecord(released);
            Info($"released lease {lease.Describe()}");
        }
        catch (Exception e)
        {
            Error("release", $"failed to release lock {lease.Describe()}", e);
        }
    }

    private bool IsLeaseValid(long nowTs)
    {
        lock (gate)
            return observedTimestamp + (long)observedRecord.LeaseDurationSeconds * time.TimestampFrequency > nowTs;
    }

    private void SetObservedRecord(LeaderElectionRecord r)
    {
        lock (gate)
        {
            observedRecord = r;
            observedTimestamp = time.GetTimestamp();
        }
    }

    private void MaybeReportTransition()
    {
        string holder;
        lock (gate)
        {
            if (observedRecord.HolderIdentity == reportedLeader) return;
            reportedLeader = holder = observedRecord.HolderIdentity;
        }
        Info($"new leader observed for {Name}: \"{holder}\"");
        if (config.Callbacks.OnNewLeader is not { } cb) return;
        lock (gate)
            callbackChain = callbackChain.ContinueWith(_ =>
            {
                try { cb(holder); }
                catch (Exception e) { Error("OnNewLeader", "the callback failed", e); }
            }, CancellationToken.None, TaskContinuationOptions.None, config.CallbackScheduler);
    }

    // DelayAsync waits on the TimeProvider; false when cancelled. (Not Task.Delay: its cancellation always resumes on the
    // thread pool, which the deterministic simulation cannot follow.)
    private async Task<bool> DelayAsync(TimeSpan d, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return false;
        var tcs = new TaskCompletionSource<bool>(config.InlineContinuations ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
        using var reg = ct.Register(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(false), tcs);
        using var timer = time.CreateTimer(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(true), tcs, d, Timeout.InfiniteTimeSpan);
        return await tcs.Task.ConfigureAwait(false);
    }

    // Report: a 409 is the expected outcome of losing a race (another candidate wrote first) → log; anything else → error.
    private void Report(string op, string message, Exception e)
    {
        if (e is LeaseApiException { IsConflict: true }) Info($"{message}: {e.Message}");
        else Error(op, message, e);
    }

    private void Error(string op, string message, Exception? e)
    {
        var err = new LeaderElectionError(op, e is null ? message : $"{message}: {e.GetBaseException().Message}", e);
        if (config.OnError is { } sink) sink(err);
        else Console.Error.WriteLine($"leaderelection {Name} [{lease.Identity}]: {err}");
    }

    private void Info(string message) => config.Log?.Invoke(message);

    private void Debug(string message) => config.Log?.Invoke(message);
}
