using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using static Kubeforge.IntegrationTests.TestApiServer.ApiServerHarness;

namespace Kubeforge.IntegrationTests.TestApiServer;

public class ControllerTests
{
    private const string Kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n";

    private static string B64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string ExpectedJws(string id, string secret)
    {
        var header = B64Url(Encoding.UTF8.GetBytes("{\"alg\":\"HS256\",\"kid\":\"" + id + "\"}"));
        using var hmac = new HMACSHA256(Encoding.ASCII.GetBytes(secret));
        var mac = hmac.ComputeHash(Encoding.ASCII.GetBytes(header + "." + B64Url(Encoding.UTF8.GetBytes(Kubeconfig))));
        return header + ".." + B64Url(mac);
    }

    [Fact]
    public async Task BootstrapSignerSignsClusterInfoAndRemovesDeletedTokens()
    {
        await using var h = await StartAsync();
        h.Store.Put(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "cluster-info", ["namespace"] = "kube-public" },
            ["data"] = new JsonObject { ["kubeconfig"] = Kubeconfig },
        });
        h.SeedToken("abcdef", "0123456789abcdef", DateTimeOffset.UtcNow.AddHours(1));
        h.SeedToken("nosign", "0123456789abcdef", signing: false);
        h.SeedToken("expird", "0123456789abcdef", DateTimeOffset.UtcNow.AddMinutes(-1));
        JsonNode? Data() => h.Store.Get("configmaps", "kube-public", "cluster-info")!["data"];

        Assert.True(await Eventually(() => Data()?["jws-kubeconfig-abcdef"] != null));
        var jws = (string)Data()!["jws-kubeconfig-abcdef"]!;
        Assert.Equal(ExpectedJws("abcdef", "0123456789abcdef"), jws);
        Assert.StartsWith("eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..", jws);
        Assert.Null(Data()!["jws-kubeconfig-nosign"]);
        Assert.Null(Data()!["jws-kubeconfig-expird"]);

        h.Store.Delete("secrets", "kube-system", "bootstrap-token-abcdef");
        Assert.True(await Eventually(() => Data()?["jws-kubeconfig-abcdef"] == null));
        Assert.Equal(Kubeconfig, (string?)Data()!["kubeconfig"]);
    }

    private static JsonObject Csr(ECDsa key, string cn, string[] orgs, string[] usages, bool withSan = false)
    {
        var req = new CertificateRequest(ThrowawayPki.Subject(cn, orgs), key, HashAlgorithmName.SHA256);
        if (withSan)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("worker1");
            req.CertificateExtensions.Add(san.Build());
        }
        var pem = req.CreateSigningRequestPem();
        return new JsonObject
        {
            ["apiVersion"] = "certificates.k8s.io/v1", ["kind"] = "CertificateSigningRequest",
            ["metadata"] = new JsonObject { ["generateName"] = "csr-" },
            ["spec"] = new JsonObject
            {
                ["request"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(pem)),
                ["signerName"] = "kubernetes.io/kube-apiserver-client-kubelet",
                ["usages"] = new JsonArray(usages.Select(u => (JsonNode)JsonValue.Create(u)).ToArray()),
            },
        };
    }

    private static void Bind(ApiServerHarness h, string name, string clusterRole) => h.Store.Put(new JsonObject
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRoleBinding",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = clusterRole },
        ["subjects"] = new JsonArray(new JsonObject
            { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Group", ["name"] = "system:bootstrappers:kubeadm:default-node-token" }),
    });

    [Fact]
    public async Task KubeletClientCsrIsAutoApprovedAndSigned()
    {
        await using var h = await StartAsync();
        h.SeedToken("abcdef", "0123456789abcdef");
        Bind(h, "kubeadm:kubelet-bootstrap", "system:node-bootstrapper");
        Bind(h, "kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient");
        var tok = h.Client(token: "abcdef.0123456789abcdef");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (code, created) = await SendAsync(tok, HttpMethod.Post, "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            Csr(key, "system:node:worker1", ["system:nodes"], ["digital signature", "key encipherment", "client auth"]));
        Assert.Equal(HttpStatusCode.Created, code);
        var name = (string)created!["metadata"]!["name"]!;
        Assert.StartsWith("csr-", name);
        Assert.Equal("system:bootstrap:abcdef", (string?)created["spec"]!["username"]);

        JsonObject? current = null;
        Assert.True(await Eventually(() =>
        {
            current = h.Store.Get("certificatesigningrequests", null, name);
            return !string.IsNullOrEmpty((string?)current?["status"]?["certificate"]);
        }));
        var cond = current!["status"]!["conditions"]![0]!;
        Assert.Equal("Approved", (string?)cond["type"]);
        Assert.Equal("AutoApproved", (string?)cond["reason"]);

        // The requester can read its CSR and the issued certificate authenticates as the node.
        var (getCode, fetched) = await GetAsync(tok, "/apis/certificates.k8s.io/v1/certificatesigningrequests/" + name);
        Assert.Equal(HttpStatusCode.OK, getCode);
        var certPem = Encoding.ASCII.GetString(Convert.FromBase64String((string)fetched!["status"]!["certificate"]!));
        using var issued = X509Certificate2.CreateFromPem(certPem);
        Assert.Equal(h.Pki.Ca.Subject, issued.Issuer);
        var (user, groups) = await WhoAmI(h.Client(X509Certificate2.CreateFromPem(certPem, key.ExportPkcs8PrivateKeyPem())));
        Assert.Equal("system:node:worker1", user);
        Assert.Equal(new[] { "system:nodes", "system:authenticated" }, groups);
    }

    [Fact]
    public async Task CsrIsNotApprovedWithoutTheNodeclientRightOrWithSans()
    {
        await using var h = await StartAsync();
        h.SeedToken("abcdef", "0123456789abcdef");
        Bind(h, "kubeadm:kubelet-bootstrap", "system:node-bootstrapper");
        var tok = h.Client(token: "abcdef.0123456789abcdef");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (_, noRight) = await SendAsync(tok, HttpMethod.Post, "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            Csr(key, "system:node:worker1", ["system:nodes"], ["digital signature", "client auth"]));
        await Task.Delay(800); // several controller cycles
        Assert.Null(h.Store.Get("certificatesigningrequests", null, (string)noRight!["metadata"]!["name"]!)!["status"]?["conditions"]);
        Bind(h, "kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient");
        var (_, withSan) = await SendAsync(tok, HttpMethod.Post, "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            Csr(key, "system:node:worker1", ["system:nodes"], ["digital signature", "client auth"], withSan: true));
        var (_, good) = await SendAsync(tok, HttpMethod.Post, "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            Csr(key, "system:node:worker1", ["system:nodes"], ["digital signature", "client auth"]));
        string Name(JsonNode? n) => (string)n!["metadata"]!["name"]!;
        Assert.True(await Eventually(() => h.Store.Get("certificatesigningrequests", null, Name(good))!["status"]?["certificate"] != null));
        // The first CSR is approved too once the binding exists (the approver re-checks every sync); the SAN one never is.
        Assert.Null(h.Store.Get("certificatesigningrequests", null, Name(withSan))!["status"]?["conditions"]);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(tok, HttpMethod.Put,
            $"/apis/certificates.k8s.io/v1/certificatesigningrequests/{Name(noRight)}/approval", noRight)).Code);
    }
}
