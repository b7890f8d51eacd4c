using System.Text.Json.Nodes;
using Kubeforge.Phases;

namespace Kubeforge.ClusterObjects;

/// <summary>DryRunKubeApi changes nothing: every write is printed the way kubeadm's dry-run client does
/// ("[dryrun] Would perform action CREATE on resource "configmaps" in API group "core/v1""), and kept in
/// memory so later reads in the same run see it. Reads of anything not written answer "not found",
/// except that GetRawAsync answers health endpoints with "ok".</summary>
public sealed class DryRunKubeApi(IUi ui) : IKubeApi
{
    private readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);

    /// <summary>Actions lists "VERB resource ns/name" for every write, in order (for tests).</summary>
    public List<string> Actions { get; } = [];

    private static string Key(ApiResource r, string? ns, string name) => $"{r.ApiVersion}/{r.Plural}/{(r.Namespaced ? ns : "")}/{name}";

    private void Print(string verb, ApiResource r, string? ns, string name)
    {
        var group = r.Group.Length == 0 ? "core" : r.Group;
        Actions.Add($"{verb} {r.Plural} {(r.Namespaced ? ns + "/" : "")}{name}");
        ui.Info("dryrun", $"Would perform action {verb} on resource \"{r.Plural}\" in API group \"{group}/{r.Version}\"" +
            (name.Length > 0 ? $" (name \"{name}\"{(r.Namespaced ? $", namespace \"{ns}\"" : "")})" : ""));
    }

    public Task<JsonObject?> GetAsync(ApiResource r, string? ns, string name, CancellationToken ct = default) =>
        Task.FromResult(_objects.TryGetValue(Key(r, ns, name), out var o) ? (JsonObject?)o.DeepClone() : null);

    public Task<IReadOnlyList<JsonObject>> ListAsync(ApiResource r, string? ns, string? labelSelector = null, CancellationToken ct = default)
    {
        var prefix = $"{r.ApiVersion}/{r.Plural}/{(r.Namespaced ? ns : "")}/";
        IReadOnlyList<JsonObject> items = _objects.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(kv => (JsonObject)kv.Value.DeepClone()).ToList();
        return Task.FromResult(items);
    }

    public Task<JsonObject> CreateAsync(ApiResource r, JsonObject obj, CancellationToken ct = default)
    {
        var key = Key(r, obj.Namespace(), obj.Name());
        if (_objects.ContainsKey(key))
        {
            throw new ApiException(409, "AlreadyExists", $"{r.Plural} \"{obj.Name()}\" already exists");
        }
        Print("CREATE", r, obj.Namespace(), obj.Name());
        _objects[key] = (JsonObject)obj.DeepClone();
        return Task.FromResult(obj);
    }

    public Task<JsonObject> UpdateAsync(ApiResource r, JsonObject obj, CancellationToken ct = default)
    {
        Print("UPDATE", r, obj.Namespace(), obj.Name());
        _objects[Key(r, obj.Namespace(), obj.Name())] = (JsonObject)obj.DeepClone();
        return Task.FromResult(obj);
    }

    public Task<JsonObject> PatchAsync(ApiResource r, string? ns, string name, string patch, string contentType, CancellationToken ct = default)
    {
        Print("PATCH", r, ns, name);
        return Task.FromResult(_objects.TryGetValue(Key(r, ns, name), out var o) ? o : new JsonObject());
    }

    public Task<bool> DeleteAsync(ApiResource r, string? ns, string name, CancellationToken ct = default)
    {
        Print("DELETE", r, ns, name);
        return Task.FromResult(_objects.Remove(Key(r, ns, name)));
    }

    public Task<(int Status, string Body)> GetRawAsync(string path, CancellationToken ct = default)
    {
        ui.Info("dryrun", $"Would perform action GET on \"{path}\"");
        return Task.FromResult((200, "ok"));
    }
}
