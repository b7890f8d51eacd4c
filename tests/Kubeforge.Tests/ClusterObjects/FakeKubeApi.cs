using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;

namespace Kubeforge.Tests.ClusterObjects;

/// <summary>FakeKubeApi is an in-memory API server: it assigns uid/resourceVersion, answers 409 on duplicate
/// creates, applies strategic-merge patches to nodes (maps merged, lists replaced) and logs every write.</summary>
public sealed class FakeKubeApi : IKubeApi
{
    private readonly Dictionary<string, JsonObject> _store = new(StringComparer.Ordinal);
    private int _rv;

    public List<string> Writes { get; } = [];
    public Func<ApiResource, JsonObject, ApiException?>? CreateHook { get; set; }
    public Queue<(int, string)> Raw { get; } = new();

    private static string Key(ApiResource r, string? ns, string name) => $"{r.Plural}/{(r.Namespaced ? ns : "")}/{name}";

    public JsonObject? Peek(ApiResource r, string? ns, string name) => _store.TryGetValue(Key(r, ns, name), out var o) ? o : null;

    public void Put(ApiResource r, JsonObject obj) => _store[Key(r, obj.Namespace(), obj.Name())] = Stamp(obj);

    private JsonObject Stamp(JsonObject o)
    {
        var md = (JsonObject)o["metadata"]!;
        md["uid"] ??= Guid.NewGuid().ToString();
        md["resourceVersion"] = (++_rv).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return o;
    }

    public Task<JsonObject?> GetAsync(ApiResource r, string? ns, string name, CancellationToken ct = default) =>
        Task.FromResult(Peek(r, ns, name)?.DeepClone() as JsonObject);

    public Task<IReadOnlyList<JsonObject>> ListAsync(ApiResource r, string? ns, string? labelSelector = null, CancellationToken ct = default)
    {
        var prefix = $"{r.Plural}/{(r.Namespaced ? ns : "")}/";
        var items = _store.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(kv => kv.Value)
            .Where(o => labelSelector is null || labelSelector.Split(',').All(sel =>
            {
                var (k, v) = (sel.Split('=')[0], sel.Split('=')[1]);
                return o["metadata"]?["labels"]?[k]?.GetValue<string>() == v;
            }))
            .Select(o => (JsonObject)o.DeepClone()).ToList();
        return Task.FromResult<IReadOnlyList<JsonObject>>(items);
    }

    public Task<JsonObject> CreateAsync(ApiResource r, JsonObject obj, CancellationToken ct = default)
    {
        if (CreateHook?.Invoke(r, obj) is { } err)
        {
            throw err;
        }
        if (Peek(r, obj.Namespace(), obj.Name()) is not null)
        {
            throw new ApiException(409, "AlreadyExists", $"{r.Plural} \"{obj.Name()}\" already exists");
        }
        Writes.Add($"CREATE {r.Plural} {obj.Name()}");
        var copy = (JsonObject)obj.DeepClone();
        ((JsonObject)copy["metadata"]!).Remove("resourceVersion");
        Put(r, copy);
        return Task.FromResult((JsonObject)copy.DeepClone());
    }

    public Task<JsonObject> UpdateAsync(ApiResource r, JsonObject obj, CancellationToken ct = default)
    {
        var cur = Peek(r, obj.Namespace(), obj.Name()) ?? throw new ApiException(404, "NotFound", "not found");
        var rv = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
        if (rv is not null && rv != "0" && rv != cur["metadata"]!["resourceVersion"]!.GetValue<string>())
        {
            throw new ApiException(409, "Conflict", "stale resourceVersion");
        }
        Writes.Add($"UPDATE {r.Plural} {obj.Name()}");
        var copy = (JsonObject)obj.DeepClone();
        ((JsonObject)copy["metadata"]!)["uid"] = cur["metadata"]!["uid"]!.DeepClone();
        Put(r, copy);
        return Task.FromResult((JsonObject)copy.DeepClone());
    }

    public Task<JsonObject> PatchAsync(ApiResource r, string? ns, string name, string patch, string contentType, CancellationToken ct = default)
    {
        var cur = Peek(r, ns, name) ?? throw new ApiException(404, "NotFound", "not found");
        Writes.Add($"PATCH {r.Plural} {name}");
        Merge(cur, (JsonObject)JsonNode.Parse(patch)!);
        return Task.FromResult((JsonObject)cur.DeepClone());
    }

    private static void Merge(JsonObject into, JsonObject patch)
    {
        foreach (var (k, v) in patch.ToList())
        {
            if (v is JsonObject vo && into[k] is JsonObject io)
            {
                Merge(io, vo);
            }
            else
            {
                into[k] = v?.DeepClone();
            }
        }
    }

    public Task<bool> DeleteAsync(ApiResource r, string? ns, string name, CancellationToken ct = default) =>
        Task.FromResult(_store.Remove(Key(r, ns, name)));

    public Task<(int Status, string Body)> GetRawAsync(string path, CancellationToken ct = default) =>
        Task.FromResult(Raw.Count > 0 ? Raw.Dequeue() : (200, "ok"));
}
