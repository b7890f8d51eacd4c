using System.Text;
using Kubeforge.ClusterObjects;
using Kubeforge.KubeConfig;
using Kubeforge.Phases;
using Kubeforge.Pki;
using Kubeforge.Tests.ClusterObjects;
using Kubeforge.Tokens;

namespace Kubeforge.Tests.Tokens;

/// <summary>TokenOpsTests cover "token create|list|delete": flag validation, the Secret round trip, the table and the join line.</summary>
public sealed class TokenOpsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 1, 2, 3, TimeSpan.Zero);

    [Fact]
    public void DefaultsAreKubeadms()
    {
        var s = TokenOps.BuildSpec(null, "24h0m0s", ["signing,authentication"], ["system:bootstrappers:kubeadm:default-node-token"], null);
        Assert.True(BootstrapToken.TryParse(s.Token, out _));
        Assert.Equal(TimeSpan.FromHours(24), s.Ttl);
        Assert.Equal(["signing", "authentication"], s.Usages);
        Assert.Null(s.Description);
    }

    [Fact]
    public void TtlZeroNeverExpires()
    {
        var s = TokenOps.BuildSpec("abcdef.0123456789abcdef", "0", null, null, "d");
        var secret = BootstrapTokens.Secret(new BootstrapToken("abcdef", "0123456789abcdef"), s, Now);
        Assert.False(secret["data"]!.AsObject().ContainsKey("expiration"));
        Assert.Null(BootstrapTokens.Expiration(s, Now));
    }

    [Theory]
    [InlineData("abcdef.0123456789abcdeX", "24h", "signing", "system:bootstrappers:x", "token does not match")]
    [InlineData(null, "forever", "signing", "system:bootstrappers:x", "--ttl")]
    [InlineData(null, "-1h", "signing", "system:bootstrappers:x", "negative")]
    [InlineData(null, "1h", "signing,foo", "system:bootstrappers:x", "invalid bootstrap token usage string: foo, valid usage options: signing,authentication")]
    [InlineData(null, "1h", "signing,authentication", "system:masters", "bootstrap group \"system:masters\" is invalid")]
    [InlineData(null, "1h", "signing,authentication", "system:bootstrappers:x-", "is invalid")]
    [InlineData(null, "1h", "signing", "system:bootstrappers:x", "unless --usages includes \"authentication\"")]
    public void InvalidArgumentsAreUserErrors(string? token, string ttl, string usages, string groups, string message)
    {
        var e = Assert.Throws<UserError>(() => TokenOps.BuildSpec(token, ttl, [usages], [groups], null));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task CreateListDeleteRoundTrip()
    {
        var api = new FakeKubeApi();
        var spec = TokenOps.BuildSpec("abcdef.0123456789abcdef", "2h", ["authentication"], ["system:bootstrappers:a,system:bootstrappers:b"], "my token");
        var t = await TokenOps.CreateAsync(api, spec, Now);
        Assert.Equal("abcdef", t.Id);
        var data = api.Peek(ApiResource.Secret, "kube-system", "bootstrap-token-abcdef")!["data"]!.AsObject();
        string D(string k) => Encoding.UTF8.GetString(Convert.FromBase64String(data[k]!.GetValue<string>()));
        Assert.Equal("2026-11-26T03:02:03Z", D("expiration"));
        Assert.Equal("system:bootstrappers:a,system:bootstrappers:b", D("auth-extra-groups"));
        Assert.Equal("my token", D("description"));
        Assert.False(data.ContainsKey("usage-bootstrap-signing"));

        var again = await Assert.ThrowsAsync<UserError>(() => TokenOps.CreateAsync(api, spec, Now));
        Assert.Contains("a token with id \"abcdef\" already exists", again.Message);

        await TokenOps.CreateAsync(api, TokenOps.BuildSpec("ghijkl.0123456789abcdef", "0", null, [], null), Now);
        api.Put(ApiResource.Secret, new System.Text.Json.Nodes.JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["type"] = BootstrapTokens.SecretType,
            ["metadata"] = K8sObjects.Meta("bootstrap-token-broken", "kube-system"), ["data"] = new System.Text.Json.Nodes.JsonObject(),
        });
        var invalid = new List<string>();
        var list = await TokenOps.ListAsync(api, invalid.Add);
        Assert.Single(invalid);
        var table = JoinCommand.TokenTable(list.OrderBy(x => x.Token.Id, StringComparer.Ordinal), Now.AddMinutes(30));
        Assert.Equal(
            "TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION   EXTRA GROUPS\n" +
            "abcdef.0123456789abcdef   1h          2026-11-26T03:02:03Z   authentication           my token      system:bootstrappers:a,system:bootstrappers:b\n" +
            "ghijkl.0123456789abcdef   <forever>   <never>                authentication,signing   <none>        <none>\n",
            table);
        Assert.Contains("<invalid>", JoinCommand.TokenTable(list, Now.AddHours(3)));

        var deleted = new List<string>();
        await TokenOps.DeleteAsync(api, ["abcdef", "ghijkl.0123456789abcdef"], deleted.Add);
        Assert.Equal(["bootstrap token \"abcdef\" deleted", "bootstrap token \"ghijkl\" deleted"], deleted);
        var missing = await Assert.ThrowsAsync<UserError>(() => TokenOps.DeleteAsync(api, ["abcdef"], deleted.Add));
        Assert.Contains("\"abcdef\"", missing.Message);
        Assert.Throws<UserError>(() => TokenOps.IdOf("ABCDEF"));
    }

    [Fact]
    public void JoinCommandLineIsSingleLineWorkerOrControlPlane()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var req = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=kubernetes", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var ca = req.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(1));
        var kc = KubeConfigFile.Build("https://10.0.0.1:6443", "kubernetes", "kubernetes-admin", Pem.Cert(ca));
        var pin = PubKeyPin.Hash(ca);
        var worker = TokenOps.JoinCommandLine(kc, "admin.conf", "abcdef.0123456789abcdef", null);
        Assert.Equal($"kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef     --discovery-token-ca-cert-hash {pin} ", worker);
        var cp = TokenOps.JoinCommandLine(kc, "admin.conf", "abcdef.0123456789abcdef", new string('a', 64));
        Assert.Equal($"{worker}    --control-plane --certificate-key {new string('a', 64)}", cp);
    }
}
