using System.Net;
using Kubeforge.Config;

namespace Kubeforge.Pki;

/// <summary>CertUsage is a certificate's extended key usage.</summary>
[Flags]
public enum CertUsage
{
    None = 0,
    ServerAuth = 1,
    ClientAuth = 2,
}

/// <summary>CertSpec is one row of the certificate table (kubeadm's KubeadmCert): the phase name, its help text,
/// the file base name under the certificate dir, the signing CA row (null for a CA) and how subject, usages and
/// SANs follow from the config.</summary>
public sealed record CertSpec(
    string Name,
    string LongName,
    string BaseName,
    string? CaName,
    Func<KubeadmConfig, string> CommonName,
    Func<KubeadmConfig, IReadOnlyList<string>> Organizations,
    CertUsage Usage,
    Func<KubeadmConfig, Action<string>?, AltNames>? Sans = null)
{
    /// <summary>IsCa is true for a self-signed CA row.</summary>
    public bool IsCa => CaName is null;

    /// <summary>AltNamesFor returns the SANs for this row, not yet normalized (a CA gets DNS = its CN).</summary>
    public AltNames AltNamesFor(KubeadmConfig cfg, Action<string>? warn) =>
        IsCa ? new AltNames([CommonName(cfg)], []) : Sans?.Invoke(cfg, warn) ?? AltNames.None;
}

/// <summary>CertTable is the list of certificates kubeadm makes (spec/kubeadm.md §2.1, kubeadm certlist.go). Adding a
/// certificate is adding a row here; the phase, renewal and expiry commands all read this table.</summary>
public static class CertTable
{
    /// <summary>SaName is the phase name of the service-account key pair (a key pair, not a certificate).</summary>
    public const string SaName = "sa";

    /// <summary>SaLongName is the help text of the sa phase.</summary>
    public const string SaLongName = "a private key for signing service account tokens along with its public key";

    private static IReadOnlyList<string> NoOrg(KubeadmConfig _) => [];

    /// <summary>Rows are all certificate rows in kubeadm's order (CA first, then what it signs).</summary>
    public static readonly IReadOnlyList<CertSpec> Rows =
    [
        new("ca", "self-signed Kubernetes CA to provision identities for other Kubernetes components", "ca", null,
            _ => "kubernetes", NoOrg, CertUsage.None),
        new("apiserver", "certificate for serving the Kubernetes API", "apiserver", "ca",
            _ => "kube-apiserver", NoOrg, CertUsage.ServerAuth, ApiServerAltNames),
        new("apiserver-kubelet-client", "certificate for the API server to connect to kubelet", "apiserver-kubelet-client", "ca",
            _ => "kube-apiserver-kubelet-client", c => [c.Profile.AdminGroup], CertUsage.ClientAuth),
        new("front-proxy-ca", "self-signed CA to provision identities for front proxy", "front-proxy-ca", null,
            _ => "front-proxy-ca", NoOrg, CertUsage.None),
        new("front-proxy-client", "certificate for the front proxy client", "front-proxy-client", "front-proxy-ca",
            _ => "front-proxy-client", NoOrg, CertUsage.ClientAuth),
        new("etcd-ca", "self-signed CA to provision identities for etcd", "etcd/ca", null,
            _ => "etcd-ca", NoOrg, CertUsage.None),
        new("etcd-server", "certificate for serving etcd", "etcd/server", "etcd-ca",
            c => c.NodeName, NoOrg, CertUsage.ServerAuth | CertUsage.ClientAuth, (c, w) => EtcdAltNames(c, w, c.Cluster.Etcd.Local?.ServerCertSans, "etcd-server")),
        new("etcd-peer", "certificate for etcd nodes to communicate with each other", "etcd/peer", "etcd-ca",
            c => c.NodeName, NoOrg, CertUsage.ServerAuth | CertUsage.ClientAuth, (c, w) => EtcdAltNames(c, w, c.Cluster.Etcd.Local?.PeerCertSans, "etcd-peer")),
        new("etcd-healthcheck-client", "certificate for liveness probes to healthcheck etcd", "etcd/healthcheck-client", "etcd-ca",
            _ => "kube-etcd-healthcheck-client", EtcdClientOrg, CertUsage.ClientAuth),
        new("apiserver-etcd-client", "certificate the apiserver uses to access etcd", "apiserver-etcd-client", "etcd-ca",
            _ => "kube-apiserver-etcd-client", EtcdClientOrg, CertUsage.ClientAuth),
    ];

    /// <summary>Names are the phase names in kubeadm's order, "sa" last (for `init phase certs NAME`).</summary>
    public static readonly IReadOnlyList<string> Names = [.. Rows.Select(r => r.Name), SaName];

    /// <summary>For returns the rows a config needs: all of them, or only the first five with external etcd.</summary>
    public static IReadOnlyList<CertSpec> For(KubeadmConfig cfg) => cfg.LocalEtcd ? Rows : Rows.Take(5).ToList();

    /// <summary>Get finds a row by phase name (null when unknown).</summary>
    public static CertSpec? Get(string name) => Rows.FirstOrDefault(r => r.Name == name);

    /// <summary>CaOf returns the CA row that signs row.</summary>
    public static CertSpec CaOf(CertSpec row) => Get(row.CaName ?? row.Name)!;

    private static IReadOnlyList<string> EtcdClientOrg(KubeadmConfig c) =>
        c.Profile.EtcdClientOrganization is { } o ? [o] : [];

    /// <summary>ApiServerAltNames is kubeadm GetAPIServerAltNames (spec/kubeadm.md §2.2).</summary>
    public static AltNames ApiServerAltNames(KubeadmConfig c, Action<string>? warn)
    {
        var domain = c.Cluster.Networking.DnsDomain;
        var dns = new List<string> { c.NodeName, "kubernetes", "kubernetes.default", "kubernetes.default.svc", $"kubernetes.default.svc.{domain}" };
        var ips = new List<IPAddress> { AltNames.ServiceIp(c.Cluster.Networking.ServiceSubnet, 1) };
        if (AltNames.TryParseIp(c.AdvertiseAddress, out var adv))
        {
            ips.Add(adv);
        }
        if (!string.IsNullOrWhiteSpace(c.Cluster.ControlPlaneEndpoint))
        {
            var (host, _) = AltNames.SplitHostPort(c.Cluster.ControlPlaneEndpoint);
            if (AltNames.TryParseIp(host, out var ip))
            {
                ips.Add(ip);
            }
            else
            {
                dns.Add(host);
            }
        }
        AltNames.AppendSans(dns, ips, c.Cluster.ApiServer.CertSans, "apiserver", warn);
        return new AltNames(dns, ips);
    }

    /// <summary>EtcdAltNames is kubeadm getAltNames for etcd server/peer (spec/kubeadm.md §2.3).</summary>
    public static AltNames EtcdAltNames(KubeadmConfig c, Action<string>? warn, IEnumerable<string>? extra, string field)
    {
        var dns = new List<string> { c.NodeName, "localhost" };
        var ips = new List<IPAddress>();
        if (AltNames.TryParseIp(c.AdvertiseAddress, out var adv))
        {
            ips.Add(adv);
        }
        ips.Add(IPAddress.Loopback);
        ips.Add(IPAddress.IPv6Loopback);
        AltNames.AppendSans(dns, ips, extra ?? [], field, warn);
        return new AltNames(dns, ips);
    }
}
