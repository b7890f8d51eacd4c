namespace Kubeforge.Config;

/// <summary>InitFlags are the `kubeadm init` flags that map onto the configuration. Null means "not given".
/// With --config only NodeName, UploadCerts, DryRun, SkipPhases (and ignore-preflight-errors) may be mixed in,
/// as kubeadm's ValidateMixedArguments allows.</summary>
public sealed record InitFlags
{
    public string? KubernetesVersion { get; init; }
    public string? ImageRepository { get; init; }
    public string? PodNetworkCidr { get; init; }
    public string? ServiceCidr { get; init; }
    public string? ServiceDnsDomain { get; init; }
    public string? ApiserverAdvertiseAddress { get; init; }
    public int? ApiserverBindPort { get; init; }
    public IReadOnlyList<string>? ApiserverCertExtraSans { get; init; }
    public string? ControlPlaneEndpoint { get; init; }
    public string? NodeName { get; init; }
    public string? CertDir { get; init; }
    public IReadOnlyList<string>? SkipPhases { get; init; }
    public string? CriSocket { get; init; }
    public bool? UploadCerts { get; init; }
    public string? CertificateKey { get; init; }
    public bool? DryRun { get; init; }
    public string? Token { get; init; }
    public string? TokenTtl { get; init; }
    public IReadOnlyList<string>? IgnorePreflightErrors { get; init; }

    /// <summary>Cni is --cni (flannel|none), a Kubeforge addition.</summary>
    public string? Cni { get; init; }

    /// <summary>CniBackend is --cni-backend (vxlan|host-gw).</summary>
    public string? CniBackend { get; init; }

    /// <summary>CniIface is --cni-iface.</summary>
    public string? CniIface { get; init; }

    /// <summary>CniImageRepository is --cni-image-repository.</summary>
    public string? CniImageRepository { get; init; }

    /// <summary>None is "no flags given".</summary>
    public static InitFlags None { get; } = new();

    /// <summary>GivenFlagNames lists the kubeadm names of the flags that were given, sorted like pflag's Visit.</summary>
    public IReadOnlyList<string> GivenFlagNames()
    {
        var names = new List<string>();
        void Add(string name, bool given)
        {
            if (given)
            {
                names.Add(name);
            }
        }
        Add("kubernetes-version", KubernetesVersion is not null);
        Add("image-repository", ImageRepository is not null);
        Add("pod-network-cidr", PodNetworkCidr is not null);
        Add("service-cidr", ServiceCidr is not null);
        Add("service-dns-domain", ServiceDnsDomain is not null);
        Add("apiserver-advertise-address", ApiserverAdvertiseAddress is not null);
        Add("apiserver-bind-port", ApiserverBindPort is not null);
        Add("apiserver-cert-extra-sans", ApiserverCertExtraSans is not null);
        Add("control-plane-endpoint", ControlPlaneEndpoint is not null);
        Add("node-name", NodeName is not null);
        Add("cert-dir", CertDir is not null);
        Add("skip-phases", SkipPhases is not null);
        Add("cri-socket", CriSocket is not null);
        Add("upload-certs", UploadCerts is not null);
        Add("certificate-key", CertificateKey is not null);
        Add("dry-run", DryRun is not null);
        Add("token", Token is not null);
        Add("token-ttl", TokenTtl is not null);
        Add("ignore-preflight-errors", IgnorePreflightErrors is not null);
        Add("cni", Cni is not null);
        Add("cni-backend", CniBackend is not null);
        Add("cni-iface", CniIface is not null);
        Add("cni-image-repository", CniImageRepository is not null);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>AllowedWithConfig are the flags kubeadm (v1.22+) lets you combine with --config ("skip-*" too), plus
    /// Kubeforge's own --cni* flags (no kubeadm document holds them).</summary>
    public static readonly IReadOnlySet<string> AllowedWithConfig = new HashSet<string>
    {
        "config", "ignore-preflight-errors", "dry-run", "kubeconfig", "node-name", "kubeconfig-dir", "upload-certs",
        "print-join-command", "rootfs", "v", "cni", "cni-backend", "cni-iface", "cni-image-repository",
    };
}
