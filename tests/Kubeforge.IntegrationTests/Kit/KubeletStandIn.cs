using Kubeforge.KubeConfig;
using Kubeforge.LabNode;

namespace Kubeforge.IntegrationTests.Kit;

/// <summary>KubeletStandIn does what the kubelet's TLS bootstrap does on a joining node (the test machine runs no kubelet):
/// it waits for /etc/kubernetes/bootstrap-kubelet.conf under a rootfs, sends a kubelet client CSR (CN system:node:NAME,
/// O system:nodes, signer kubernetes.io/kube-apiserver-client-kubelet) with the bootstrap token, waits for the API server
/// to approve and sign it, then writes /var/lib/kubelet/pki/kubelet-client-current.pem and /etc/kubernetes/kubelet.conf.
/// The CSR and file logic is the lab kubelet stand-in's (Kubeforge.LabNode.TlsBootstrap); this class only adds the rootfs.</summary>
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
        using var api = ApiClient.FromKubeconfig(BootstrapKubeconfig, path);
        var (cert, key, _) = await TlsBootstrap.RequestAsync(api, nodeName, deadline - DateTime.UtcNow, ct);
        IssuedCertPem = cert;
        TlsBootstrap.WritePem(Path.Join(rootfs, "var/lib/kubelet/pki/kubelet-client-current.pem"), cert, key);
        var kubeletConf = TlsBootstrap.KubeletConf(view.Server!, view.Cluster.Str("certificate-authority-data")!, "/var/lib/kubelet/pki/kubelet-client-current.pem");
        await File.WriteAllTextAsync(Path.Join(rootfs, "etc/kubernetes/kubelet.conf"), kubeletConf, ct);
        return true;
    }
}
