using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.Tokens;
using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.Tests.ClusterObjects;

public class RenderTests
{
    private static string S(JsonNode? n) => n!.GetValue<string>();

    private static string Sha(params string[] values)
    {
        var all = Encoding.UTF8.GetBytes(string.Concat(values));
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(all));
    }

    [Fact]
    public void KubeadmConfigMapAndRbac()
    {
        var cm = UploadConfig.KubeadmConfigMap("kind: ClusterConfiguration\n");
        Assert.Equal("kube-system", cm.Namespace());
        Assert.Equal("kubeadm-config", cm.Name());
        Assert.Equal("kind: ClusterConfiguration\n", S(cm["data"]!["ClusterConfiguration"]));
        var rbac = UploadConfig.KubeadmConfigRbac();
        Assert.Equal("kubeadm:nodes-kubeadm-config", rbac[0].Name());
        Assert.Equal("""[{"verbs":["get"],"apiGroups":[""],"resources":["configmaps"],"resourceNames":["kubeadm-config"]}]""", rbac[0]["rules"]!.ToJsonString());
        Assert.Equal(["system:bootstrappers:kubeadm:default-node-token", "system:nodes"], rbac[1]["subjects"]!.AsArray().Select(s => S(s!["name"])));
        Assert.Equal("Role", S(rbac[1]["roleRef"]!["kind"]));
    }

    [Theory]
    [InlineData("v1.22.3", "kubelet-config-1.22", "kubeadm:kubelet-config-1.22")]
    [InlineData("v1.24.0", "kubelet-config", "kubeadm:kubelet-config")]
    [InlineData("v1.37.0", "kubelet-config", "kubeadm:kubelet-config")]
    public void KubeletConfigMapNameAndHash(string version, string cmName, string roleName)
    {
        var p = TestEnv.Config(version).Profile;
        const string yaml = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n";
        var cm = UploadConfig.KubeletConfigMap(p, yaml);
        Assert.Equal(cmName, cm.Name());
        Assert.Equal(yaml, S(cm["data"]!["kubelet"]));
        Assert.Equal(Sha(yaml), S(cm["metadata"]!["annotations"]!["kubeadm.kubernetes.io/component-config.hash"]));
        Assert.Null(UploadConfig.KubeletConfigMap(p, yaml, userSupplied: true)["metadata"]!["annotations"]);
        var rbac = UploadConfig.KubeletConfigRbac(p);
        Assert.Equal(roleName, rbac[0].Name());
        Assert.Equal(cmName, S(rbac[0]["rules"]![0]!["resourceNames"]![0]));
        Assert.Equal(["system:nodes", "system:bootstrappers:kubeadm:default-node-token"], rbac[1]["subjects"]!.AsArray().Select(s => S(s!["name"])));
    }

    [Fact]
    public void HashUsesSortedKeysThenBinaryData()
    {
        var cm = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "x" },
            ["data"] = new JsonObject { ["b"] = "2", ["a"] = "1" },
            ["binaryData"] = new JsonObject { ["z"] = Convert.ToBase64String("3"u8.ToArray()) },
        };
        Assert.Equal(Sha("1", "2", "3"), K8sObjects.ConfigMapHash(cm));
    }

    [Theory]
    [InlineData("v1.22.3", "node-role.kubernetes.io/master", "node-role.kubernetes.io/master:NoSchedule")]
    [InlineData("v1.24.0", null, "node-role.kubernetes.io/master:NoSchedule,node-role.kubernetes.io/control-plane:NoSchedule")]
    [InlineData("v1.25.0", null, "node-role.kubernetes.io/control-plane:NoSchedule")]
    [InlineData("v1.37.0", null, "node-role.kubernetes.io/control-plane:NoSchedule")]
    public void MarkControlPlaneKeepsExistingTaintsAndSendsWholeList(string version, string? masterLabel, string taints)
    {
        var cfg = TestEnv.Config(version);
        var node = (JsonObject)JsonNode.Parse("""{"metadata":{"name":"master1","labels":{"kubernetes.io/os":"linux"}},"spec":{"taints":[{"key":"custom","value":"x","effect":"NoExecute"}]}}""")!;
        var patch = (JsonObject)JsonNode.Parse(MarkControlPlane.Patch(node, cfg.Profile.ControlPlaneLabels, MarkControlPlane.Taints(cfg))!)!;
        var labels = ((JsonObject)patch["metadata"]!["labels"]!).Select(kv => kv.Key).ToList();
        Assert.Contains("node-role.kubernetes.io/control-plane", labels);
        Assert.Contains("node.kubernetes.io/exclude-from-external-load-balancers", labels);
        Assert.Equal(masterLabel is not null, labels.Contains("node-role.kubernetes.io/master"));
        Assert.All(((JsonObject)patch["metadata"]!["labels"]!), kv => Assert.Equal("", S(kv.Value)));
        var list = patch["spec"]!["taints"]!.AsArray();
        Assert.Equal("custom", S(list[0]!["key"]));
        Assert.Equal(taints, string.Join(',', list.Skip(1).Select(t => $"{S(t!["key"])}:{S(t["effect"])}")));
    }

    [Fact]
    public void MarkControlPlaneHonoursEmptyTaintListAndIsQuietWhenDone()
    {
        var cfg = TestEnv.Config("v1.37.0", c => c.Init.NodeRegistration.Taints = []);
        var node = (JsonObject)JsonNode.Parse("""{"metadata":{"name":"m"}}""")!;
        var patch = (JsonObject)JsonNode.Parse(MarkControlPlane.Patch(node, cfg.Profile.ControlPlaneLabels, MarkControlPlane.Taints(cfg))!)!;
        Assert.Null(patch["spec"]);
        node["metadata"]!["labels"] = patch["metadata"]!["labels"]!.DeepClone();
        Assert.Null(MarkControlPlane.Patch(node, cfg.Profile.ControlPlaneLabels, []));
        Assert.Equal("[node-role.kubernetes.io/master(deprecated) node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]",
            MarkControlPlane.LabelsForLog(TestEnv.Config("v1.22.3").Profile));
    }

    [Fact]
    public void TokenSecretMatchesSpec()
    {
        var spec = new Kubeforge.Config.BootstrapTokenSpec();
        var s = BootstrapTokens.Secret(new BootstrapToken("abcdef", "0123456789abcdef"), spec, TestEnv.Now);
        Assert.Equal("bootstrap-token-abcdef", s.Name());
        Assert.Equal("kube-system", s.Namespace());
        Assert.Equal("bootstrap.kubernetes.io/token", S(s["type"]));
        var data = ((JsonObject)s["data"]!).ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(Convert.FromBase64String(S(kv.Value))));
        Assert.Equal(new Dictionary<string, string>
        {
            ["token-id"] = "abcdef",
            ["token-secret"] = "0123456789abcdef",
            ["expiration"] = "2026-11-27T23:45:45Z",
            ["usage-bootstrap-signing"] = "true",
            ["usage-bootstrap-authentication"] = "true",
            ["auth-extra-groups"] = "system:bootstrappers:kubeadm:default-node-token",
        }, data);
        spec.Description = "hello";
        spec.Ttl = TimeSpan.Zero;
        var s2 = BootstrapTokens.Secret(new BootstrapToken("abcdef", "0123456789abcdef"), spec, TestEnv.Now);
        Assert.NotNull(s2["data"]!["description"]);
        Assert.Null(s2["data"]!["expiration"]);
        var back = BootstrapTokens.FromSecret(s)!.Value;
        Assert.Equal("abcdef.0123456789abcdef", back.Token.ToString());
        Assert.Equal(["authentication", "signing"], back.Spec.Usages);
        Assert.Equal(TestEnv.Now.AddHours(24), back.Spec.Expires);
    }

    [Fact]
    public void NodeBootstrapRbacMatchesSection9()
    {
        var objs = BootstrapTokens.NodeBootstrapRbac().ToDictionary(o => $"{S(o["kind"])}/{o.Name()}");
        string Ref(string k) => S(objs[k]["roleRef"]!["name"]);
        string Sub(string k) => string.Join(',', objs[k]["subjects"]!.AsArray().Select(s => $"{S(s!["kind"])}:{S(s["name"])}"));
        Assert.Equal("system:node-bootstrapper", Ref("ClusterRoleBinding/kubeadm:kubelet-bootstrap"));
        Assert.Equal("Group:system:bootstrappers:kubeadm:default-node-token", Sub("ClusterRoleBinding/kubeadm:kubelet-bootstrap"));
        Assert.Equal("kubeadm:get-nodes", Ref("ClusterRoleBinding/kubeadm:get-nodes"));
        Assert.Equal("""[{"verbs":["get"],"apiGroups":[""],"resources":["nodes"]}]""", objs["ClusterRole/kubeadm:get-nodes"]["rules"]!.ToJsonString());
        Assert.Equal("system:certificates.k8s.io:certificatesigningrequests:nodeclient", Ref("ClusterRoleBinding/kubeadm:node-autoapprove-bootstrap"));
        Assert.Equal("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", Ref("ClusterRoleBinding/kubeadm:node-autoapprove-certificate-rotation"));
        Assert.Equal("Group:system:nodes", Sub("ClusterRoleBinding/kubeadm:node-autoapprove-certificate-rotation"));
        var ca = ClusterAdmins.Binding();
        Assert.Equal("cluster-admin", S(ca["roleRef"]!["name"]));
        Assert.Equal("kubeadm:cluster-admins", S(ca["subjects"]![0]!["name"]));
    }

    [Fact]
    public void ClusterInfoKubeconfigIsClusterOnly()
    {
        var ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"u8.ToArray();
        var text = ClusterInfo.Kubeconfig("https://192.168.10.100:6443", ca);
        Assert.Equal(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: " + Convert.ToBase64String(ca) +
            "\n    server: https://192.168.10.100:6443\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n", text);
        var cm = ClusterInfo.ConfigMap("https://192.168.10.100:6443", ca);
        Assert.Equal("kube-public", cm.Namespace());
        Assert.Equal(["kubeconfig"], ((JsonObject)cm["data"]!).Select(kv => kv.Key));
        var rbac = ClusterInfo.Rbac();
        Assert.Equal("kubeadm:bootstrap-signer-clusterinfo", rbac[0].Name());
        Assert.Equal("cluster-info", S(rbac[0]["rules"]![0]!["resourceNames"]![0]));
        Assert.Equal("User", S(rbac[1]["subjects"]![0]!["kind"]));
        Assert.Equal("system:anonymous", S(rbac[1]["subjects"]![0]!["name"]));
    }

    [Fact]
    public void JwsMatchesIndependentHmac()
    {
        const string content = "apiVersion: v1\nkind: Config\n";
        var jws = Jws.DetachedSign(content, "07401b", "f395accd246ae52d");
        var parts = jws.Split('.');
        Assert.Equal(3, parts.Length);
        Assert.Equal("", parts[1]);
        Assert.Equal("eyJhbGciOiJIUzI1NiIsImtpZCI6IjA3NDAxYiJ9", parts[0]);
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        using var h = new HMACSHA256(Encoding.ASCII.GetBytes("f395accd246ae52d"));
        var mac = h.ComputeHash(Encoding.ASCII.GetBytes(parts[0] + "." + B64(Encoding.UTF8.GetBytes(content))));
        Assert.Equal(B64(mac), parts[2]);
        Assert.True(Jws.Verify(content, jws, "07401b", "f395accd246ae52d"));
        Assert.False(Jws.Verify(content + " ", jws, "07401b", "f395accd246ae52d"));
        Assert.False(Jws.Verify(content, jws, "07401b", "0000000000000000"));
    }

    [Fact]
    public void UploadCertsSecretShape()
    {
        var cfg = TestEnv.Config("v1.22.3");
        var files = UploadCerts.Files(cfg);
        Assert.Equal(["ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.pub", "sa.key", "etcd-ca.crt", "etcd-ca.key"], files.Select(f => f.Key));
        Assert.Equal("/etc/kubernetes/pki/etcd/ca.key", files[^1].Path);
        var ext = TestEnv.Config("v1.37.0", c => c.Cluster.Etcd.External = new Kubeforge.Config.ExternalEtcd { CaFile = "/e/ca", CertFile = "/e/c", KeyFile = "/e/k" });
        Assert.Equal(["external-etcd-ca.crt", "external-etcd.crt", "external-etcd.key"], UploadCerts.Files(ext).Skip(6).Select(f => f.Key));
        var secret = UploadCerts.Secret([("ca.crt", "abc"u8.ToArray()), ("sa.key", null)], b => [.. b.Reverse()], "bootstrap-token-qwerty", "uid-1");
        Assert.Equal(Convert.ToBase64String("cba"u8.ToArray()), S(secret["data"]!["ca.crt"]));
        Assert.Equal("", S(secret["data"]!["sa.key"]));
        Assert.Null(secret["type"]);
        Assert.Equal("""[{"apiVersion":"v1","kind":"Secret","name":"bootstrap-token-qwerty","uid":"uid-1","controller":true,"blockOwnerDeletion":true}]""",
            secret["metadata"]!["ownerReferences"]!.ToJsonString());
        var spec = UploadCerts.ProxyTokenSpec();
        Assert.Equal("Proxy for managing TTL for the kubeadm-certs secret", spec.Description);
        Assert.Equal(TimeSpan.FromHours(2), spec.Ttl);
        Assert.Empty(spec.Usages);
        Assert.Equal("kubeadm:kubeadm-certs", UploadCerts.Rbac()[0].Name());
        Assert.Equal("secrets", S(UploadCerts.Rbac()[0]["rules"]![0]!["resources"]![0]));
    }

    [Theory]
    [InlineData("10.96.0.0/12", 10, "10.96.0.10")]
    [InlineData("10.96.0.0/12", 1, "10.96.0.1")]
    [InlineData("172.16.5.7/24", 10, "172.16.5.10")]
    [InlineData("fd00:10:96::/112", 10, "fd00:10:96::a")]
    [InlineData("fd00::/108,10.96.0.0/12", 10, "fd00::a")]
    public void NthAddress(string cidr, int n, string expected) =>
        Assert.Equal(expected, CidrMath.IndexedIp(CidrMath.FirstCidr(cidr), n).ToString());

    [Fact]
    public void NthAddressRejectsTinySubnet() =>
        Assert.Throws<Kubeforge.Phases.UserError>(() => CidrMath.IndexedIp("10.0.0.0/29", 10));
}
