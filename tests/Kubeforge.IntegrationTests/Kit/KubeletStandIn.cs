using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.KubeConfig;

namespace Kubeforge.IntegrationTests.Kit;

/// <summary>KubeletStandIn does what the kubelet's TLS bootstrap does on a joining node (the test machine runs no kubelet):
/// it waits for /etc/kubernetes/bootstrap-kubelet.conf under a rootfs, sends a kubelet client CSR (CN system:node:NAME,
/// O system:nodes, signer kubernetes.io/kube-apiserver-client-kubelet) with the bootstrap token, waits for the API server
/// to approve and sign it, then writes /var/lib/kubelet/pki/kubelet-client-current.pem and /etc/kubernetes/kubelet.conf.</summary>
public sealed class KubeletStandIn(string rootfs, string nodeName)
{
    /// <summary>BootstrapKubeconfig is the bootstrap-kubelet.conf the stand-in read (join may have cleaned up since).</summary>
    public byte[]? BootstrapKubeconfig { get; private set; }

    /// <summary>IssuedCertPem is the signed client certificate.</summary>
    public string? IssuedCertPem { get; private set; }

    /// <summary>RunAsync performs the TLS bootstrap; it returns false when bootstrap-kubelet.conf never appears.</summary>
    public async Task<bool> RunAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        var path = Path.Join(rootfs, "etc/kubernetes/bootstrap-kubelet.conf");
        var deadline = DateTime.UtcNow + timeout;
        while (!File.Exists(path))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(100, ct);
        }
        await Task.Delay(100, ct); // let the atomic write settle
        BootstrapKubeconfig = await File.ReadAllBytesAsync(path, ct);
        var view = KubeConfigFile.Read(BootstrapKubeconfig, path);
        using var api = HttpKubeApi.FromKubeConfig(BootstrapKubeconfig);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var dn = new X500DistinguishedNameBuilder();
        dn.AddOrganizationName("system:nodes");
        dn.AddCommonName("system:node:" + nodeName);
        var req = new CertificateRequest(dn.Build(), key, HashAlgorithmName.SHA256);
        var csrPem = PemEncoding.WriteString("CERTIFICATE REQUEST", req.CreateSigningRequest());
        var name = "node-csr-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var csr = new JsonObject
        {
            ["apiVersion"] = "certificates.k8s.io/v1",
            ["kind"] = "CertificateSigningRequest",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["request"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(csrPem)),
                ["signerName"] = "kubernetes.io/kube-apiserver-client-kubelet",
                ["usages"] = new JsonArray("digital signature", "key encipherment", "client auth"),
            },
        };
        await api.CreateAsync(ApiResource.CertificateSigningRequest, csr, ct);
        string? certB64 = null;
        while (certB64 is null)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"CSR {name} was not signed in time");
            }
            var got = await api.GetAsync(ApiResource.CertificateSigningRequest, null, name, ct);
            certB64 = got?["status"]?["certificate"]?.GetValue<string>();
            if (certB64 is null)
            {
                await Task.Delay(200, ct);
            }
        }
        IssuedCertPem = Encoding.ASCII.GetString(Convert.FromBase64String(certB64));
        var pki = Path.Join(rootfs, "var/lib/kubelet/pki");
        Directory.CreateDirectory(pki);
        var pemPath = Path.Join(pki, "kubelet-client-current.pem");
        await File.WriteAllTextAsync(pemPath, IssuedCertPem.TrimEnd() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n", ct);
        File.SetUnixFileMode(pemPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var kubeletConf = $"""
            apiVersion: v1
            clusters:
            - cluster:
                certificate-authority-data: {view.Cluster.Str("certificate-authority-data")}
                server: {view.Server}
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
                client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
                client-key: /var/lib/kubelet/pki/kubelet-client-current.pem

            """;
        await File.WriteAllTextAsync(Path.Join(rootfs, "etc/kubernetes/kubelet.conf"), kubeletConf, ct);
        return true;
    }
}
