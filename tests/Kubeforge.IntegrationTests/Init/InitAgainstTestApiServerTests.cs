using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.Cli;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.TestApiServer;

namespace Kubeforge.IntegrationTests.Init;

/// <summary>InitAgainstTestApiServerTests run the whole "kubeforge init" on a --rootfs against the project's test
/// API server (a test double of kube-apiserver: HTTPS with the generated apiserver certificate, client-cert and
/// bootstrap-token authentication, RBAC) and read back every object kubeadm creates (spec/kubeadm.md §6–§12).
/// The checks recompute hashes, signatures and ciphertexts independently of the product's code.</summary>
public sealed class InitAgainstTestApiServerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-init-it-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    internal static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string Data(JsonObject obj, string key) =>
        Encoding.UTF8.GetString(Convert.FromBase64String(obj["data"]![key]!.GetValue<string>()));

    private static string Str(JsonObject obj, string key) => obj["data"]![key]!.GetValue<string>();

    [Theory]
    [InlineData("v1.22.3")]
    [InlineData("v1.37.0")]
    public async Task InitCreatesExactlyKubeadmsObjects(string version)
    {
        await using var cp = await ControlPlaneNode.StartAsync(_root, version, "--image-repository", "registry.aliyuncs.com/google_containers", "--pod-network-cidr", "10.244.0.0/16");
        var common = cp.Flags;
        var server = cp.Server;
        var port = server.BaseUri.Port;
        var pki = Path.Join(_root, "etc/kubernetes/pki");

        var (code, output, err) = Cli(["init", "--upload-certs", .. common]);
        Assert.True(code == 0, err + output);
        var store = server.Store;
        var is122 = version == "v1.22.3";

        // kubeadm-config (§10.1)
        var kubeadmConfig = store.Get("configmaps", "kube-system", "kubeadm-config")!;
        Assert.Contains($"apiVersion: kubeadm.k8s.io/{(is122 ? "v1beta3" : "v1beta4")}", Str(kubeadmConfig, "ClusterConfiguration"));
        Assert.Contains("podSubnet: 10.244.0.0/16", Str(kubeadmConfig, "ClusterConfiguration"));

        // kubelet config ConfigMap and its hash annotation (§5.2), computed here
        var kubeletCmName = is122 ? "kubelet-config-1.22" : "kubelet-config";
        var kubeletCm = store.Get("configmaps", "kube-system", kubeletCmName)!;
        var expectedHash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Str(kubeletCm, "kubelet"))));
        Assert.Equal(expectedHash, kubeletCm["metadata"]!["annotations"]!["kubeadm.kubernetes.io/component-config.hash"]!.GetValue<string>());
        Assert.Equal(File.ReadAllText(Path.Join(_root, "var/lib/kubelet/config.yaml")), Str(kubeletCm, "kubelet"));

        // RBAC (§9)
        foreach (var (ns, name) in new[] { ("kube-system", "kubeadm:nodes-kubeadm-config"), ("kube-system", is122 ? "kubeadm:kubelet-config-1.22" : "kubeadm:kubelet-config"),
                     ("kube-system", "kubeadm:kubeadm-certs"), ("kube-system", "kube-proxy"), ("kube-public", "kubeadm:bootstrap-signer-clusterinfo") })
        {
            Assert.NotNull(store.Get("roles", ns, name));
            Assert.NotNull(store.Get("rolebindings", ns, name));
        }
        var crbs = new List<string> { "kubeadm:kubelet-bootstrap", "kubeadm:get-nodes", "kubeadm:node-autoapprove-bootstrap", "kubeadm:node-autoapprove-certificate-rotation", "kubeadm:node-proxier", "system:coredns" };
        if (!is122)
        {
            crbs.Add("kubeadm:cluster-admins");
        }
        foreach (var name in crbs)
        {
            Assert.NotNull(store.Get("clusterrolebindings", null, name));
        }
        Assert.Equal(is122 ? null : "cluster-admin", store.Get("clusterrolebindings", null, "kubeadm:cluster-admins")?["roleRef"]?["name"]?.GetValue<string>());
        var anonymous = store.Get("rolebindings", "kube-public", "kubeadm:bootstrap-signer-clusterinfo")!;
        Assert.Equal("system:anonymous", anonymous["subjects"]![0]!["name"]!.GetValue<string>());

        // bootstrap token Secret (§6) and the join command
        var tokenSecret = store.List("secrets", "kube-system").Single(s => s["type"]?.GetValue<string>() == "bootstrap.kubernetes.io/token" && s["data"]?["usage-bootstrap-signing"] is not null);
        var id = Data(tokenSecret, "token-id");
        var secret = Data(tokenSecret, "token-secret");
        Assert.Matches("^[a-z0-9]{6}$", id);
        Assert.Equal("system:bootstrappers:kubeadm:default-node-token", Data(tokenSecret, "auth-extra-groups"));
        Assert.Equal("true", Data(tokenSecret, "usage-bootstrap-authentication"));
        Assert.Contains($"kubeadm join 127.0.0.1:{port} --token {id}.{secret} \\\n    --discovery-token-ca-cert-hash sha256:", output);

        // the CA hash of the join command equals openssl's
        var pubkey = Proc.MustRun("openssl", "x509", "-in", Path.Join(pki, "ca.crt"), "-noout", "-pubkey");
        var der = Path.Join(_root, "ca.pub.der");
        File.WriteAllText(Path.Join(_root, "ca.pub.pem"), pubkey);
        Proc.MustRun("openssl", "pkey", "-pubin", "-in", Path.Join(_root, "ca.pub.pem"), "-outform", "DER", "-out", der);
        var opensslHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(der)));
        Assert.Contains($"--discovery-token-ca-cert-hash sha256:{opensslHash} ", output);

        // cluster-info and the bootstrap signer's JWS (§7), recomputed here
        Assert.True(Proc.WaitUntil(() => store.Get("configmaps", "kube-public", "cluster-info")?["data"]?[$"jws-kubeconfig-{id}"] is not null, TimeSpan.FromSeconds(10)));
        var clusterInfo = store.Get("configmaps", "kube-public", "cluster-info")!;
        var kubeconfig = Str(clusterInfo, "kubeconfig");
        Assert.Contains($"server: https://127.0.0.1:{port}", kubeconfig);
        var header = B64Url(Encoding.UTF8.GetBytes($$"""{"alg":"HS256","kid":"{{id}}"}"""));
        var mac = HMACSHA256.HashData(Encoding.ASCII.GetBytes(secret), Encoding.ASCII.GetBytes(header + "." + B64Url(Encoding.UTF8.GetBytes(kubeconfig))));
        Assert.Equal($"{header}..{B64Url(mac)}", Str(clusterInfo, $"jws-kubeconfig-{id}"));

        // kubeadm-certs (§10.2): AES-256-GCM, nonce first, decrypts to the files on disk
        var keyHex = output.Split('\n').SkipWhile(l => !l.Contains("Using certificate key:", StringComparison.Ordinal)).Skip(1).First().Trim();
        Assert.Matches("^[0-9a-f]{64}$", keyHex);
        var certs = store.Get("secrets", "kube-system", "kubeadm-certs")!;
        foreach (var (key, file) in new[] { ("ca.crt", "ca.crt"), ("ca.key", "ca.key"), ("front-proxy-ca.key", "front-proxy-ca.key"), ("sa.key", "sa.key"), ("sa.pub", "sa.pub"), ("etcd-ca.key", "etcd/ca.key") })
        {
            var sealedBytes = Convert.FromBase64String(certs["data"]![key]!.GetValue<string>());
            var plain = new byte[sealedBytes.Length - 28];
            using var aes = new AesGcm(Convert.FromHexString(keyHex), 16);
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(12, sealedBytes.Length - 28), sealedBytes.AsSpan(sealedBytes.Length - 16), plain);
            Assert.Equal(File.ReadAllBytes(Path.Join(pki, file)), plain);
        }
        var owner = certs["metadata"]!["ownerReferences"]![0]!;
        Assert.StartsWith("bootstrap-token-", owner["name"]!.GetValue<string>());
        Assert.NotNull(store.Get("secrets", "kube-system", owner["name"]!.GetValue<string>()));

        // mark-control-plane (§11): labels and taints by version, existing taint kept, CRI socket annotation
        var node = store.Get("nodes", null, "cp1")!;
        var labels = node["metadata"]!["labels"]!.AsObject();
        Assert.True(labels.ContainsKey("node-role.kubernetes.io/control-plane"));
        Assert.True(labels.ContainsKey("node.kubernetes.io/exclude-from-external-load-balancers"));
        Assert.Equal(is122, labels.ContainsKey("node-role.kubernetes.io/master"));
        var taints = node["spec"]!["taints"]!.AsArray().Select(t => t!["key"]!.GetValue<string>()).ToList();
        Assert.Contains("example.com/keep", taints);
        Assert.Contains(is122 ? "node-role.kubernetes.io/master" : "node-role.kubernetes.io/control-plane", taints);
        Assert.NotNull(node["metadata"]!["annotations"]!["kubeadm.alpha.kubernetes.io/cri-socket"]);

        // addons (§12): images by the repository rule, DNS service IP
        var coredns = store.Get("deployments", "kube-system", "coredns")!;
        Assert.Equal($"registry.aliyuncs.com/google_containers/coredns:{(is122 ? "v1.8.4" : "v1.14.4")}",
            coredns["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("10.96.0.10", store.Get("services", "kube-system", "kube-dns")!["spec"]!["clusterIP"]!.GetValue<string>());
        var proxy = store.Get("daemonsets", "kube-system", "kube-proxy")!;
        Assert.Equal($"registry.aliyuncs.com/google_containers/kube-proxy:{version}", proxy["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        var proxyCm = store.Get("configmaps", "kube-system", "kube-proxy")!;
        Assert.Contains("clusterCIDR: 10.244.0.0/16", Str(proxyCm, "config.conf"));
        Assert.Contains("tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token", Str(proxyCm, "kubeconfig.conf"));

        // a rerun of the cluster-side phases converges: nothing changes
        var before = store.ResourceVersion;
        foreach (var phase in new[] { "upload-config", "mark-control-plane", "addon" })
        {
            var again = Cli(["init", "phase", phase, .. common]);
            Assert.True(again.Code == 0, again.Err);
        }
        Assert.Equal(before, store.ResourceVersion);

        // the kubelet restart went through the host port and was skipped under --rootfs
        Assert.Contains("[kubelet-start]", output);
    }

    internal static string B64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
