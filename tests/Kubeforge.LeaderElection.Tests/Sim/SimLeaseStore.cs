using System.Globalization;

namespace Kubeforge.LeaderElection.Tests.Sim;

/// <summary>SimLeaseStore is the API server's view of one Lease with resourceVersion semantics (create → 409
/// AlreadyExists if present, update → 409 Conflict on a stale version, 404 when absent).</summary>
public sealed class SimLeaseStore
{
    public LeaderElectionRecord? Record { get; private set; }
    public long Version { get; private set; }

    /// <summary>Writes lists every applied write: (global time, version, record).</summary>
    public List<(long At, long Version, LeaderElectionRecord Record)> Writes { get; } = [];

    public LeaseSnapshot? Get() => Record is null ? null : new LeaseSnapshot(Stored(Record), Version.ToString(CultureInfo.InvariantCulture));

    public string Create(long now, LeaderElectionRecord r)
    {
        if (Record is not null) throw new LeaseApiException(409, "AlreadyExists", "leases.coordination.k8s.io \"x\" already exists");
        return Apply(now, r);
    }

    public string Update(long now, LeaderElectionRecord r, string rv)
    {
        if (Record is null) throw new LeaseApiException(404, "NotFound", "leases.coordination.k8s.io \"x\" not found");
        if (rv != Version.ToString(CultureInfo.InvariantCulture))
            throw new LeaseApiException(409, "Conflict", "Operation cannot be fulfilled on leases.coordination.k8s.io \"x\": the object has been modified");
        return Apply(now, r);
    }

    private string Apply(long now, LeaderElectionRecord r)
    {
        if (r.LeaseDurationSeconds <= 0) throw new LeaseApiException(422, "Invalid", "spec.leaseDurationSeconds: must be greater than 0");
        Record = r;
        Version++;
        Writes.Add((now, Version, r));
        return Version.ToString(CultureInfo.InvariantCulture);
    }

    // The server stores MicroTime: sub-microsecond digits are lost, as with a real API server.
    private static LeaderElectionRecord Stored(LeaderElectionRecord r) => r with
    {
        AcquireTime = r.AcquireTime is { } a ? MicroTime.Parse(MicroTime.Format(a)) : null,
        RenewTime = r.RenewTime is { } n ? MicroTime.Parse(MicroTime.Format(n)) : null,
    };
}

/// <summary>Faults are one client's current network/API behaviour.</summary>
public sealed class Faults
{
    /// <summary>MaxLatency is the upper bound of each direction's latency, in seconds (uniform in [0, max]).</summary>
    public double MaxLatency { get; set; }

    /// <summary>ErrorRate is the chance a request answers 500 (or 403) without being applied.</summary>
    public double ErrorRate { get; set; }

    /// <summary>HangRate is the chance the answer never arrives (the request may or may not have been applied).</summary>
    public double HangRate { get; set; }
}

/// <summary>SimLeaseClient is one process's ILeaseClient: request → (latency) → applied at the server at global time →
/// (latency) → answer delivered as an event owned by the process's clock (so pauses delay it and a crash drops it).</summary>
public sealed class SimLeaseClient(SimClock clock, SimLeaseStore store, Random rng, Faults faults) : ILeaseClient
{
    public Faults Faults { get; } = faults;

    /// <summary>IdentitySink tells the world which identity this process's elector currently uses.</summary>
    public Action<string>? IdentitySink { get; set; }

    /// <summary>OnWriteSucceeded gets the global apply time of each create/update whose success answer reached the elector.</summary>
    public Action<long, LeaderElectionRecord>? OnWriteSucceeded { get; set; }

    /// <summary>OnGetDelivered gets (delivery time, version) for each Get answer that reached the elector.</summary>
    public Action<long, long>? OnGetDelivered { get; set; }

    public Task<LeaseSnapshot?> GetAsync(string ns, string name, CancellationToken ct) =>
        Call(ct, _ => store.Get(), (t, s) => OnGetDelivered?.Invoke(t, s is null ? 0 : long.Parse(s.ResourceVersion, CultureInfo.InvariantCulture)));

    public Task<string> CreateAsync(string ns, string name, LeaderElectionRecord record, CancellationToken ct) =>
        Call(ct, now => (store.Create(now, record), now), null).ContinueWith(WriteDone(record), TaskContinuationOptions.ExecuteSynchronously).Unwrap();

    public Task<string> UpdateAsync(string ns, string name, LeaderElectionRecord record, string resourceVersion, CancellationToken ct) =>
        Call(ct, now => (store.Update(now, record, resourceVersion), now), null).ContinueWith(WriteDone(record), TaskContinuationOptions.ExecuteSynchronously).Unwrap();

    private Func<Task<(string Rv, long At)>, Task<string>> WriteDone(LeaderElectionRecord record) => t =>
    {
        if (t.IsCompletedSuccessfully) OnWriteSucceeded?.Invoke(t.Result.At, record);
        return t.IsCompletedSuccessfully ? Task.FromResult(t.Result.Rv) : t.IsCanceled ? Task.FromCanceled<string>(new CancellationToken(true)) : Task.FromException<string>(t.Exception!.InnerException!);
    };

    private Task<T> Call<T>(CancellationToken ct, Func<long, T> serve, Action<long, T>? delivered)
    {
        clock.Sim.AssertOnSimThread();
        var tcs = new TaskCompletionSource<T>();
        if (ct.IsCancellationRequested)
        {
            tcs.SetCanceled(ct);
            return tcs.Task;
        }
        var reg = ct.Register(() => tcs.TrySetCanceled(ct));
        var sim = clock.Sim;
        var roll = rng.NextDouble();
        var hang = roll < Faults.HangRate;
        var error = !hang && roll < Faults.HangRate + Faults.ErrorRate;
        var applyHung = rng.NextDouble() < 0.5;
        var up = Sim.Ticks(rng.NextDouble() * Faults.MaxLatency);
        var down = Sim.Ticks(rng.NextDouble() * Faults.MaxLatency);
        var forbidden = rng.NextDouble() < 0.2;
        sim.Schedule(sim.Now + up, clock, () =>
        {
            if (error)
            {
                var ex = forbidden
                    ? new LeaseApiException(403, "Forbidden", "leases.coordination.k8s.io is forbidden: User cannot update resource")
                    : new LeaseApiException(500, "InternalError", "etcdserver: request timed out");
                sim.Schedule(sim.Now + down, clock, () => { reg.Dispose(); tcs.TrySetException(ex); });
                return;
            }
            if (hang && !applyHung) return;
            T result;
            try
            {
                result = serve(sim.Now);
            }
            catch (LeaseApiException e)
            {
                if (!hang) sim.Schedule(sim.Now + down, clock, () => { reg.Dispose(); tcs.TrySetException(e); });
                return;
            }
            if (hang) return;
            sim.Schedule(sim.Now + down, clock, () =>
            {
                reg.Dispose();
                if (tcs.TrySetResult(result)) delivered?.Invoke(sim.Now, result);
            });
        });
        return tcs.Task;
    }
}
