using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubeforge.TestApiServer;

/// <summary>BootstrapSigner emulates kube-controller-manager's bootstrapsigner: it keeps the `jws-kubeconfig-&lt;id&gt;` keys of
/// kube-public/cluster-info in line with the signing-capable, unexpired bootstrap token Secrets.</summary>
public sealed class BootstrapSigner(ObjectStore store, TimeProvider time)
{
    private const string JwsPrefix = "jws-kubeconfig-";

    /// <summary>Sync recomputes the signatures and updates cluster-info when they differ (no write when unchanged).</summary>
    public void Sync()
    {
        var ci = store.Get("configmaps", "kube-public", "cluster-info");
        if ((string?)ci?["data"]?["kubeconfig"] is not { } kubeconfig) return;
        var desired = new Dictionary<string, string>();
        foreach (var s in store.List("secrets", "kube-system"))
        {
            if ((string?)s["type"] != "bootstrap.kubernetes.io/token") continue;
            var data = Authenticator.SecretData(s);
            var id = data.GetValueOrDefault("token-id", "");
            var secret = data.GetValueOrDefault("token-secret", "");
            if (id.Length == 0 || (string?)s["metadata"]?["name"] != "bootstrap-token-" + id || secret.Length == 0) continue;
            if (data.GetValueOrDefault("usage-bootstrap-signing") != "true" || Authenticator.IsExpired(data, time)) continue;
            desired[JwsPrefix + id] = DetachedJws(kubeconfig, id, secret);
        }
        store.Mutate("configmaps", "kube-public", "cluster-info", cm =>
        {
            if ((string?)cm["data"]?["kubeconfig"] != kubeconfig) return false; // changed meanwhile; the next sync handles it
            var data = (JsonObject)cm["data"]!;
            var current = data.Where(kv => kv.Key.StartsWith(JwsPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
            if (current.Count == desired.Count && desired.All(d => current.GetValueOrDefault(d.Key) == d.Value)) return false;
            foreach (var k in current.Keys) data.Remove(k);
            foreach (var (k, v) in desired.OrderBy(d => d.Key, StringComparer.Ordinal)) data[k] = v;
            return true;
        });
    }

    /// <summary>DetachedJws computes `b64url(header)..b64url(HMAC-SHA256)` over the payload with header
    /// {"alg":"HS256","kid":"&lt;id&gt;"} and the token secret's ASCII bytes as key.</summary>
    public static string DetachedJws(string payload, string tokenId, string tokenSecret)
    {
        var header = B64Url(Encoding.UTF8.GetBytes($"{{\"alg\":\"HS256\",\"kid\":\"{tokenId}\"}}"));
        var signingInput = header + "." + B64Url(Encoding.UTF8.GetBytes(payload));
        var mac = HMACSHA256.HashData(Encoding.ASCII.GetBytes(tokenSecret), Encoding.ASCII.GetBytes(signingInput));
        return header + ".." + B64Url(mac);
    }

    private static string B64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>CsrController emulates kube-controller-manager's csrapproving (kubelet client CSRs) and csrsigning controllers.</summary>
public sealed class CsrController(ObjectStore store, RbacAuthorizer authz, TestApiServerOptions options)
{
    private const string KubeletClientSigner = "kubernetes.io/kube-apiserver-client-kubelet";

    private static readonly string[] SignerNames =
        [KubeletClientSigner, "kubernetes.io/kube-apiserver-client", "kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown"];

    private X509Certificate2? ca;

    /// <summary>Sync approves eligible kubelet client CSRs and signs approved, unsigned CSRs when a signing CA is set. Every
    /// write re-reads and re-checks the CSR (ObjectStore.Mutate), so instances sharing one etcd can race safely: one
    /// approval, one certificate.</summary>
    public void Sync()
    {
        foreach (var listed in store.List("certificatesigningrequests"))
        {
            var csr = listed;
            var name = (string)csr["metadata"]!["name"]!;
            if (Finished(csr)) continue;
            var signer = (string?)csr["spec"]?["signerName"] ?? "";
            if (!Approved(csr) && options.AutoApproveKubeletClientCsrs && signer == KubeletClientSigner && ShouldApprove(csr))
            {
                if (store.Mutate("certificatesigningrequests", null, name, o => AddApproval(o, options.Time)) is not { } now) continue;
                csr = now;
            }
            if (Approved(csr) && SignerNames.Contains(signer) && string.IsNullOrEmpty((string?)csr["status"]?["certificate"]) &&
                options.ClusterSigningCertFile != null && options.ClusterSigningKeyFile != null)
            {
                var pem = Sign(csr);
                store.Mutate("certificatesigningrequests", null, name, o =>
                {
                    if (!Approved(o) || !string.IsNullOrEmpty((string?)o["status"]?["certificate"])) return false;
                    var status = o["status"] as JsonObject ?? new JsonObject();
                    o["status"] = status;
                    status["certificate"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(pem));
                    return true;
                });
            }
        }
    }

    private static List<JsonObject> Conditions(JsonObject csr) =>
        (csr["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];

    private static bool Finished(JsonObject csr) => Conditions(csr).Any(c => (string?)c["type"] is "Denied" or "Failed");

    private static bool Approved(JsonObject csr) =>
        !Finished(csr) && Conditions(csr).Any(c => (string?)c["type"] == "Approved" && (string?)c["status"] == "True");

    private bool ShouldApprove(JsonObject csr)
    {
        if (!IsNodeClientCsr(csr, out var cn)) return false;
        var spec = (JsonObject)csr["spec"]!;
        var requester = new UserInfo((string?)spec["username"] ?? "",
            (spec["groups"] as JsonArray)?.Select(g => (string?)g ?? "").ToList() ?? []);
        var subs = requester.Name == cn ? new[] { "selfnodeclient", "nodeclient" } : ["nodeclient"];
        return subs.Any(sub => authz.Authorize(requester,
            new RequestAttributes("create", "certificates.k8s.io", "certificatesigningrequests", sub, null, null)));
    }

    /// <summary>IsNodeClientCsr applies the kubelet-client rule: O exactly [system:nodes], CN `system:node:*`, no SANs, usages
    /// exactly digital signature + client auth (+ optional key encipherment).</summary>
    public static bool IsNodeClientCsr(JsonObject csr, out string commonName)
    {
        commonName = "";
        CertificateRequest req;
        try { req = LoadRequest(csr); }
        catch (Exception e) when (e is CryptographicException or FormatException or ArgumentException) { return false; }
        var orgs = new List<string>();
        foreach (var rdn in req.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            var oid = rdn.GetSingleElementType().Value;
            if (oid == "2.5.4.10") orgs.Add(rdn.GetSingleElementValue() ?? "");
            if (oid == "2.5.4.3") commonName = rdn.GetSingleElementValue() ?? "";
        }
        if (orgs.Count != 1 || orgs[0] != "system:nodes" || !commonName.StartsWith("system:node:", StringComparison.Ordinal)) return false;
        if (req.CertificateExtensions.Any(e => e.Oid?.Value == "2.5.29.17")) return false;
        var usages = (csr["spec"]?["usages"] as JsonArray)?.Select(u => (string?)u ?? "").ToHashSet() ?? [];
        usages.Remove("key encipherment");
        return usages.SetEquals(["digital signature", "client auth"]);
    }

    private static CertificateRequest LoadRequest(JsonObject csr)
    {
        var pem = Encoding.ASCII.GetString(Convert.FromBase64String((string?)csr["spec"]?["request"] ?? ""));
        return CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256,
            CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
    }

    private static bool AddApproval(JsonObject csr, TimeProvider time)
    {
        var status = csr["status"] as JsonObject ?? new JsonObject();
        csr["status"] = status;
        var conditions = status["conditions"] as JsonArray ?? new JsonArray();
        status["conditions"] = conditions;
        if (conditions.OfType<JsonObject>().Any(c => (string?)c["type"] is "Approved" or "Denied")) return false;
        var now = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        conditions.Add(new JsonObject
        {
            ["type"] = "Approved", ["status"] = "True", ["reason"] = "AutoApproved",
            ["message"] = "Auto approving kubelet client certificate after SubjectAccessReview.",
            ["lastUpdateTime"] = now, ["lastTransitionTime"] = now,
        });
        return true;
    }

    private string Sign(JsonObject csr)
    {
        ca ??= X509Certificate2.CreateFromPemFile(options.ClusterSigningCertFile!, options.ClusterSigningKeyFile);
        var loaded = LoadRequest(csr);
        var req = new CertificateRequest(loaded.SubjectName, loaded.PublicKey, HashAlgorithmName.SHA256);
        var usages = (csr["spec"]?["usages"] as JsonArray)?.Select(u => (string?)u ?? "").ToList() ?? [];
        var ku = X509KeyUsageFlags.None;
        if (usages.Contains("digital signature")) ku |= X509KeyUsageFlags.DigitalSignature;
        if (usages.Contains("key encipherment")) ku |= X509KeyUsageFlags.KeyEncipherment;
        if (ku != X509KeyUsageFlags.None) req.CertificateExtensions.Add(new X509KeyUsageExtension(ku, true));
        var eku = new OidCollection();
        if (usages.Contains("client auth")) eku.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        if (usages.Contains("server auth")) eku.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        if (eku.Count > 0) req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(eku, false));
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        foreach (var san in loaded.CertificateExtensions.Where(e => e.Oid?.Value == "2.5.29.17")) req.CertificateExtensions.Add(san);

        var now = options.Time.GetUtcNow();
        var seconds = (long?)csr["spec"]?["expirationSeconds"];
        var duration = seconds is > 0 ? TimeSpan.FromSeconds(Math.Max(seconds.Value, 600)) : options.ClusterSigningDuration;
        var notAfter = now + duration;
        if (notAfter > ca.NotAfter.ToUniversalTime()) notAfter = ca.NotAfter.ToUniversalTime();
        var generator = ca.GetRSAPrivateKey() is { } rsa
            ? X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1)
            : X509SignatureGenerator.CreateForECDsa(ca.GetECDsaPrivateKey()!);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var cert = req.Create(ca.SubjectName, generator, now.AddMinutes(-5), notAfter, serial);
        return cert.ExportCertificatePem() + "\n";
    }
}
