using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.Yaml;
using static Kubeforge.ClusterObjects.K8sObjects;

namespace Kubeforge.ClusterObjects;

/// <summary>ClusterInfo renders kube-public/cluster-info (spec §7.1): a kubeconfig holding only the cluster (empty
/// name, server, certificate-authority-data), written the way client-go's clientcmd.Write marshals such a Config.</summary>
public static class ClusterInfo
{
    public const string ConfigMapName = "cluster-info";
    public const string KubeconfigKey = "kubeconfig";
    public const string RbacName = "kubeadm:bootstrap-signer-clusterinfo";

    /// <summary>Kubeconfig is the cluster-only kubeconfig text: apiVersion, clusters [{cluster, name: ""}],
    /// contexts: null, current-context: "", kind: Config, preferences: {}, users: null.</summary>
    public static string Kubeconfig(string server, byte[] caPem)
    {
        var cluster = new YMap();
        cluster.Add("certificate-authority-data", Convert.ToBase64String(caPem));
        cluster.Add("server", server);
        var entry = new YMap();
        entry.Add("cluster", cluster);
        entry.Add("name", "");
        var root = new YMap();
        root.Add("apiVersion", "v1");
        root.Add("clusters", YSeq.Of(entry));
        root.Add("contexts", YScalar.Null());
        root.Add("current-context", "");
        root.Add("kind", "Config");
        root.Add("preferences", new YMap());
        root.Add("users", YScalar.Null());
        return GoYamlWriter.Write(root);
    }

    /// <summary>ConfigMap is kube-public/cluster-info with only the kubeconfig key (the controller-manager's bootstrap
    /// signer adds the jws-kubeconfig-&lt;id&gt; keys).</summary>
    public static JsonObject ConfigMap(string server, byte[] caPem) =>
        K8sObjects.ConfigMap(KubePublic, ConfigMapName, [new(KubeconfigKey, Kubeconfig(server, caPem))]);

    /// <summary>Rbac is Role + RoleBinding kubeadm:bootstrap-signer-clusterinfo: system:anonymous may get cluster-info.</summary>
    public static JsonObject[] Rbac() =>
    [
        Role(KubePublic, RbacName, Rule(["get"], "", ["configmaps"], [ConfigMapName])),
        RoleBinding(KubePublic, RbacName, RbacName, User("system:anonymous")),
    ];

    /// <summary>ApplyAsync creates cluster-info, or rewrites it only when its kubeconfig differs (keeping the signer's
    /// jws keys otherwise), then applies the RBAC.</summary>
    public static async Task ApplyAsync(IKubeApi api, string server, byte[] caPem, CancellationToken ct)
    {
        var cm = ConfigMap(server, caPem);
        var existing = await api.GetAsync(ApiResource.ConfigMap, KubePublic, ConfigMapName, ct).ConfigureAwait(false);
        if (existing?["data"]?[KubeconfigKey]?.GetValue<string>() != cm["data"]![KubeconfigKey]!.GetValue<string>())
        {
            await Apply.CreateOrUpdateAsync(api, cm, ct).ConfigureAwait(false);
        }
        await Apply.AllAsync(api, Rbac(), ct).ConfigureAwait(false);
    }
}

/// <summary>Jws is the detached JWS of cluster-bootstrap (spec §7.2): HS256 keyed with the token secret, protected
/// header {"alg":"HS256","kid":"&lt;token-id&gt;"}, payload removed ("header..signature").</summary>
public static class Jws
{
    /// <summary>DetachedSign signs content with the token and returns "&lt;b64url(header)&gt;..&lt;b64url(mac)&gt;".</summary>
    public static string DetachedSign(string content, string tokenId, string tokenSecret)
    {
        var header = B64Url(Encoding.UTF8.GetBytes($"{{\"alg\":\"HS256\",\"kid\":\"{tokenId}\"}}"));
        var input = header + "." + B64Url(Encoding.UTF8.GetBytes(content));
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(tokenSecret), Encoding.ASCII.GetBytes(input));
        return header + ".." + B64Url(mac);
    }

    /// <summary>Verify recomputes the signature and compares in constant time (DetachedTokenIsValid).</summary>
    public static bool Verify(string content, string detachedJws, string tokenId, string tokenSecret) =>
        CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(DetachedSign(content, tokenId, tokenSecret)), Encoding.ASCII.GetBytes(detachedJws));

    /// <summary>B64Url is base64url without padding.</summary>
    public static string B64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>ClusterAdmins is the kubeadm:cluster-admins ClusterRoleBinding of v1.29+ (spec §9, Refinements): created with
/// admin.conf, or with super-admin.conf when admin.conf is not yet allowed to.</summary>
public static class ClusterAdmins
{
    public const string Name = "kubeadm:cluster-admins";

    /// <summary>Binding binds ClusterRole cluster-admin to Group kubeadm:cluster-admins.</summary>
    public static JsonObject Binding() => ClusterRoleBinding(Name, "cluster-admin", Group(Name));

    /// <summary>EnsureAsync creates the binding with the admin client; AlreadyExists is success; Forbidden falls back to the
    /// super-admin client. Returns "admin", "super-admin" or "exists".</summary>
    public static async Task<string> EnsureAsync(IKubeApi admin, IKubeApi superAdmin, CancellationToken ct)
    {
        try
        {
            await admin.CreateAsync(ApiResource.ClusterRoleBinding, Binding(), ct).ConfigureAwait(false);
            return "admin";
        }
        catch (ApiException e) when (e.IsConflict)
        {
            return "exists";
        }
        catch (ApiException e) when (e.IsForbidden)
        {
            try
            {
                await superAdmin.CreateAsync(ApiResource.ClusterRoleBinding, Binding(), ct).ConfigureAwait(false);
                return "super-admin";
            }
            catch (ApiException e2) when (e2.IsConflict)
            {
                return "exists";
            }
        }
    }
}
