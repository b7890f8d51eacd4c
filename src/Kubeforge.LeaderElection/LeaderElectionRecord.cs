using System.Globalization;
using System.Text.Json.Nodes;

namespace Kubeforge.LeaderElection;

/// <summary>LeaderElectionRecord is client-go's lock-agnostic record (resourcelock.LeaderElectionRecord), stored in a
/// Lease's spec. Times are null when the Lease does not carry them.</summary>
public sealed record LeaderElectionRecord(
    string HolderIdentity,
    int LeaseDurationSeconds,
    DateTimeOffset? AcquireTime,
    DateTimeOffset? RenewTime,
    int LeaderTransitions,
    string? Strategy = null,
    string? PreferredHolder = null)
{
    /// <summary>Empty is the zero record (what an elector has observed before its first Get).</summary>
    public static LeaderElectionRecord Empty { get; } = new("", 0, null, null, 0);

    /// <summary>Raw is the canonical serialization used to detect changes (client-go byte-compares json.Marshal(record)).
    /// Times are compared at MicroTime precision, as the API server stores them.</summary>
    public string Raw() => new JsonObject
    {
        ["holderIdentity"] = HolderIdentity,
        ["leaseDurationSeconds"] = LeaseDurationSeconds,
        ["acquireTime"] = AcquireTime is { } a ? MicroTime.Format(a) : null,
        ["renewTime"] = RenewTime is { } r ? MicroTime.Format(r) : null,
        ["leaderTransitions"] = LeaderTransitions,
        ["strategy"] = Strategy,
        ["preferredHolder"] = PreferredHolder,
    }.ToJsonString();
}

/// <summary>MicroTime formats and parses metav1.MicroTime: RFC 3339 in UTC with exactly six fractional digits
/// ("2006-01-02T15:04:05.000000Z07:00"), the only form the API server accepts.</summary>
public static class MicroTime
{
    /// <summary>Format writes the time in UTC with exactly six fractional digits (truncated, as Go does).</summary>
    public static string Format(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parse reads an RFC 3339 time (any fraction length, Z or offset); FormatException when malformed.</summary>
    public static DateTimeOffset Parse(string s) =>
        DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}

/// <summary>LeaseJson converts between a LeaderElectionRecord and a coordination.k8s.io/v1 Lease object exactly like
/// client-go's LeaderElectionRecordToLeaseSpec / LeaseSpecToLeaderElectionRecord.</summary>
public static class LeaseJson
{
    /// <summary>ApiVersion is the Lease API group version.</summary>
    public const string ApiVersion = "coordination.k8s.io/v1";

    /// <summary>Path is the REST path of a Lease (or of the collection when name is null).</summary>
    public static string Path(string ns, string? name = null) =>
        $"/apis/coordination.k8s.io/v1/namespaces/{Uri.EscapeDataString(ns)}/leases" + (name is null ? "" : "/" + Uri.EscapeDataString(name));

    /// <summary>Spec builds the Lease spec: holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions
    /// always present (holder "" on release), strategy/preferredHolder only when set.</summary>
    public static JsonObject Spec(LeaderElectionRecord r)
    {
        var spec = new JsonObject
        {
            ["holderIdentity"] = r.HolderIdentity,
            ["leaseDurationSeconds"] = r.LeaseDurationSeconds,
            ["acquireTime"] = r.AcquireTime is { } a ? MicroTime.Format(a) : null,
            ["renewTime"] = r.RenewTime is { } n ? MicroTime.Format(n) : null,
            ["leaseTransitions"] = r.LeaderTransitions,
        };
        if (!string.IsNullOrEmpty(r.Strategy)) spec["strategy"] = r.Strategy;
        if (!string.IsNullOrEmpty(r.PreferredHolder)) spec["preferredHolder"] = r.PreferredHolder;
        return spec;
    }

    /// <summary>ToLease builds a whole Lease object (resourceVersion in metadata when given, for an optimistic PUT).</summary>
    public static JsonObject ToLease(string ns, string name, LeaderElectionRecord r, string? resourceVersion = null)
    {
        var meta = new JsonObject { ["name"] = name, ["namespace"] = ns };
        if (resourceVersion is not null) meta["resourceVersion"] = resourceVersion;
        return new JsonObject { ["apiVersion"] = ApiVersion, ["kind"] = "Lease", ["metadata"] = meta, ["spec"] = Spec(r) };
    }

    /// <summary>ReadRecord reads the record from a Lease object (missing fields are zero, as in Go).</summary>
    public static LeaderElectionRecord ReadRecord(JsonObject lease)
    {
        var spec = lease["spec"] as JsonObject ?? new JsonObject();
        return new LeaderElectionRecord(
            Str(spec["holderIdentity"]) ?? "",
            Int(spec["leaseDurationSeconds"]),
            Str(spec["acquireTime"]) is { } a ? MicroTime.Parse(a) : null,
            Str(spec["renewTime"]) is { } n ? MicroTime.Parse(n) : null,
            Int(spec["leaseTransitions"]),
            Str(spec["strategy"]),
            Str(spec["preferredHolder"]));
    }

    /// <summary>ResourceVersion reads metadata.resourceVersion ("" when absent).</summary>
    public static string ResourceVersion(JsonObject lease) => Str(lease["metadata"]?["resourceVersion"]) ?? "";

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static int Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<int>(out var i) ? i : 0;
}
