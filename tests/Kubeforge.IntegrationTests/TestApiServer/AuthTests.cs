using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using static Kubeforge.IntegrationTests.TestApiServer.ApiServerHarness;

namespace Kubeforge.IntegrationTests.TestApiServer;

public class AuthTests
{
    [Fact]
    public async Task ServesHttpsWithTheGivenCertificate()
    {
        await using var h = await StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, h.Server.BaseUri.Port);
        X509Certificate? seen = null;
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, c, _, _) => { seen = c; return true; });
        await ssl.AuthenticateAsClientAsync("127.0.0.1");
        var expected = X509Certificate2.CreateFromPem(File.ReadAllText(h.Pki.ServingCertFile));
        Assert.Equal(expected.Thumbprint, new X509Certificate2(seen!).Thumbprint);

        var (code, _) = await GetAsync(h.Client(), "/readyz");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("ok", await h.Client().GetStringAsync("livez"));
        Assert.StartsWith("https://127.0.0.1:", h.Server.BaseUri.ToString());
    }

    [Fact]
    public async Task ClientCertificateMapsCommonNameAndOrganizations()
    {
        await using var h = await StartAsync();
        var (user, groups) = await WhoAmI(h.Client(h.Pki.Client("alice", "devs", "ops")));
        Assert.Equal("alice", user);
        Assert.Equal(new[] { "devs", "ops", "system:authenticated" }, groups);

        var (code, body) = await GetAsync(h.Client(h.Pki.Client("alice", "devs")), "/api/v1/nodes");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("nodes is forbidden: User \"alice\" cannot list resource \"nodes\" in API group \"\" at the cluster scope",
            (string?)body!["message"]);
        Assert.Equal("Forbidden", (string?)body["reason"]);
        Assert.Equal(403, (int)body["code"]!);

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(h.Admin(), "/api/v1/nodes")).Code);
    }

    [Fact]
    public async Task CertificateFromAnotherCaIsUnauthorized()
    {
        await using var h = await StartAsync();
        using var otherKey = RSA.Create(2048);
        var req = new CertificateRequest("CN=other-ca", otherKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var otherCa = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7));
        var (code, body) = await GetAsync(h.Client(ThrowawayPki.ClientFrom(otherCa, "mallory", "system:masters")), "/api/v1/nodes");
        Assert.Equal(HttpStatusCode.Unauthorized, code);
        Assert.Equal("Unauthorized", (string?)body!["reason"]);
        Assert.Equal("Status", (string?)body["kind"]);
    }

    [Fact]
    public async Task BootstrapTokenAuthenticatesWithExtraGroups()
    {
        await using var h = await StartAsync();
        h.SeedToken("abcdef", "0123456789abcdef", DateTimeOffset.UtcNow.AddHours(1));
        var (user, groups) = await WhoAmI(h.Client(token: "abcdef.0123456789abcdef"));
        Assert.Equal("system:bootstrap:abcdef", user);
        Assert.Equal(new[] { "system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated" }, groups);
    }

    [Theory]
    [InlineData("abcdef.ffffffffffffffff")] // wrong secret
    [InlineData("zzzzzz.0123456789abcdef")] // unknown id
    [InlineData("expire.0123456789abcdef")] // expired
    [InlineData("noauth.0123456789abcdef")] // no usage-bootstrap-authentication
    [InlineData("not-a-token")]
    public async Task BadBootstrapTokensAreUnauthorized(string token)
    {
        await using var h = await StartAsync();
        h.SeedToken("abcdef", "0123456789abcdef", DateTimeOffset.UtcNow.AddHours(1));
        h.SeedToken("expire", "0123456789abcdef", DateTimeOffset.UtcNow.AddMinutes(-1));
        h.SeedToken("noauth", "0123456789abcdef", auth: false);
        var (code, body) = await GetAsync(h.Client(token: token), "/api/v1/namespaces/kube-public/configmaps/cluster-info");
        Assert.Equal(HttpStatusCode.Unauthorized, code);
        Assert.Equal("Unauthorized", (string?)body!["message"]);
        Assert.Equal(401, (int)body["code"]!);
    }

    [Fact]
    public async Task AnonymousGetsOnlyWhatARoleBindingGrants()
    {
        await using var h = await StartAsync();
        var admin = h.Admin();
        var anon = h.Client();
        var cm = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "cluster-info", ["namespace"] = "kube-public" },
            ["data"] = new JsonObject { ["kubeconfig"] = "x" },
        };
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(admin, HttpMethod.Post, "/api/v1/namespaces/kube-public/configmaps", cm)).Code);

        var (code, body) = await GetAsync(anon, "/api/v1/namespaces/kube-public/configmaps/cluster-info");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("configmaps \"cluster-info\" is forbidden: User \"system:anonymous\" cannot get resource \"configmaps\" " +
            "in API group \"\" in the namespace \"kube-public\"", (string?)body!["message"]);

        var role = new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "Role",
            ["metadata"] = new JsonObject { ["name"] = "kubeadm:bootstrap-signer-clusterinfo", ["namespace"] = "kube-public" },
            ["rules"] = new JsonArray(new JsonObject
            {
                ["verbs"] = new JsonArray("get"), ["apiGroups"] = new JsonArray(""), ["resources"] = new JsonArray("configmaps"),
                ["resourceNames"] = new JsonArray("cluster-info"),
            }),
        };
        var binding = new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "RoleBinding",
            ["metadata"] = new JsonObject { ["name"] = "kubeadm:bootstrap-signer-clusterinfo", ["namespace"] = "kube-public" },
            ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Role", ["name"] = "kubeadm:bootstrap-signer-clusterinfo" },
            ["subjects"] = new JsonArray(new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "User", ["name"] = "system:anonymous" }),
        };
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(admin, HttpMethod.Post, "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/roles", role)).Code);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(admin, HttpMethod.Post, "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/rolebindings", binding)).Code);

        (code, body) = await GetAsync(anon, "/api/v1/namespaces/kube-public/configmaps/cluster-info");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("x", (string?)body!["data"]!["kubeconfig"]);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(anon, "/api/v1/namespaces/kube-public/configmaps")).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(anon, HttpMethod.Put, "/api/v1/namespaces/kube-public/configmaps/cluster-info", cm)).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(anon, "/api")).Code);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(anon, "/version")).Code);
    }

    [Fact]
    public async Task BootstrapPolicyGrantsNodeClientCsrCreationViaKubeadmBindings()
    {
        await using var h = await StartAsync();
        h.SeedToken("abcdef", "0123456789abcdef");
        var tok = h.Client(token: "abcdef.0123456789abcdef");
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(tok, "/apis/certificates.k8s.io/v1/certificatesigningrequests")).Code);
        h.Store.Put(new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRoleBinding",
            ["metadata"] = new JsonObject { ["name"] = "kubeadm:kubelet-bootstrap" },
            ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = "system:node-bootstrapper" },
            ["subjects"] = new JsonArray(new JsonObject { ["kind"] = "Group", ["name"] = "system:bootstrappers:kubeadm:default-node-token" }),
        });
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(tok, "/apis/certificates.k8s.io/v1/certificatesigningrequests")).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(tok, "/api/v1/namespaces/kube-system/secrets")).Code);
    }
}
