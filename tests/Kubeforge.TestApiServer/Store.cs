using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubeforge.TestApiServer;

/// <summary>ResourceInfo describes one served REST resource (group, version, plural, kind, scope, subresources).</summary>
public sealed record ResourceInfo(string Group, string Version, string Plural, string Singular, string Kind, bool Namespaced,
    params string[] Subresources)
{
    /// <summary>ApiVersion is "v1" for the core group, else "group/version".</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>HasStatus tells whether the resource has a status subresource (main-resource writes keep the old status).</summary>
    public bool HasStatus => Subresources.Contains("status");
}

/// <summary>Resources is the fixed table of resources the test API server serves.</summary>
public static class Resources
{
    /// <summary>All lists every served resource.</summary>
    public static readonly IReadOnlyList<ResourceInfo> All =
    [
        new("", "v1", "namespaces", "namespace", "Namespace", false, "status", "finalize"),
        new("", "v1", "configmaps", "configmap", "ConfigMap", true),
        new("", "v1", "secrets", "secret", "Secret", true),
        new("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true),
        new("", "v1", "services", "service", "Service", true, "status"),
        new("", "v1", "nodes", "node", "Node", false, "status"),
        new("", "v1", "pods", "pod", "Pod", true, "status"),
        new("", "v1", "endpoints", "endpoints", "Endpoints", true),
        new("", "v1", "events", "event", "Event", true),
        new("apps", "v1", "deployments", "deployment", "Deployment", true, "status", "scale"),
        new("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, "status"),
        new("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true),
        new("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true),
        new("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false),
        new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false),
        new("coordination.k8s.io", "v1", "leases", "lease", "Lease", true),
        new("certificates.k8s.io", "v1", "certificatesigningrequests", "certificatesigningrequest", "CertificateSigningRequest",
            false, "approval", "status"),
    ];

    /// <summary>Find returns the resource with this plural name in this group/version, or null.</summary>
    public static ResourceInfo? Find(string group, string version, string plural) =>
        All.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);

    /// <summary>Get returns the resource with this plural name (plurals are unique in this table); throws if unknown.</summary>
    public static ResourceInfo Get(string plural) =>
        All.FirstOrDefault(r => r.Plural == plural) ?? throw new ArgumentException($"unknown resource {plural}", nameof(plural));

    /// <summary>ForObject returns the resource matching an object's apiVersion and kind; throws if unknown.</summary>
    public static ResourceInfo ForObject(JsonObject obj)
    {
        var apiVersion = (string?)obj["apiVersion"] ?? "";
        var kind = (string?)obj["kind"] ?? "";
        return All.FirstOrDefault(r => r.ApiVersion == apiVersion && r.Kind == kind)
            ?? throw new ArgumentException($"unknown apiVersion/kind {apiVersion}/{kind}", nameof(obj));
    }
}

/// <summary>ApiException is a Kubernetes API error carrying the HTTP code and the Status body to send.</summary>
public sealed class ApiException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    /// <summary>Code is the HTTP status code.</summary>
    public int Code { get; } = code;

    /// <summary>Reason is the Status reason (NotFound, AlreadyExists, Conflict, Forbidden, ...).</summary>
    public string Reason { get; } = reason;

    /// <summary>ToStatus renders the metav1.Status body.</summary>
    public JsonObject ToStatus()
    {
        var s = new JsonObject
        {
            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
            ["message"] = Message, ["reason"] = Reason,
        };
        if (details != null) s["details"] = details.DeepClone();
        s["code"] = Code;
        return s;
    }

    internal static JsonObject Details(ResourceInfo r, string? name)
    {
        var d = new JsonObject();
        if (!string.IsNullOrEmpty(name)) d["name"] = name;
        if (r.Group.Length > 0) d["group"] = r.Group;
        d["kind"] = r.Plural;
        return d;
    }

    /// <summary>NotFound builds the 404 error `plural "name" not found`.</summary>
    public static ApiException NotFound(ResourceInfo r, string name) =>
        new(404, "NotFound", $"{Qualified(r)} \"{name}\" not found", Details(r, name));

    /// <summary>AlreadyExists builds the 409 error `plural "name" already exists`.</summary>
    public static ApiException AlreadyExists(ResourceInfo r, string name) =>
        new(409, "AlreadyExists", $"{Qualified(r)} \"{name}\" already exists", Details(r, name));

    /// <summary>Conflict builds the 409 optimistic-concurrency error.</summary>
    public static ApiException Conflict(ResourceInfo r, string name) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {Qualified(r)} \"{name}\": the object has been modified; " +
            "please apply your changes to the latest version and try again", Details(r, name));

    /// <summary>BadRequest builds a 400 error.</summary>
    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    /// <summary>Invalid builds a 422 error.</summary>
    public static ApiException Invalid(ResourceInfo r, string name, string message) =>
        new(422, "Invalid", $"{r.Kind} \"{name}\" is invalid: {message}", Details(r, name));

    internal static string Qualified(ResourceInfo r) => r.Group.Length == 0 ? r.Plural : $"{r.Plural}.{r.Group}";
}

/// <summary>StoreEvent reports one change in the ObjectStore (Type is ADDED, MODIFIED or DELETED; Object is a copy).</summary>
public sealed record StoreEvent(string Type, ResourceInfo Resource, string? Namespace, string Name, JsonObject Object);

/// <summary>ObjectStore is the object database of the test API server (API semantics over an IStorageBackend: in memory by
/// default, or etcd shared by several instances); every method copies objects in and out.</summary>
/// <remarks>Resources are named by plural (e.g. "configmaps"); cluster-scoped resources take a null namespace. Writes are
/// compare-and-swap against the backend: a lost race with a given resourceVersion is 409 Conflict, without one the
/// read-modify-write is retried.</remarks>
public sealed partial class ObjectStore : IDisposable
{
    private const int MaxAttempts = 50;
    private readonly IStorageBackend backend;
    private readonly TimeProvider time;
    private readonly string prefix;

    /// <summary>ObjectStore creates an empty in-memory store using the given clock for timestamps.</summary>
    public ObjectStore(TimeProvider? time = null) : this(new MemoryBackend(), time) { }

    /// <summary>ObjectStore creates a store over a backend, with keys under prefix (kube-apiserver's --etcd-prefix).</summary>
    public ObjectStore(IStorageBackend backend, TimeProvider? time = null, string prefix = "/registry")
    {
        this.backend = backend;
        this.time = time ?? TimeProvider.System;
        this.prefix = prefix;
    }

    /// <summary>Changed is raised after each change committed through this store (changes by other instances sharing the
    /// backend are not reported; the controllers also resync on a timer).</summary>
    public event Action<StoreEvent>? Changed;

    /// <summary>ResourceVersion is the current global resource version (the backend revision).</summary>
    public long ResourceVersion => backend.Revision;

    /// <summary>Get returns a copy of the object, or null when absent.</summary>
    public JsonObject? Get(string resource, string? ns, string name)
    {
        var r = Resources.Get(resource);
        return Load(backend.Get(StorageKeys.Key(prefix, r, ns, name)));
    }

    /// <summary>List returns copies of all objects of a resource, in one namespace or (null) in all, in key order
    /// (namespace/name).</summary>
    public IReadOnlyList<JsonObject> List(string resource, string? ns = null) => List(resource, ns, out _);

    /// <summary>List also returns the revision the list was read at (the list's resourceVersion).</summary>
    public IReadOnlyList<JsonObject> List(string resource, string? ns, out long revision)
    {
        var r = Resources.Get(resource);
        var (items, rev) = backend.List(StorageKeys.Prefix(prefix, r, r.Namespaced ? ns : null));
        revision = rev;
        return items.Select(i => Load(i)!).ToList();
    }

    /// <summary>Create stores a new object (server fields set) and returns it; 409 AlreadyExists, 404 when the namespace is missing.</summary>
    public JsonObject Create(string resource, string? ns, JsonObject obj)
    {
        var r = Resources.Get(resource);
        obj = (JsonObject)obj.DeepClone();
        var meta = Meta(obj);
        ns = NamespaceFor(r, ns, meta);
        var name = (string?)meta["name"] ?? "";
        if (name.Length == 0 && meta["generateName"] is JsonValue gn)
            name = (string)gn! + RandomSuffix();
        if (name.Length == 0) throw ApiException.Invalid(r, "", "metadata.name: Required value: name or generateName is required");
        var namespaces = Resources.Get("namespaces");
        if (r.Namespaced && backend.Get(StorageKeys.Key(prefix, namespaces, null, ns!)) == null)
            throw ApiException.NotFound(namespaces, ns!);
        var key = StorageKeys.Key(prefix, r, ns, name);
        if (backend.Get(key) != null) throw ApiException.AlreadyExists(r, name);
        Validate(r, name, obj, null);
        meta["name"] = name;
        if (r.Namespaced) meta["namespace"] = ns; else meta.Remove("namespace");
        obj["apiVersion"] = r.ApiVersion;
        obj["kind"] = r.Kind;
        meta["uid"] = Guid.NewGuid().ToString();
        meta.Remove("resourceVersion");
        meta["creationTimestamp"] = Now();
        meta["generation"] = 1;
        meta.Remove("deletionTimestamp");
        Normalize(r, obj, null);
        var rev = backend.Create(key, obj) ?? throw ApiException.AlreadyExists(r, name);
        meta["resourceVersion"] = Rv(rev);
        Changed?.Invoke(new StoreEvent("ADDED", r, ns, name, (JsonObject)obj.DeepClone()));
        return obj;
    }

    /// <summary>Update replaces an object: 404 when absent, 409 Conflict when a set (non-"0") resourceVersion is stale.</summary>
    /// <param name="subresource">null for the main resource (keeps the old status when the resource has one), "status" (replaces
    /// only status), "approval" (replaces only status.conditions).</param>
    public JsonObject Update(string resource, string? ns, JsonObject obj, string? subresource = null)
    {
        var r = Resources.Get(resource);
        obj = (JsonObject)obj.DeepClone();
        var meta = Meta(obj);
        ns = NamespaceFor(r, ns, meta);
        var name = (string?)meta["name"] ?? "";
        var rv = (string?)meta["resourceVersion"] ?? "";
        var pinned = rv.Length > 0 && rv != "0";
        var key = StorageKeys.Key(prefix, r, ns, name);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = backend.Get(key) ?? throw ApiException.NotFound(r, name);
            if (pinned && rv != Rv(current.ModRevision)) throw ApiException.Conflict(r, name);
            var old = Load(current)!;
            var updated = Merge(r, old, (JsonObject)obj.DeepClone(), subresource);
            Validate(r, name, updated, old);
            if (Commit(r, ns, name, key, current, old, updated) is { } result) return result;
            if (pinned) throw ApiException.Conflict(r, name);
        }
        throw ApiException.Conflict(r, name);
    }

    /// <summary>Mutate applies a change to the current object (re-read and re-applied when another writer wins the race, so
    /// no conflict reaches the caller); returns the stored result, or null when absent. The callback returns false to leave
    /// the object unchanged.</summary>
    public JsonObject? Mutate(string resource, string? ns, string name, Func<JsonObject, bool> change)
    {
        var r = Resources.Get(resource);
        var key = StorageKeys.Key(prefix, r, ns, name);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (backend.Get(key) is not { } current) return null;
            var old = Load(current)!;
            var updated = (JsonObject)old.DeepClone();
            if (!change(updated)) return old;
            if (Commit(r, r.Namespaced ? ns ?? "default" : null, name, key, current, old, updated) is { } result) return result;
        }
        throw ApiException.Conflict(r, name);
    }

    /// <summary>Put creates the object or replaces it unconditionally (handy for seeding); the resource comes from apiVersion/kind.</summary>
    public JsonObject Put(JsonObject obj)
    {
        var r = Resources.ForObject(obj);
        var meta = obj["metadata"] as JsonObject;
        var ns = r.Namespaced ? (string?)meta?["namespace"] ?? "default" : null;
        var copy = (JsonObject)obj.DeepClone();
        (copy["metadata"] as JsonObject)?.Remove("resourceVersion");
        for (var attempt = 0; ; attempt++)
        {
            try { return Update(r.Plural, ns, copy, r.HasStatus ? "*" : null); }
            catch (ApiException e) when (e.Code == 404) { }
            try { return Create(r.Plural, ns, copy); }
            catch (ApiException e) when (e.Reason == "AlreadyExists" && attempt < MaxAttempts) { } // created meanwhile: update it
        }
    }

    /// <summary>Delete removes an object and returns its last state; 404 when absent. Deleting a namespace deletes its contents.</summary>
    public JsonObject Delete(string resource, string? ns, string name)
    {
        var r = Resources.Get(resource);
        var old = Remove(r, StorageKeys.Key(prefix, r, ns, name)) ?? throw ApiException.NotFound(r, name);
        if (r.Plural == "namespaces")
        {
            foreach (var child in Resources.All.Where(c => c.Namespaced))
            foreach (var item in backend.List(StorageKeys.Prefix(prefix, child, name)).Items)
                Remove(child, item.Key);
        }
        return old;
    }

    /// <summary>Dispose releases the backend (the etcd connection).</summary>
    public void Dispose() => backend.Dispose();

    // Remove deletes key (retrying while it changes underneath) and reports the last state with the deletion revision; null when absent.
    private JsonObject? Remove(ResourceInfo r, string key)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (backend.Get(key) is not { } current) return null;
            if (backend.Delete(key, current.ModRevision) is not { } rev) continue;
            var old = Load(current)!;
            old["metadata"]!["resourceVersion"] = Rv(rev);
            var meta = old["metadata"]!;
            Changed?.Invoke(new StoreEvent("DELETED", r, (string?)meta["namespace"], (string)meta["name"]!, (JsonObject)old.DeepClone()));
            return old;
        }
        throw ApiException.Conflict(r, key);
    }

    // Commit writes updated over old (server-owned metadata kept, generation bumped on spec changes) unless nothing changed;
    // null when another writer changed the object since it was read.
    private JsonObject? Commit(ResourceInfo r, string? ns, string name, string key, StoredObject current, JsonObject old, JsonObject updated)
    {
        var meta = (JsonObject)updated["metadata"]!;
        var oldMeta = (JsonObject)old["metadata"]!;
        foreach (var f in new[] { "uid", "creationTimestamp", "name", "namespace", "generation", "resourceVersion" })
        {
            if (oldMeta[f] is { } v) meta[f] = v.DeepClone(); else meta.Remove(f);
        }
        updated["apiVersion"] = r.ApiVersion;
        updated["kind"] = r.Kind;
        Normalize(r, updated, old);
        if (JsonNode.DeepEquals(old, updated)) return old;
        if (!JsonNode.DeepEquals(Body(old), Body(updated)))
            meta["generation"] = (long.TryParse(oldMeta["generation"]?.ToJsonString(), out var g) ? g : 0) + 1;
        meta.Remove("resourceVersion");
        if (backend.Update(key, updated, current.ModRevision) is not { } rev) return null;
        meta["resourceVersion"] = Rv(rev);
        Changed?.Invoke(new StoreEvent("MODIFIED", r, r.Namespaced ? ns : null, name, (JsonObject)updated.DeepClone()));
        return updated;
    }

    // Load stamps the stored revision as metadata.resourceVersion (values are stored without it, like kube-apiserver does).
    private static JsonObject? Load(StoredObject? s)
    {
        if (s == null) return null;
        Meta(s.Object)["resourceVersion"] = Rv(s.ModRevision);
        return s.Object;
    }

    /// <summary>Rv renders a revision as a resourceVersion string.</summary>
    public static string Rv(long revision) => revision.ToString(CultureInfo.InvariantCulture);
    // Body is the object without metadata and status: what changes the generation.
    private static JsonObject Body(JsonObject o)
    {
        var c = (JsonObject)o.DeepClone();
        c.Remove("metadata");
        c.Remove("status");
        return c;
    }

    private static JsonObject Merge(ResourceInfo r, JsonObject old, JsonObject obj, string? subresource)
    {
        switch (subresource)
        {
            case null when r.HasStatus:
                obj.Remove("status");
                if (old["status"] is { } s) obj["status"] = s.DeepClone();
                return obj;
            case "status":
                var withStatus = (JsonObject)old.DeepClone();
                withStatus.Remove("status");
                if (obj["status"] is { } ns) withStatus["status"] = ns.DeepClone();
                withStatus["metadata"] = obj["metadata"]!.DeepClone();
                return withStatus;
            case "approval":
                var approved = (JsonObject)old.DeepClone();
                var status = approved["status"] as JsonObject ?? new JsonObject();
                approved["status"] = status;
                status.Remove("conditions");
                if (obj["status"]?["conditions"] is { } c) status["conditions"] = c.DeepClone();
                return approved;
            default:
                return obj;
        }
    }

    private static void Normalize(ResourceInfo r, JsonObject obj, JsonObject? old)
    {
        var meta = (JsonObject)obj["metadata"]!;
        switch (r.Kind)
        {
            case "Secret":
                obj["type"] ??= "Opaque";
                if (obj["stringData"] is JsonObject sd)
                {
                    var data = obj["data"] as JsonObject ?? new JsonObject();
                    obj["data"] = data;
                    foreach (var (k, v) in sd) data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes((string?)v ?? ""));
                    obj.Remove("stringData");
                }
                break;
            case "Namespace":
                var labels = meta["labels"] as JsonObject ?? new JsonObject();
                meta["labels"] = labels;
                labels["kubernetes.io/metadata.name"] = (string?)meta["name"];
                obj["spec"] ??= new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
                obj["status"] ??= new JsonObject { ["phase"] = "Active" };
                break;
            case "Pod":
                obj["status"] ??= new JsonObject { ["phase"] = "Pending" };
                break;
            case "CertificateSigningRequest" when old != null:
                obj["spec"] = old["spec"]!.DeepClone(); // spec is immutable
                break;
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\z")]
    private static partial System.Text.RegularExpressions.Regex DnsSubdomain();

    // Validate applies the name rules (DNS-1123 subdomain; label for namespaces; path segment for RBAC objects) and
    // the RBAC rule that a binding's roleRef cannot change.
    private static void Validate(ResourceInfo r, string name, JsonObject obj, JsonObject? old)
    {
        var rbac = r.Group == "rbac.authorization.k8s.io";
        var ok = rbac
            ? name is not ("." or "..") && !name.Contains('/') && !name.Contains('%')
            : name.Length <= (r.Kind == "Namespace" ? 63 : 253) && DnsSubdomain().IsMatch(name) && (r.Kind != "Namespace" || !name.Contains('.'));
        if (!ok) throw ApiException.Invalid(r, name, $"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 " +
            (r.Kind == "Namespace" ? "label" : "subdomain") + " must consist of lower case alphanumeric characters" +
            (r.Kind == "Namespace" ? " or '-'" : ", '-' or '.'") + ", and must start and end with an alphanumeric character");
        if (r.Kind is "RoleBinding" or "ClusterRoleBinding")
        {
            if (obj["roleRef"] is not JsonObject) throw ApiException.Invalid(r, name, "roleRef.name: Required value");
            if (old != null && !JsonNode.DeepEquals(old["roleRef"], obj["roleRef"]))
                throw ApiException.Invalid(r, name, $"roleRef: Invalid value: {obj["roleRef"]!.ToJsonString()}: cannot change roleRef");
        }
    }

    private static JsonObject Meta(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m) return m;
        var meta = new JsonObject();
        obj["metadata"] = meta;
        return meta;
    }

    private static string? NamespaceFor(ResourceInfo r, string? ns, JsonObject meta)
    {
        if (!r.Namespaced) return null;
        var bodyNs = (string?)meta["namespace"];
        if (string.IsNullOrEmpty(ns)) ns = string.IsNullOrEmpty(bodyNs) ? "default" : bodyNs;
        else if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        return ns;
    }

    private string Now() => time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return new string(Enumerable.Range(0, 5).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]).ToArray());
    }
}
