using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ControlPlane;

namespace Kubeforge.TestApiServer;

/// <summary>StoredObject is one stored value: its key, the object (without metadata.resourceVersion) and the revision of
/// its last change (etcd's mod_revision; the object's resourceVersion).</summary>
public sealed record StoredObject(string Key, JsonObject Object, long ModRevision);

/// <summary>IStorageBackend is the key-value layer under ObjectStore, with etcd's compare-and-swap semantics: every write
/// returns the new revision, or null when its precondition failed. Implementations copy objects in and out.</summary>
public interface IStorageBackend : IDisposable
{
    /// <summary>Get returns the value at key, or null.</summary>
    StoredObject? Get(string key);

    /// <summary>List returns all values whose key starts with prefix, in key order, with the store revision they were read at.</summary>
    (IReadOnlyList<StoredObject> Items, long Revision) List(string prefix);

    /// <summary>Create writes key only if it does not exist (etcd: create_revision == 0); null when it exists.</summary>
    long? Create(string key, JsonObject value);

    /// <summary>Update writes key only if its mod revision is still modRevision; null when it changed or vanished.</summary>
    long? Update(string key, JsonObject value, long modRevision);

    /// <summary>Delete removes key only if its mod revision is still modRevision; returns the deletion revision, or null.</summary>
    long? Delete(string key, long modRevision);

    /// <summary>Revision is the current store revision (the list resourceVersion).</summary>
    long Revision { get; }
}

/// <summary>StorageKeys is the key layout of kube-apiserver in etcd: `&lt;prefix&gt;/&lt;resource&gt;/&lt;namespace&gt;/&lt;name&gt;`,
/// cluster-scoped objects without the namespace segment; like the real registry, nodes live under `minions`, services
/// under `services/specs` and endpoints under `services/endpoints`.</summary>
public static class StorageKeys
{
    private static readonly Dictionary<string, string> Overrides = new()
    {
        ["nodes"] = "minions", ["services"] = "services/specs", ["endpoints"] = "services/endpoints",
    };

    /// <summary>Key is the key of one object (a namespaced resource without namespace uses "default").</summary>
    public static string Key(string prefix, ResourceInfo r, string? ns, string name) =>
        r.Namespaced ? $"{Root(prefix, r)}{ns ?? "default"}/{name}" : Root(prefix, r) + name;

    /// <summary>Prefix is the key prefix (ending in "/") of a resource, in one namespace or (null) in all.</summary>
    public static string Prefix(string prefix, ResourceInfo r, string? ns) =>
        r.Namespaced && ns != null ? $"{Root(prefix, r)}{ns}/" : Root(prefix, r);

    /// <summary>RangeEnd is etcd's range_end for a prefix scan: the prefix with its last byte incremented.</summary>
    public static byte[] RangeEnd(byte[] prefix)
    {
        var end = (byte[])prefix.Clone();
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff) { end[i]++; return end[..(i + 1)]; }
        }
        return [0]; // all keys
    }

    private static string Root(string prefix, ResourceInfo r) =>
        $"{prefix.TrimEnd('/')}/{Overrides.GetValueOrDefault(r.Plural, r.Plural)}/";
}

/// <summary>MemoryBackend keeps the values in a dictionary with one global revision counter (the default store).</summary>
public sealed class MemoryBackend : IStorageBackend
{
    private readonly object gate = new();
    private readonly SortedDictionary<string, (JsonObject Value, long Rev)> values = new(StringComparer.Ordinal);
    private long revision = 100;

    /// <summary>Get returns a copy of the value at key, or null.</summary>
    public StoredObject? Get(string key)
    {
        lock (gate) return values.TryGetValue(key, out var v) ? new(key, (JsonObject)v.Value.DeepClone(), v.Rev) : null;
    }

    /// <summary>List returns copies of the values under prefix.</summary>
    public (IReadOnlyList<StoredObject> Items, long Revision) List(string prefix)
    {
        lock (gate)
            return (values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                .Select(kv => new StoredObject(kv.Key, (JsonObject)kv.Value.Value.DeepClone(), kv.Value.Rev)).ToList(), revision);
    }

    /// <summary>Create stores value when key is absent.</summary>
    public long? Create(string key, JsonObject value)
    {
        lock (gate)
        {
            if (values.ContainsKey(key)) return null;
            values[key] = ((JsonObject)value.DeepClone(), ++revision);
            return revision;
        }
    }

    /// <summary>Update replaces value when key is still at modRevision.</summary>
    public long? Update(string key, JsonObject value, long modRevision)
    {
        lock (gate)
        {
            if (!values.TryGetValue(key, out var v) || v.Rev != modRevision) return null;
            values[key] = ((JsonObject)value.DeepClone(), ++revision);
            return revision;
        }
    }

    /// <summary>Delete removes key when it is still at modRevision.</summary>
    public long? Delete(string key, long modRevision)
    {
        lock (gate)
        {
            if (!values.TryGetValue(key, out var v) || v.Rev != modRevision) return null;
            values.Remove(key);
            return ++revision;
        }
    }

    /// <summary>Revision is the last assigned revision.</summary>
    public long Revision { get { lock (gate) return revision; } }

    public void Dispose() { }
}

/// <summary>EtcdBackend stores the values in etcd 3.4+ through its v3 JSON gateway (POST /v3/kv/range, /v3/kv/txn; keys and
/// values base64, int64 as strings) using Kubeforge's EtcdGatewayClient (client certificate, endpoint failover).
/// Values are JSON; the real kube-apiserver stores protobuf (`k8s\0` + runtime.Unknown) for built-in types, so etcdctl
/// shows readable JSON here where it would show binary there.</summary>
public sealed class EtcdBackend(EtcdGatewayClient client) : IStorageBackend
{
    /// <summary>Create connects to the endpoints (https URLs) trusting caFile and presenting certFile/keyFile (PEM).</summary>
    public static EtcdBackend Create(IReadOnlyList<string> endpoints, string caFile, string certFile, string keyFile)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caFile)); // the first certificate of the bundle
        var cert = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        return new EtcdBackend(EtcdGatewayClient.Create(endpoints, ca, cert, TimeSpan.FromSeconds(10)));
    }

    /// <summary>Get reads one key (POST /v3/kv/range).</summary>
    public StoredObject? Get(string key) =>
        Items(client.Post("/v3/kv/range", new JsonObject { ["key"] = B64(key) }.ToJsonString())).FirstOrDefault();

    /// <summary>List reads a prefix (range_end = prefix + 1); the revision is the answer header's.</summary>
    public (IReadOnlyList<StoredObject> Items, long Revision) List(string prefix)
    {
        var bytes = Encoding.UTF8.GetBytes(prefix);
        var resp = client.Post("/v3/kv/range", new JsonObject
        {
            ["key"] = Convert.ToBase64String(bytes), ["range_end"] = Convert.ToBase64String(StorageKeys.RangeEnd(bytes)),
        }.ToJsonString());
        return (Items(resp), HeaderRevision(resp));
    }

    /// <summary>Create is a txn: compare create_revision == 0, then put.</summary>
    public long? Create(string key, JsonObject value) =>
        Txn(Compare(key, "CREATE", "create_revision", 0), new JsonObject { ["request_put"] = Put(key, value) });

    /// <summary>Update is a txn: compare mod_revision == modRevision, then put.</summary>
    public long? Update(string key, JsonObject value, long modRevision) =>
        Txn(Compare(key, "MOD", "mod_revision", modRevision), new JsonObject { ["request_put"] = Put(key, value) });

    /// <summary>Delete is a txn: compare mod_revision == modRevision, then delete_range of the key.</summary>
    public long? Delete(string key, long modRevision) =>
        Txn(Compare(key, "MOD", "mod_revision", modRevision), new JsonObject { ["request_delete_range"] = new JsonObject { ["key"] = B64(key) } });

    /// <summary>Revision reads the header revision of a cheap count-only range.</summary>
    public long Revision => HeaderRevision(client.Post("/v3/kv/range",
        new JsonObject { ["key"] = B64("/"), ["count_only"] = true }.ToJsonString()));

    public void Dispose() => client.Dispose();

    /// <summary>Items maps a range answer's kvs to StoredObjects (key/value base64, mod_revision as the revision).</summary>
    public static IReadOnlyList<StoredObject> Items(JsonObject rangeResponse) =>
        (rangeResponse["kvs"] as JsonArray)?.OfType<JsonObject>().Select(kv => new StoredObject(
            Encoding.UTF8.GetString(Convert.FromBase64String((string)kv["key"]!)),
            JsonNode.Parse(Convert.FromBase64String((string?)kv["value"] ?? "")) as JsonObject ?? new JsonObject(),
            Int64(kv["mod_revision"]))).ToList() ?? [];

    /// <summary>HeaderRevision reads header.revision of a gateway answer.</summary>
    public static long HeaderRevision(JsonObject response) => Int64(response["header"]?["revision"]);

    // Int64 reads a proto int64, which the gateway renders as a JSON string (and omits when zero).
    private static long Int64(JsonNode? n) =>
        n is null ? 0 : long.Parse(n.GetValueKind() == System.Text.Json.JsonValueKind.String ? (string)n! : n.ToJsonString(), CultureInfo.InvariantCulture);

    private long? Txn(JsonObject compare, JsonObject success)
    {
        var resp = client.Post("/v3/kv/txn", new JsonObject { ["compare"] = new JsonArray(compare), ["success"] = new JsonArray(success) }.ToJsonString());
        // "succeeded" is omitted when false (proto3 JSON drops default values)
        return resp["succeeded"]?.GetValue<bool>() == true ? HeaderRevision(resp) : null;
    }

    private static JsonObject Compare(string key, string target, string field, long value) => new()
    {
        ["key"] = B64(key), ["target"] = target, ["result"] = "EQUAL", [field] = value.ToString(CultureInfo.InvariantCulture),
    };

    private static JsonObject Put(string key, JsonObject value) => new()
    {
        ["key"] = B64(key), ["value"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value.ToJsonString())),
    };

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
}
