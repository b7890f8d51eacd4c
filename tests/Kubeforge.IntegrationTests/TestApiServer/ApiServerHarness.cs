using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.TestApiServer;
using Server = Kubeforge.TestApiServer.TestApiServer;

namespace Kubeforge.IntegrationTests.TestApiServer;

/// <summary>ThrowawayPki makes a CA, a loopback serving certificate and client certificates with .NET crypto, as PEM files.</summary>
public sealed class ThrowawayPki : IDisposable
{
    /// <summary>ThrowawayPki creates the CA and the serving certificate in a new temp folder.</summary>
    public ThrowawayPki()
    {
        Dir = Directory.CreateTempSubdirectory("kf-apiserver-").FullName;
        caKey = RSA.Create(2048);
        var caReq = new CertificateRequest("CN=kubernetes", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caReq.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        caReq.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caReq.PublicKey, false));
        Ca = caReq.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        CaCertFile = Write("ca.crt", Ca.ExportCertificatePem());
        CaKeyFile = Write("ca.key", caKey.ExportPkcs8PrivateKeyPem());

        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256); // serving key is ECDSA, client keys RSA: both kinds covered
        var req = new CertificateRequest("CN=kube-apiserver", ec, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var serving = Issue(req);
        ServingCertFile = Write("apiserver.crt", serving.ExportCertificatePem());
        ServingKeyFile = Write("apiserver.key", ec.ExportPkcs8PrivateKeyPem());
    }

    private readonly RSA caKey;

    /// <summary>Dir is the temp folder holding the PEM files (deleted on Dispose).</summary>
    public string Dir { get; }

    /// <summary>Ca is the CA certificate with its private key.</summary>
    public X509Certificate2 Ca { get; }

    public string CaCertFile { get; }
    public string CaKeyFile { get; }
    public string ServingCertFile { get; }
    public string ServingKeyFile { get; }

    /// <summary>Client issues a client certificate (with key) for CN and O values, signed by this CA or by `issuer`.</summary>
    public X509Certificate2 Client(string cn, params string[] orgs) => ClientFrom(Ca, cn, orgs);

    /// <summary>ClientFrom issues a client certificate from an arbitrary issuer.</summary>
    public static X509Certificate2 ClientFrom(X509Certificate2 issuer, string cn, params string[] orgs)
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest(Subject(cn, orgs), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var cert = req.Create(issuer, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1),
            RandomNumberGenerator.GetBytes(8));
        return X509Certificate2.CreateFromPem(cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Subject builds a distinguished name with one CN and any number of O values.</summary>
    public static X500DistinguishedName Subject(string cn, params string[] orgs)
    {
        var b = new X500DistinguishedNameBuilder();
        foreach (var o in orgs) b.AddOrganizationName(o);
        b.AddCommonName(cn);
        return b.Build();
    }

    private X509Certificate2 Issue(CertificateRequest req) =>
        req.Create(Ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(8));

    private string Write(string name, string pem)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, pem);
        return path;
    }

    public void Dispose()
    {
        Ca.Dispose();
        caKey.Dispose();
        Directory.Delete(Dir, true);
    }
}

/// <summary>ApiServerHarness starts an in-process TestApiServer on a free loopback port and builds HTTP clients for it.</summary>
public sealed class ApiServerHarness : IAsyncDisposable
{
    private readonly List<HttpClient> clients = [];

    private readonly bool ownsPki;

    private ApiServerHarness(ThrowawayPki pki, Server server, bool ownsPki = true)
    {
        Pki = pki;
        Server = server;
        this.ownsPki = ownsPki;
    }

    public ThrowawayPki Pki { get; }
    public Server Server { get; }
    public ObjectStore Store => Server.Store;

    /// <summary>StartAsync makes a PKI and starts the server (with the CA as CSR signer unless configure changes it).</summary>
    public static Task<ApiServerHarness> StartAsync(Action<TestApiServerOptions>? configure = null) =>
        StartAsync(new ThrowawayPki(), configure, ownsPki: true);

    /// <summary>StartAsync starts a server on an existing PKI (several instances of one cluster share it); the PKI is
    /// disposed with the harness only when ownsPki.</summary>
    public static async Task<ApiServerHarness> StartAsync(ThrowawayPki pki, Action<TestApiServerOptions>? configure, bool ownsPki)
    {
        var options = new TestApiServerOptions
        {
            TlsCertFile = pki.ServingCertFile, TlsKeyFile = pki.ServingKeyFile, ClientCaFile = pki.CaCertFile,
            BindAddress = "127.0.0.1", Port = 0,
            ClusterSigningCertFile = pki.CaCertFile, ClusterSigningKeyFile = pki.CaKeyFile,
            ControllerInterval = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        return new ApiServerHarness(pki, await Server.StartAsync(options), ownsPki);
    }

    /// <summary>Client returns an HttpClient that trusts only the throwaway CA, optionally with a client cert or bearer token.</summary>
    public HttpClient Client(X509Certificate2? cert = null, string? token = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, c, _, errors) =>
        {
            if (c == null) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(Pki.Ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            var ok = chain.Build(new X509Certificate2(c));
            return ok && (errors & ~System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) == 0;
        };
        if (cert != null)
        {
            handler.SslOptions.ClientCertificates = new X509CertificateCollection { cert };
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => cert;
        }
        var client = new HttpClient(handler) { BaseAddress = Server.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (token != null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        clients.Add(client);
        return client;
    }

    /// <summary>Admin returns a client authenticated as a system:masters member.</summary>
    public HttpClient Admin() => Client(Pki.Client("kubernetes-admin", "system:masters"));

    /// <summary>SeedToken stores a bootstrap token Secret like kubeadm's.</summary>
    public void SeedToken(string id, string secret, DateTimeOffset? expires = null, bool signing = true, bool auth = true,
        string groups = "system:bootstrappers:kubeadm:default-node-token")
    {
        var data = new JsonObject { ["token-id"] = id, ["token-secret"] = secret, ["auth-extra-groups"] = groups };
        if (expires != null) data["expiration"] = expires.Value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ");
        if (signing) data["usage-bootstrap-signing"] = "true";
        if (auth) data["usage-bootstrap-authentication"] = "true";
        Store.Put(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["type"] = "bootstrap.kubernetes.io/token",
            ["metadata"] = new JsonObject { ["name"] = "bootstrap-token-" + id, ["namespace"] = "kube-system" },
            ["stringData"] = data,
        });
    }

    /// <summary>SendAsync sends a JSON request and returns the status code and the parsed body (null when not JSON).</summary>
    public static async Task<(HttpStatusCode Code, JsonNode? Body)> SendAsync(HttpClient c, HttpMethod method, string path,
        JsonNode? body = null, string contentType = "application/json")
    {
        using var req = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body != null) req.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, contentType);
        using var resp = await c.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        JsonNode? parsed = null;
        if (resp.Content.Headers.ContentType?.MediaType == "application/json") parsed = JsonNode.Parse(text);
        return (resp.StatusCode, parsed);
    }

    public static Task<(HttpStatusCode Code, JsonNode? Body)> GetAsync(HttpClient c, string path) => SendAsync(c, HttpMethod.Get, path);

    /// <summary>WhoAmI posts a SelfSubjectReview and returns (user, groups).</summary>
    public static async Task<(string User, string[] Groups)> WhoAmI(HttpClient c)
    {
        var (code, body) = await SendAsync(c, HttpMethod.Post, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            new JsonObject { ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "SelfSubjectReview" });
        Assert.Equal(HttpStatusCode.Created, code);
        var u = body!["status"]!["userInfo"]!;
        return ((string)u["username"]!, u["groups"]!.AsArray().Select(g => (string)g!).ToArray());
    }

    /// <summary>Eventually polls a condition for up to 10 s.</summary>
    public static async Task<bool> Eventually(Func<bool> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (condition()) return true;
            await Task.Delay(100);
        }
        return condition();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in clients) c.Dispose();
        await Server.DisposeAsync();
        if (ownsPki) Pki.Dispose();
    }
}
