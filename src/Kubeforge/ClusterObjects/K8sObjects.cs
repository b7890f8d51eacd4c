using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubeforge.ClusterObjects;

/// <summary>K8sObjects builds the plain Kubernetes objects kubeadm creates (ConfigMaps, Secrets, RBAC) as JSON
/// trees, with the field order kubeadm's structs marshal in. Everything here is pure.</summary>
public static class K8sObjects
{
    public const string KubeSystem = "kube-system";
    public const string KubePublic = "kube-public";
    public const string RbacGroup = "rbac.authorization.k8s.io";
    public const string NodesGroup = "system:nodes";
    public const string BootstrapGroup = "system:bootstrappers:kubeadm:default-node-token";

    /// <summary>Meta builds metadata {name, namespace?, labels?, annotations?}.</summary>
    public static JsonObject Meta(string name, string? ns = null, IEnumerable<KeyValuePair<string, string>>? labels = null,
        IEnumerable<KeyValuePair<string, string>>? annotations = null)
    {
        var m = new JsonObject { ["name"] = name };
        if (ns is not null)
        {
            m["namespace"] = ns;
        }
        if (labels is not null)
        {
            m["labels"] = StringMap(labels);
        }
        if (annotations is not null)
        {
            m["annotations"] = StringMap(annotations);
        }
        return m;
    }

    /// <summary>StringMap builds a JSON object of string values, keeping the order given.</summary>
    public static JsonObject StringMap(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var o = new JsonObject();
        foreach (var (k, v) in pairs)
        {
            o[k] = v;
        }
        return o;
    }

    /// <summary>Strings builds a JSON array of strings.</summary>
    public static JsonArray Strings(params IEnumerable<string> items) => new(items.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());

    /// <summary>ConfigMap builds a v1 ConfigMap with string data.</summary>
    public static JsonObject ConfigMap(string ns, string name, IEnumerable<KeyValuePair<string, string>> data, JsonObject? metadata = null) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = metadata ?? Meta(name, ns),
        ["data"] = StringMap(data),
    };

    /// <summary>Rule builds a PolicyRule (core group when apiGroup is "").</summary>
    public static JsonObject Rule(string[] verbs, string apiGroup, string[] resources, string[]? resourceNames = null)
    {
        var r = new JsonObject
        {
            ["verbs"] = Strings(verbs),
            ["apiGroups"] = Strings(apiGroup),
            ["resources"] = Strings(resources),
        };
        if (resourceNames is not null)
        {
            r["resourceNames"] = Strings(resourceNames);
        }
        return r;
    }

    /// <summary>Group is an RBAC subject of kind Group.</summary>
    public static JsonObject Group(string name) => new() { ["kind"] = "Group", ["apiGroup"] = RbacGroup, ["name"] = name };

    /// <summary>User is an RBAC subject of kind User.</summary>
    public static JsonObject User(string name) => new() { ["kind"] = "User", ["apiGroup"] = RbacGroup, ["name"] = name };

    /// <summary>ServiceAccountSubject is an RBAC subject of kind ServiceAccount.</summary>
    public static JsonObject ServiceAccountSubject(string ns, string name) => new() { ["kind"] = "ServiceAccount", ["name"] = name, ["namespace"] = ns };

    /// <summary>Role builds a namespaced Role.</summary>
    public static JsonObject Role(string ns, string name, params JsonObject[] rules) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "Role",
        ["metadata"] = Meta(name, ns),
        ["rules"] = new JsonArray(rules.Select(r => (JsonNode?)r).ToArray()),
    };

    /// <summary>ClusterRole builds a ClusterRole.</summary>
    public static JsonObject ClusterRole(string name, params JsonObject[] rules) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "ClusterRole",
        ["metadata"] = Meta(name),
        ["rules"] = new JsonArray(rules.Select(r => (JsonNode?)r).ToArray()),
    };

    /// <summary>RoleBinding binds a Role of the same namespace.</summary>
    public static JsonObject RoleBinding(string ns, string name, string roleName, params JsonObject[] subjects) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "RoleBinding",
        ["metadata"] = Meta(name, ns),
        ["roleRef"] = new JsonObject { ["apiGroup"] = RbacGroup, ["kind"] = "Role", ["name"] = roleName },
        ["subjects"] = new JsonArray(subjects.Select(s => (JsonNode?)s).ToArray()),
    };

    /// <summary>ClusterRoleBinding binds a ClusterRole.</summary>
    public static JsonObject ClusterRoleBinding(string name, string clusterRoleName, params JsonObject[] subjects) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "ClusterRoleBinding",
        ["metadata"] = Meta(name),
        ["roleRef"] = new JsonObject { ["apiGroup"] = RbacGroup, ["kind"] = "ClusterRole", ["name"] = clusterRoleName },
        ["subjects"] = new JsonArray(subjects.Select(s => (JsonNode?)s).ToArray()),
    };

    /// <summary>ServiceAccount builds a v1 ServiceAccount.</summary>
    public static JsonObject ServiceAccount(string ns, string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ServiceAccount",
        ["metadata"] = Meta(name, ns),
    };

    /// <summary>ConfigMapHash is kubeadm's component-config checksum (componentconfigs/checksums.go): SHA-256 over the
    /// data values in ordinal key order, then the binaryData values (decoded) likewise; "sha256:&lt;hex&gt;".</summary>
    public static string ConfigMapHash(JsonObject configMap)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (configMap["data"] is JsonObject data)
        {
            foreach (var key in data.Select(kv => kv.Key).Order(StringComparer.Ordinal))
            {
                h.AppendData(Encoding.UTF8.GetBytes(data[key]?.GetValue<string>() ?? ""));
            }
        }
        if (configMap["binaryData"] is JsonObject bin)
        {
            foreach (var key in bin.Select(kv => kv.Key).Order(StringComparer.Ordinal))
            {
                h.AppendData(Convert.FromBase64String(bin[key]?.GetValue<string>() ?? ""));
            }
        }
        return "sha256:" + Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>HashAnnotation is the annotation kubeadm signs its component-config ConfigMaps with.</summary>
    public const string HashAnnotation = "kubeadm.kubernetes.io/component-config.hash";

    /// <summary>Sign adds the component-config hash annotation to a ConfigMap (componentconfigs.SignConfigMap).</summary>
    public static JsonObject Sign(JsonObject configMap)
    {
        var md = (JsonObject)configMap["metadata"]!;
        if (md["annotations"] is not JsonObject ann)
        {
            ann = new JsonObject();
            md["annotations"] = ann;
        }
        ann[HashAnnotation] = ConfigMapHash(configMap);
        return configMap;
    }

    /// <summary>SameContent compares two objects ignoring server-set metadata (uid, resourceVersion, timestamps…).</summary>
    public static bool SameContent(JsonObject desired, JsonObject? existing)
    {
        if (existing is null)
        {
            return false;
        }
        foreach (var (key, value) in desired)
        {
            if (key == "metadata")
            {
                var dm = (JsonObject)value!;
                var em = existing["metadata"] as JsonObject;
                foreach (var f in new[] { "name", "namespace", "labels", "annotations", "ownerReferences" })
                {
                    if (!JsonNode.DeepEquals(dm[f], em?[f]))
                    {
                        return false;
                    }
                }
                continue;
            }
            if (!JsonNode.DeepEquals(value, existing[key]))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Apply holds the write idioms phases use: kubeadm's create-or-update, made quiet when nothing changes.</summary>
public static class Apply
{
    /// <summary>CreateOrUpdateAsync creates obj, or replaces it when it exists with different content; it returns
    /// false (and sends nothing) when the object already holds exactly this content.</summary>
    public static async Task<bool> CreateOrUpdateAsync(IKubeApi api, JsonObject obj, CancellationToken ct)
    {
        var r = ApiResource.ForKind(obj["apiVersion"]!.GetValue<string>(), obj["kind"]!.GetValue<string>())
            ?? throw new InvalidOperationException($"unknown kind {obj["kind"]}");
        var existing = await api.GetAsync(r, obj.Namespace(), obj.Name(), ct).ConfigureAwait(false);
        if (K8sObjects.SameContent(obj, existing))
        {
            return false;
        }
        if (existing is null)
        {
            await api.CreateOrUpdateAsync(r, obj, ct).ConfigureAwait(false);
            return true;
        }
        // replace in place, carrying the current resourceVersion (Services reject an update without one)
        var copy = (JsonObject)obj.DeepClone();
        if (existing["metadata"]?["resourceVersion"] is { } rv)
        {
            ((JsonObject)copy["metadata"]!)["resourceVersion"] = rv.DeepClone();
        }
        await api.UpdateAsync(r, copy, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>AllAsync applies objects in order.</summary>
    public static async Task AllAsync(IKubeApi api, IEnumerable<JsonObject> objs, CancellationToken ct)
    {
        foreach (var o in objs)
        {
            await CreateOrUpdateAsync(api, o, ct).ConfigureAwait(false);
        }
    }
}
