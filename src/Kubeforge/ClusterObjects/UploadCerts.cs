using System.Text.Json.Nodes;
using Kubeforge.Config;
using Kubeforge.Phases;
using Kubeforge.Tokens;
using static Kubeforge.ClusterObjects.K8sObjects;

namespace Kubeforge.ClusterObjects;

/// <summary>UploadCerts renders kube-system/kubeadm-certs (spec §10.2): the shared CA material, each value encrypted
/// with the certificate key, owned by a short-lived bootstrap-token Secret so it is garbage-collected with it.</summary>
public static class UploadCerts
{
    public const string SecretName = "kubeadm-certs";
    public const string RbacName = "kubeadm:kubeadm-certs";
    public const string ProxyTokenDescription = "Proxy for managing TTL for the kubeadm-certs secret";
    public static readonly TimeSpan ProxyTokenTtl = TimeSpan.FromHours(2);

    /// <summary>Files lists (data key, node path) in kubeadm's order: ca.crt, ca.key, front-proxy-ca.crt/.key, sa.pub,
    /// sa.key, then etcd-ca.crt/.key (local etcd) or external-etcd-ca.crt, external-etcd.crt, external-etcd.key.</summary>
    public static IReadOnlyList<(string Key, string Path)> Files(KubeadmConfig cfg)
    {
        var d = cfg.CertDir;
        var list = new List<(string, string)>();
        foreach (var name in new[] { "ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.pub", "sa.key" })
        {
            list.Add((name, $"{d}/{name}"));
        }
        if (cfg.Cluster.Etcd.External is { } ext)
        {
            list.Add(("external-etcd-ca.crt", ext.CaFile));
            list.Add(("external-etcd.crt", ext.CertFile));
            list.Add(("external-etcd.key", ext.KeyFile));
        }
        else
        {
            list.Add(("etcd/ca.crt".Replace('/', '-'), $"{d}/etcd/ca.crt"));
            list.Add(("etcd/ca.key".Replace('/', '-'), $"{d}/etcd/ca.key"));
        }
        return list;
    }

    /// <summary>ProxyTokenSpec is the bootstrap token whose Secret owns kubeadm-certs: TTL 2h, the fixed description, no usages or groups.</summary>
    public static BootstrapTokenSpec ProxyTokenSpec() => new() { Description = ProxyTokenDescription, Ttl = ProxyTokenTtl, Usages = [], Groups = [] };

    /// <summary>Secret builds kubeadm-certs: value = encrypt(file bytes) for each file, empty when the file is missing (null),
    /// with a controller ownerReference to the token Secret (name, uid).</summary>
    public static JsonObject Secret(IReadOnlyList<(string Key, byte[]? Content)> files, Func<byte[], byte[]> encrypt, string ownerName, string ownerUid)
    {
        var md = Meta(SecretName, KubeSystem);
        md["ownerReferences"] = new JsonArray(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["name"] = ownerName,
            ["uid"] = ownerUid,
            ["controller"] = true,
            ["blockOwnerDeletion"] = true,
        });
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = md,
            ["data"] = StringMap(files.Select(f => new KeyValuePair<string, string>(f.Key,
                f.Content is null ? "" : Convert.ToBase64String(encrypt(f.Content))))),
        };
    }

    /// <summary>Rbac is Role + RoleBinding kubeadm:kubeadm-certs: bootstrap tokens may get the Secret.</summary>
    public static JsonObject[] Rbac() =>
    [
        Role(KubeSystem, RbacName, Rule(["get"], "", ["secrets"], [SecretName])),
        RoleBinding(KubeSystem, RbacName, RbacName, Group(BootstrapGroup)),
    ];
}

/// <summary>UploadCertsPhase is "init phase upload-certs" (run only with --upload-certs).</summary>
public static class UploadCertsPhase
{
    /// <summary>RunAsync creates the proxy token, the encrypted Secret and its RBAC, then prints the certificate key
    /// (as kubeadm does) unless skipCertificateKeyPrint.</summary>
    public static async Task RunAsync(PhaseContext ctx, IKubeApi api, Func<byte[], byte[]> encrypt, string certificateKeyHex,
        bool skipCertificateKeyPrint, CancellationToken ct)
    {
        ctx.Ui.Info("upload-certs", $"Storing the certificates in Secret \"{UploadCerts.SecretName}\" in the \"{KubeSystem}\" Namespace");
        var token = BootstrapToken.Generate();
        var tokenSecret = BootstrapTokens.Secret(token, UploadCerts.ProxyTokenSpec(), ctx.Time.GetUtcNow());
        await Apply.CreateOrUpdateAsync(api, tokenSecret, ct).ConfigureAwait(false);
        var created = await api.GetAsync(ApiResource.Secret, KubeSystem, token.SecretName, ct).ConfigureAwait(false);
        var uid = created?["metadata"]?["uid"]?.GetValue<string>() ?? "";

        var files = new List<(string, byte[]?)>();
        foreach (var (key, path) in UploadCerts.Files(ctx.Config))
        {
            files.Add((key, await ctx.Host.ReadFileAsync(path, ct).ConfigureAwait(false)));
        }
        await Apply.CreateOrUpdateAsync(api, UploadCerts.Secret(files, encrypt, token.SecretName, uid), ct).ConfigureAwait(false);
        await Apply.AllAsync(api, UploadCerts.Rbac(), ct).ConfigureAwait(false);
        ctx.Ui.Info("upload-certs", "Using certificate key:");
        ctx.Ui.Raw((skipCertificateKeyPrint ? JoinCommand.Withheld : certificateKeyHex) + "\n");
    }
}
