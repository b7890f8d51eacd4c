using System.Text.Json.Nodes;
using Kubeforge.LeaderElection;

namespace Kubeforge.ClusterObjects;

/// <summary>KubeApiLeaseClient adapts the IKubeApi port to the leader-election library's ILeaseClient. Like client-go's
/// LeaseLock it PUTs the last object it read (labels, annotations, owner references kept) with only the spec replaced.</summary>
public sealed class KubeApiLeaseClient(IKubeApi api) : ILeaseClient
{
    private JsonObject? last;

    /// <summary>GetAsync reads the Lease; null when it does not exist.</summary>
    public async Task<LeaseSnapshot?> GetAsync(string ns, string name, CancellationToken ct)
    {
        var obj = await Call(() => api.GetAsync(ApiResource.Lease, ns, name, ct)).ConfigureAwait(false);
        if (obj is null) return null;
        Remember(obj);
        return new LeaseSnapshot(LeaseJson.ReadRecord(obj), LeaseJson.ResourceVersion(obj));
    }

    /// <summary>CreateAsync creates the Lease and returns its resourceVersion.</summary>
    public async Task<string> CreateAsync(string ns, string name, LeaderElectionRecord record, CancellationToken ct)
    {
        var obj = await Call(() => api.CreateAsync(ApiResource.Lease, LeaseJson.ToLease(ns, name, record), ct)).ConfigureAwait(false);
        Remember(obj);
        return LeaseJson.ResourceVersion(obj);
    }

    /// <summary>UpdateAsync PUTs the Lease with the given resourceVersion and returns the new one.</summary>
    public async Task<string> UpdateAsync(string ns, string name, LeaderElectionRecord record, string resourceVersion, CancellationToken ct)
    {
        JsonObject body;
        lock (this)
        {
            body = last is not null && last.Namespace() == ns && last.Name() == name && LeaseJson.ResourceVersion(last) == resourceVersion
                ? (JsonObject)last.DeepClone()
                : LeaseJson.ToLease(ns, name, record, resourceVersion);
        }
        body["spec"] = LeaseJson.Spec(record);
        var obj = await Call(() => api.UpdateAsync(ApiResource.Lease, body, ct)).ConfigureAwait(false);
        Remember(obj);
        return LeaseJson.ResourceVersion(obj);
    }

    private void Remember(JsonObject obj)
    {
        lock (this) last = (JsonObject)obj.DeepClone();
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            throw new LeaseApiException(e.Status, e.Reason, e.Message, e);
        }
    }
}
