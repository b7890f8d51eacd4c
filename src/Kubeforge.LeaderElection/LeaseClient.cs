using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubeforge.LeaderElection;

/// <summary>LeaseSnapshot is a Lease as read: its record and the resourceVersion to send back on update.</summary>
public sealed record LeaseSnapshot(LeaderElectionRecord Record, string ResourceVersion);

/// <summary>ILeaseClient is the lock port: the three Lease calls leader election needs. Implementations throw
/// LeaseApiException for every failure answer (404 from Create/Update, 409 on a stale resourceVersion or existing
/// Lease, 403 when RBAC forbids, status 0 when the server cannot be reached) and honour the cancellation token.</summary>
public interface ILeaseClient
{
    /// <summary>GetAsync returns the Lease, or null when it does not exist (404).</summary>
    Task<LeaseSnapshot?> GetAsync(string ns, string name, CancellationToken ct);

    /// <summary>CreateAsync creates the Lease (POST) and returns its resourceVersion; 409 when it exists.</summary>
    Task<string> CreateAsync(string ns, string name, LeaderElectionRecord record, CancellationToken ct);

    /// <summary>UpdateAsync replaces the Lease spec (PUT carrying resourceVersion) and returns the new resourceVersion;
    /// 409 when the Lease changed since that version.</summary>
    Task<string> UpdateAsync(string ns, string name, LeaderElectionRecord record, string resourceVersion, CancellationToken ct);
}

/// <summary>LeaseApiException is a failed Lease call: HTTP status (0 = unreachable or timed out) and Status reason.</summary>
public sealed class LeaseApiException(int status, string reason, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Status is the HTTP status code, 0 when no answer arrived.</summary>
    public int Status { get; } = status;

    /// <summary>Reason is the Kubernetes Status reason (NotFound, Conflict, AlreadyExists, Forbidden, Timeout, ...).</summary>
    public string Reason { get; } = reason;

    /// <summary>IsNotFound is true for 404.</summary>
    public bool IsNotFound => Status == 404;

    /// <summary>IsConflict is true for 409 (stale resourceVersion or AlreadyExists).</summary>
    public bool IsConflict => Status == 409;

    /// <summary>IsForbidden is true for 403 (RBAC).</summary>
    public bool IsForbidden => Status == 403;
}

/// <summary>HttpLeaseClient is an ILeaseClient over an HttpClient whose BaseAddress is the API server and whose handler
/// already authenticates (client certificate or bearer token). JSON via JsonNode only (NativeAOT-safe).</summary>
public sealed class HttpLeaseClient(HttpClient http) : ILeaseClient
{
    /// <summary>GetAsync GETs the Lease; 404 gives null.</summary>
    public async Task<LeaseSnapshot?> GetAsync(string ns, string name, CancellationToken ct)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, LeaseJson.Path(ns, name), null, ct).ConfigureAwait(false);
        if (status == 404) return null;
        var lease = Check(status, body, "get", name);
        return new LeaseSnapshot(LeaseJson.ReadRecord(lease), LeaseJson.ResourceVersion(lease));
    }

    /// <summary>CreateAsync POSTs a new Lease.</summary>
    public async Task<string> CreateAsync(string ns, string name, LeaderElectionRecord record, CancellationToken ct)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, LeaseJson.Path(ns), LeaseJson.ToLease(ns, name, record), ct).ConfigureAwait(false);
        return LeaseJson.ResourceVersion(Check(status, body, "create", name));
    }

    /// <summary>UpdateAsync PUTs the Lease with the given resourceVersion.</summary>
    public async Task<string> UpdateAsync(string ns, string name, LeaderElectionRecord record, string resourceVersion, CancellationToken ct)
    {
        var (status, body) = await SendAsync(HttpMethod.Put, LeaseJson.Path(ns, name), LeaseJson.ToLease(ns, name, record, resourceVersion), ct)
            .ConfigureAwait(false);
        return LeaseJson.ResourceVersion(Check(status, body, "update", name));
    }

    private async Task<(int, string)> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, path.TrimStart('/'));
        req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null) req.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        try
        {
            using var resp = await http.SendAsync(req, ct).ConfigureAwait(false);
            return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
        }
        catch (HttpRequestException e)
        {
            throw new LeaseApiException(0, "Unreachable", $"{method} {path}: cannot reach the API server: {e.Message}", e);
        }
    }

    private static JsonObject Check(int status, string body, string verb, string name)
    {
        JsonObject? obj = null;
        try { obj = JsonNode.Parse(body) as JsonObject; }
        catch (System.Text.Json.JsonException) { }
        if (status is >= 200 and < 300 && obj is not null) return obj;
        var reason = obj?["reason"]?.GetValue<string>() ?? ((System.Net.HttpStatusCode)status).ToString();
        var message = obj?["message"]?.GetValue<string>() ?? body;
        throw new LeaseApiException(status, reason, $"{verb} lease \"{name}\": {status} {reason}: {message}");
    }
}

/// <summary>LeaseLock is client-go's LeaseLock: one Lease (namespace/name) and this candidate's identity. It caches the
/// resourceVersion of the last Get/Create/Update so Update is an optimistic-concurrency PUT, and bounds every request
/// by RequestTimeout (client-go: max(1 s, RenewDeadline/2) on the leader-election client).</summary>
public sealed class LeaseLock(ILeaseClient client, string ns, string name, string identity)
{
    private string? resourceVersion;

    /// <summary>Namespace of the Lease.</summary>
    public string Namespace { get; } = ns;

    /// <summary>Name of the Lease.</summary>
    public string Name { get; } = name;

    /// <summary>Identity is this candidate's holder identity (unique per process).</summary>
    public string Identity { get; } = identity;

    /// <summary>RequestTimeout bounds one API call; null means LeaderElector sets max(1 s, RenewDeadline/2).</summary>
    public TimeSpan? RequestTimeout { get; set; }

    /// <summary>Describe is "namespace/name".</summary>
    public string Describe() => $"{Namespace}/{Name}";

    internal TimeProvider Time { get; set; } = TimeProvider.System;

    internal async Task<LeaseSnapshot?> GetAsync(CancellationToken ct)
    {
        var snap = await CallAsync("get", c => client.GetAsync(Namespace, Name, c), ct).ConfigureAwait(false);
        if (snap is not null) resourceVersion = snap.ResourceVersion;
        return snap;
    }

    internal async Task CreateAsync(LeaderElectionRecord r, CancellationToken ct) =>
        resourceVersion = await CallAsync("create", c => client.CreateAsync(Namespace, Name, r, c), ct).ConfigureAwait(false);

    internal async Task UpdateAsync(LeaderElectionRecord r, CancellationToken ct)
    {
        var rv = resourceVersion ?? throw new InvalidOperationException("lease not initialized, call get or create first");
        resourceVersion = await CallAsync("update", c => client.UpdateAsync(Namespace, Name, r, rv, c), ct).ConfigureAwait(false);
    }

    private async Task<T> CallAsync<T>(string verb, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        var timeout = RequestTimeout ?? TimeSpan.FromSeconds(1);
        using var timer = new CancellationTokenSource(timeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        try
        {
            return await call(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (timer.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new LeaseApiException(0, "Timeout", $"{verb} lease {Describe()}: no answer within {timeout.TotalSeconds:0.###}s", e);
        }
    }
}
