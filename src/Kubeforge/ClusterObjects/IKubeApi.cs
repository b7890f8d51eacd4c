using System.Text.Json.Nodes;

namespace Kubeforge.ClusterObjects;

/// <summary>ApiResource names a Kubernetes resource type for generic REST calls.</summary>
public sealed record ApiResource(string Group, string Version, string Plural, string Kind, bool Namespaced)
{
    public static readonly ApiResource Namespace = new("", "v1", "namespaces", "Namespace", false);
    public static readonly ApiResource ConfigMap = new("", "v1", "configmaps", "ConfigMap", true);
    public static readonly ApiResource Secret = new("", "v1", "secrets", "Secret", true);
    public static readonly ApiResource ServiceAccount = new("", "v1", "serviceaccounts", "ServiceAccount", true);
    public static readonly ApiResource Service = new("", "v1", "services", "Service", true);
    public static readonly ApiResource Node = new("", "v1", "nodes", "Node", false);
    public static readonly ApiResource Pod = new("", "v1", "pods", "Pod", true);
    public static readonly ApiResource Deployment = new("apps", "v1", "deployments", "Deployment", true);
    public static readonly ApiResource DaemonSet = new("apps", "v1", "daemonsets", "DaemonSet", true);
    public static readonly ApiResource Role = new("rbac.authorization.k8s.io", "v1", "roles", "Role", true);
    public static readonly ApiResource RoleBinding = new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true);
    public static readonly ApiResource ClusterRole = new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false);
    public static readonly ApiResource ClusterRoleBinding = new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false);
    public static readonly ApiResource Lease = new("coordination.k8s.io", "v1", "leases", "Lease", true);
    public static readonly ApiResource CertificateSigningRequest = new("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", false);

    /// <summary>ApiVersion is "v1" or "group/version".</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>Path is the REST path of the collection (namespace ignored for cluster-scoped types).</summary>
    public string Path(string? ns, string? name = null)
    {
        var prefix = Group.Length == 0 ? $"/api/{Version}" : $"/apis/{Group}/{Version}";
        var nsPart = Namespaced && !string.IsNullOrEmpty(ns) ? $"/namespaces/{Uri.EscapeDataString(ns)}" : "";
        var namePart = name is null ? "" : "/" + Uri.EscapeDataString(name);
        return $"{prefix}{nsPart}/{Plural}{namePart}";
    }

    /// <summary>ForKind finds the resource of an object's apiVersion and kind.</summary>
    public static ApiResource? ForKind(string apiVersion, string kind) =>
        Known.FirstOrDefault(r => r.ApiVersion == apiVersion && r.Kind == kind);

    public static IReadOnlyList<ApiResource> Known { get; } =
    [
        Namespace, ConfigMap, Secret, ServiceAccount, Service, Node, Pod, Deployment, DaemonSet, Role, RoleBinding,
        ClusterRole, ClusterRoleBinding, Lease, CertificateSigningRequest,
    ];
}

/// <summary>ApiException is a non-2xx answer of the API server, with its HTTP status and Status reason.</summary>
public sealed class ApiException(int status, string reason, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Reason { get; } = reason;
    public bool IsNotFound => Status == 404;
    public bool IsConflict => Status == 409;
    public bool IsForbidden => Status == 403;
}

/// <summary>IKubeApi is the Kubernetes API port: generic JSON REST on the resources Kubeforge uses. The real
/// implementation talks HTTPS (client built by KubernetesClient from a kubeconfig); the dry-run one prints
/// what it would do.</summary>
public interface IKubeApi
{
    /// <summary>GetAsync returns the object, or null when it does not exist.</summary>
    Task<JsonObject?> GetAsync(ApiResource r, string? ns, string name, CancellationToken ct = default);

    /// <summary>ListAsync returns the items of a collection (optionally filtered by a label selector).</summary>
    Task<IReadOnlyList<JsonObject>> ListAsync(ApiResource r, string? ns, string? labelSelector = null, CancellationToken ct = default);

    /// <summary>CreateAsync creates the object (metadata.namespace picks the namespace); 409 → ApiException.</summary>
    Task<JsonObject> CreateAsync(ApiResource r, JsonObject obj, CancellationToken ct = default);

    /// <summary>UpdateAsync replaces the object (PUT); a stale resourceVersion gives 409.</summary>
    Task<JsonObject> UpdateAsync(ApiResource r, JsonObject obj, CancellationToken ct = default);

    /// <summary>PatchAsync sends a patch; contentType is application/merge-patch+json, application/strategic-merge-patch+json or application/json-patch+json.</summary>
    Task<JsonObject> PatchAsync(ApiResource r, string? ns, string name, string patch, string contentType, CancellationToken ct = default);

    /// <summary>DeleteAsync deletes the object; returns false when it did not exist.</summary>
    Task<bool> DeleteAsync(ApiResource r, string? ns, string name, CancellationToken ct = default);

    /// <summary>GetRawAsync fetches a non-resource path such as /readyz or /version: status code and body.</summary>
    Task<(int Status, string Body)> GetRawAsync(string path, CancellationToken ct = default);
}

/// <summary>KubeApiExtensions are kubeadm's idempotent idioms (util/apiclient/idempotency.go) over the port.</summary>
public static class KubeApiExtensions
{
    /// <summary>CreateOrUpdateAsync creates the object, and on AlreadyExists replaces it unconditionally.</summary>
    public static async Task<JsonObject> CreateOrUpdateAsync(this IKubeApi api, ApiResource r, JsonObject obj, CancellationToken ct = default)
    {
        try
        {
            return await api.CreateAsync(r, (JsonObject)obj.DeepClone(), ct).ConfigureAwait(false);
        }
        catch (ApiException e) when (e.IsConflict)
        {
            var copy = (JsonObject)obj.DeepClone();
            if (copy["metadata"] is JsonObject md)
            {
                md.Remove("resourceVersion");
            }
            return await api.UpdateAsync(r, copy, ct).ConfigureAwait(false);
        }
    }

    /// <summary>CreateIfMissingAsync creates the object unless it exists (kubeadm's CreateOrRetain).</summary>
    public static async Task<JsonObject?> CreateIfMissingAsync(this IKubeApi api, ApiResource r, JsonObject obj, CancellationToken ct = default)
    {
        try
        {
            return await api.CreateAsync(r, (JsonObject)obj.DeepClone(), ct).ConfigureAwait(false);
        }
        catch (ApiException e) when (e.IsConflict)
        {
            return null;
        }
    }

    /// <summary>Name reads metadata.name.</summary>
    public static string Name(this JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? "";

    /// <summary>Namespace reads metadata.namespace.</summary>
    public static string? Namespace(this JsonObject obj) => obj["metadata"]?["namespace"]?.GetValue<string>();
}
