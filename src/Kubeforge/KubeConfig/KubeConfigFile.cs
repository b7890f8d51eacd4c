using System.Text;
using Kubeforge.Phases;
using Kubeforge.Yaml;

namespace Kubeforge.KubeConfig;

/// <summary>KubeConfigView is the current context of a loaded kubeconfig: its cluster and user entries.</summary>
public sealed record KubeConfigView(YMap Document, string CurrentContext, string ClusterName, string UserName, YMap Cluster, YMap User)
{
    /// <summary>Server is the cluster's server URL.</summary>
    public string? Server => Cluster.Str("server");

    /// <summary>CaPem is the decoded certificate-authority-data (null when absent).</summary>
    public string? CaPem => Decode(Cluster.Str("certificate-authority-data"));

    /// <summary>ClientCertPem is the decoded client-certificate-data (null when absent).</summary>
    public string? ClientCertPem => Decode(User.Str("client-certificate-data"));

    /// <summary>ClientKeyPem is the decoded client-key-data (null when absent).</summary>
    public string? ClientKeyPem => Decode(User.Str("client-key-data"));

    private static string? Decode(string? b64) => string.IsNullOrEmpty(b64) ? null : Encoding.UTF8.GetString(Convert.FromBase64String(b64));
}

/// <summary>KubeConfigFile builds and reads kubeconfig files as kubeadm writes them with client-go's clientcmd
/// (spec/kubeadm.md §3): keys sorted, apiVersion v1, kind Config, one cluster, one context "USER@CLUSTER", one
/// user, preferences {}, credentials embedded as base64 of PEM.</summary>
public static class KubeConfigFile
{
    /// <summary>Build returns the bytes of a kubeconfig with one cluster/context/user. The user carries the client
    /// certificate and key when certPem/keyPem are given, and/or a bearer token.</summary>
    public static byte[] Build(string server, string clusterName, string user, string caPem, string? certPem = null, string? keyPem = null, string? token = null)
    {
        var contextName = $"{user}@{clusterName}";
        var userMap = new YMap();
        if (certPem is not null)
        {
            userMap["client-certificate-data"] = B64(certPem);
        }
        if (keyPem is not null)
        {
            userMap["client-key-data"] = B64(keyPem);
        }
        if (token is not null)
        {
            userMap["token"] = token;
        }
        var doc = new YMap
        {
            ["apiVersion"] = "v1",
            ["clusters"] = YSeq.Of(new YMap
            {
                ["cluster"] = new YMap { ["certificate-authority-data"] = B64(caPem), ["server"] = server },
                ["name"] = clusterName,
            }),
            ["contexts"] = YSeq.Of(new YMap
            {
                ["context"] = new YMap { ["cluster"] = clusterName, ["user"] = user },
                ["name"] = contextName,
            }),
            ["current-context"] = contextName,
            ["kind"] = "Config",
            ["preferences"] = new YMap(),
            ["users"] = YSeq.Of(new YMap { ["name"] = user, ["user"] = userMap }),
        };
        return GoYamlWriter.WriteBytes(doc);
    }

    /// <summary>Read parses a kubeconfig and resolves its current context; source names the file in errors.</summary>
    public static KubeConfigView Read(byte[] bytes, string source)
    {
        YMap doc;
        try
        {
            doc = YamlReader.ReadAll(Encoding.UTF8.GetString(bytes), source).FirstOrDefault() as YMap
                ?? throw new UserError($"{source} is not a kubeconfig (empty or not a mapping); delete it to let it be generated again");
        }
        catch (YamlFormatException e)
        {
            throw new UserError($"{source} is not valid YAML ({e.Message}); delete it to let it be generated again");
        }
        var current = doc.Str("current-context") ?? "";
        var ctxEntry = Find(doc, "contexts", current)?.Map("context")
            ?? throw new UserError($"{source}: current-context \"{current}\" is not among its contexts; fix or delete the file");
        var clusterName = ctxEntry.Str("cluster") ?? "";
        var userName = ctxEntry.Str("user") ?? "";
        var cluster = Find(doc, "clusters", clusterName)?.Map("cluster")
            ?? throw new UserError($"{source}: cluster \"{clusterName}\" of the current context is missing; fix or delete the file");
        var user = Find(doc, "users", userName)?.Map("user") ?? new YMap();
        return new KubeConfigView(doc, current, clusterName, userName, cluster, user);
    }

    /// <summary>B64 is standard base64 of the UTF-8 text (how clientcmd embeds []byte data).</summary>
    public static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static YMap? Find(YMap doc, string listKey, string name) =>
        doc.Seq(listKey)?.OfType<YMap>().FirstOrDefault(m => m.Str("name") == name);
}
