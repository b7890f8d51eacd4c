using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Kubeforge.LabNode;

/// <summary>TlsBootstrap is the kubelet's client-certificate request: a CSR with CN system:node:NAME, O system:nodes, signer
/// kubernetes.io/kube-apiserver-client-kubelet and usages digital signature, key encipherment, client auth, sent with the
/// given credentials (the bootstrap token on join, the node's own certificate for rotation), then polled until the API
/// server (its csrapproving + csrsigning controllers) approved and signed it.</summary>
public static class TlsBootstrap
{
    /// <summary>KubeletClientSigner is the signer of kubelet client certificates.</summary>
    public const string KubeletClientSigner = "kubernetes.io/kube-apiserver-client-kubelet";

    /// <summary>RequestAsync creates the CSR and waits for the certificate; returns the certificate and key PEMs.</summary>
    public static async Task<(string CertPem, string KeyPem, string CsrName)> RequestAsync(ApiClient api, string nodeName, TimeSpan timeout,
        CancellationToken ct = default)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = "node-csr-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        await api.PostAsync("apis/certificates.k8s.io/v1/certificatesigningrequests", CsrObject(name, nodeName, key), ct).ConfigureAwait(false);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var got = await api.GetAsync("apis/certificates.k8s.io/v1/certificatesigningrequests/" + name, ct).ConfigureAwait(false);
            if ((got?["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => (string?)c["type"] is "Denied" or "Failed") == true)
                throw new ApiError(403, $"CSR {name} was denied or failed");
            if ((string?)got?["status"]?["certificate"] is { Length: > 0 } b64)
                return (Encoding.ASCII.GetString(Convert.FromBase64String(b64)).TrimEnd() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n", name);
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"CSR {name} was not approved and signed within {timeout.TotalSeconds:0}s");
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>CsrObject builds the CertificateSigningRequest object for a node's client certificate.</summary>
    public static JsonObject CsrObject(string name, string nodeName, ECDsa key)
    {
        var dn = new X500DistinguishedNameBuilder();
        dn.AddOrganizationName("system:nodes");
        dn.AddCommonName("system:node:" + nodeName);
        var req = new CertificateRequest(dn.Build(), key, HashAlgorithmName.SHA256);
        var csrPem = PemEncoding.WriteString("CERTIFICATE REQUEST", req.CreateSigningRequest());
        return new JsonObject
        {
            ["apiVersion"] = "certificates.k8s.io/v1",
            ["kind"] = "CertificateSigningRequest",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["request"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(csrPem)),
                ["signerName"] = KubeletClientSigner,
                ["usages"] = new JsonArray("digital signature", "key encipherment", "client auth"),
            },
        };
    }

    /// <summary>KubeletConf is the kubeconfig the kubelet writes after the bootstrap: the bootstrap file's server and CA, user
    /// default-auth with client-certificate and client-key both pointing at the rotating PEM file.</summary>
    public static string KubeletConf(string server, string caDataBase64, string pemPath) => $"""
        apiVersion: v1
        clusters:
        - cluster:
            certificate-authority-data: {caDataBase64}
            server: {server}
          name: default-cluster
        contexts:
        - context:
            cluster: default-cluster
            namespace: default
            user: default-auth
          name: default-context
        current-context: default-context
        kind: Config
        preferences: {"{}"}
        users:
        - name: default-auth
          user:
            client-certificate: {pemPath}
            client-key: {pemPath}

        """;

    /// <summary>WritePem writes certificate + key into one file with mode 0600 (kubelet-client-current.pem).</summary>
    public static void WritePem(string path, string certPem, string keyPem)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, certPem + keyPem);
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, path, true);
    }
}
