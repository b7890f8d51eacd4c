using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.Config;

/// <summary>Arg is one command-line argument of a component (extraArgs entry). v1beta3 maps and
/// v1beta4 lists both become an ordered list of these.</summary>
public sealed record Arg(string Name, string Value);

/// <summary>EnvVar is an extra environment variable of a control-plane component (v1beta4 extraEnvs).</summary>
public sealed record EnvVar(string Name, string Value);

/// <summary>HostPathMount is an extra volume of a control-plane component.</summary>
public sealed record HostPathMount(string Name, string HostPath, string MountPath, bool ReadOnly, string? PathType);

/// <summary>BootstrapTokenSpec is a bootstrap token of InitConfiguration.bootstrapTokens.</summary>
public sealed class BootstrapTokenSpec
{
    /// <summary>Token is "abcdef.0123456789abcdef"; generated when empty.</summary>
    public string? Token { get; set; }
    public string? Description { get; set; }
    public TimeSpan? Ttl { get; set; } = TimeSpan.FromHours(24);
    public DateTimeOffset? Expires { get; set; }
    public List<string> Usages { get; set; } = ["signing", "authentication"];
    public List<string> Groups { get; set; } = ["system:bootstrappers:kubeadm:default-node-token"];
}

public sealed class NodeRegistration
{
    public string Name { get; set; } = "";
    public string CriSocket { get; set; } = "";

    /// <summary>Taints: null means the version's default control-plane taints; an empty list means none.</summary>
    public List<Taint>? Taints { get; set; }
    public List<Arg> KubeletExtraArgs { get; set; } = [];
    public List<string> IgnorePreflightErrors { get; set; } = [];
    public string ImagePullPolicy { get; set; } = "IfNotPresent";

    /// <summary>ImagePullSerial is v1beta4's nodeRegistration.imagePullSerial (default true).</summary>
    public bool ImagePullSerial { get; set; } = true;
}

/// <summary>Timeouts are v1beta4's InitConfiguration.timeouts (v1beta3: only apiServer.timeoutForControlPlane).</summary>
public sealed class Timeouts
{
    public TimeSpan ControlPlaneComponentHealthCheck { get; set; } = TimeSpan.FromMinutes(4);
    public TimeSpan KubeletHealthCheck { get; set; } = TimeSpan.FromMinutes(4);
    public TimeSpan KubernetesApiCall { get; set; } = TimeSpan.FromMinutes(1);
    public TimeSpan EtcdApiCall { get; set; } = TimeSpan.FromMinutes(2);
    public TimeSpan TlsBootstrap { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan Discovery { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan UpgradeManifests { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class ApiEndpoint
{
    public string AdvertiseAddress { get; set; } = "";
    public int BindPort { get; set; } = 6443;
}

/// <summary>InitConfiguration is the node-specific part of kubeadm's init config (internal form).</summary>
public sealed class InitConfiguration
{
    public List<BootstrapTokenSpec> BootstrapTokens { get; set; } = [new BootstrapTokenSpec()];
    public NodeRegistration NodeRegistration { get; set; } = new();
    public ApiEndpoint LocalApiEndpoint { get; set; } = new();
    public string? CertificateKey { get; set; }
    public List<string> SkipPhases { get; set; } = [];

    /// <summary>DryRun is v1beta4's dryRun (also set by --dry-run).</summary>
    public bool DryRun { get; set; }

    /// <summary>Timeouts (v1beta4); ControlPlaneComponentHealthCheck mirrors ApiServer.TimeoutForControlPlane.</summary>
    public Timeouts Timeouts { get; set; } = new();

    /// <summary>PatchesDirectory is patches.directory (null: none).</summary>
    public string? PatchesDirectory { get; set; }

    /// <summary>UploadCerts is the --upload-certs flag (not a config field).</summary>
    public bool UploadCerts { get; set; }
}

public sealed class ControlPlaneComponent
{
    public List<Arg> ExtraArgs { get; set; } = [];
    public List<HostPathMount> ExtraVolumes { get; set; } = [];
    public List<EnvVar> ExtraEnvs { get; set; } = [];
}

public sealed class ApiServerConfig
{
    public List<Arg> ExtraArgs { get; set; } = [];
    public List<HostPathMount> ExtraVolumes { get; set; } = [];
    public List<EnvVar> ExtraEnvs { get; set; } = [];
    public List<string> CertSans { get; set; } = [];
    public TimeSpan TimeoutForControlPlane { get; set; } = TimeSpan.FromMinutes(4);
}

public sealed class LocalEtcd
{
    public string? ImageRepository { get; set; }
    public string? ImageTag { get; set; }
    public string DataDir { get; set; } = "/var/lib/etcd";
    public List<Arg> ExtraArgs { get; set; } = [];
    public List<EnvVar> ExtraEnvs { get; set; } = [];
    public List<string> ServerCertSans { get; set; } = [];
    public List<string> PeerCertSans { get; set; } = [];
}

public sealed class ExternalEtcd
{
    public List<string> Endpoints { get; set; } = [];
    public string CaFile { get; set; } = "";
    public string CertFile { get; set; } = "";
    public string KeyFile { get; set; } = "";
}

public sealed class EtcdConfig
{
    /// <summary>Local is set unless External is (kubeadm defaults to local, stacked etcd).</summary>
    public LocalEtcd? Local { get; set; } = new();
    public ExternalEtcd? External { get; set; }
}

public sealed class Networking
{
    public string ServiceSubnet { get; set; } = "10.96.0.0/12";
    public string? PodSubnet { get; set; }
    public string DnsDomain { get; set; } = "cluster.local";
}

public sealed class DnsConfig
{
    public string? ImageRepository { get; set; }
    public string? ImageTag { get; set; }
    public bool Disabled { get; set; }
}

/// <summary>ClusterConfiguration is the cluster-wide part of kubeadm's config (internal form).</summary>
public sealed class ClusterConfiguration
{
    public string KubernetesVersion { get; set; } = "";
    public string ImageRepository { get; set; } = "";
    public string ControlPlaneEndpoint { get; set; } = "";
    public string ClusterName { get; set; } = "kubernetes";
    public string CertificatesDir { get; set; } = "/etc/kubernetes/pki";

    /// <summary>EncryptionAlgorithm: RSA-2048 (default), RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384.</summary>
    public string EncryptionAlgorithm { get; set; } = "RSA-2048";
    public Networking Networking { get; set; } = new();
    public EtcdConfig Etcd { get; set; } = new();
    public ApiServerConfig ApiServer { get; set; } = new();
    public ControlPlaneComponent ControllerManager { get; set; } = new();
    public ControlPlaneComponent Scheduler { get; set; } = new();
    public DnsConfig Dns { get; set; } = new();
    public bool ProxyDisabled { get; set; }
    public Dictionary<string, bool> FeatureGates { get; set; } = new();

    /// <summary>CertificateValidityPeriod for leaf certificates (v1beta4), default 1 year.</summary>
    public TimeSpan CertificateValidityPeriod { get; set; } = TimeSpan.FromDays(365);

    /// <summary>CaCertificateValidityPeriod for CAs (v1beta4), default 10 years.</summary>
    public TimeSpan CaCertificateValidityPeriod { get; set; } = TimeSpan.FromDays(3650);
}

/// <summary>CniConfig is Kubeforge's pod-network addon choice (not a kubeadm API field; set from the init flags
/// --cni, --cni-backend, --cni-iface and --cni-image-repository).</summary>
public sealed class CniConfig
{
    public const string None = "none";
    public const string Flannel = "flannel";

    /// <summary>Plugins are the accepted --cni values.</summary>
    public static readonly IReadOnlyList<string> Plugins = [None, Flannel];

    /// <summary>Backends are the accepted --cni-backend values.</summary>
    public static readonly IReadOnlyList<string> Backends = ["vxlan", "host-gw"];

    /// <summary>Plugin is "none" (default: no pod network is installed) or "flannel".</summary>
    public string Plugin { get; set; } = None;

    /// <summary>Backend is flannel's backend type: "vxlan" (default) or "host-gw".</summary>
    public string Backend { get; set; } = "vxlan";

    /// <summary>Interface is the node interface flanneld uses (--iface), null: flannel's choice (default route).</summary>
    public string? Interface { get; set; }

    /// <summary>ImageRepository replaces the registry/organisation of the CNI images (null: the release's own).</summary>
    public string? ImageRepository { get; set; }

    /// <summary>Enabled: a CNI addon is to be installed.</summary>
    public bool Enabled => Plugin != None;
}

/// <summary>KubeadmConfig is a whole, defaulted and validated init configuration: the kubeadm
/// documents of one file plus the version profile they resolve to. Renders take this as input.</summary>
public sealed class KubeadmConfig
{
    public InitConfiguration Init { get; set; } = new();
    public ClusterConfiguration Cluster { get; set; } = new();

    /// <summary>KubeletConfiguration as given by the user (may be empty); kubeadm's defaults are applied on render.</summary>
    public YMap KubeletConfiguration { get; set; } = new();

    /// <summary>KubeProxyConfiguration as given by the user (may be empty); kubeadm's defaults are applied on render.</summary>
    public YMap KubeProxyConfiguration { get; set; } = new();

    /// <summary>Cni is the pod-network addon Kubeforge installs beyond kubeadm (default: none).</summary>
    public CniConfig Cni { get; set; } = new();

    /// <summary>Version is the parsed ClusterConfiguration.kubernetesVersion.</summary>
    public required KubeVersion Version { get; set; }

    /// <summary>Profile is the version table row for Version.</summary>
    public required VersionProfile Profile { get; set; }

    /// <summary>SourceApiVersion is the kubeadm API the file was written in (null: built from flags).</summary>
    public string? SourceApiVersion { get; set; }

    /// <summary>FromFlagsOnly: no --config was given (kubeadm then gives the default token a description).</summary>
    public bool FromFlagsOnly { get; set; } = true;

    /// <summary>Warnings found while loading (ignored documents, suspicious values); callers print them.</summary>
    public List<string> Warnings { get; set; } = [];

    public string CertDir => Cluster.CertificatesDir;
    public string NodeName => Init.NodeRegistration.Name;
    public string AdvertiseAddress => Init.LocalApiEndpoint.AdvertiseAddress;
    public int BindPort => Init.LocalApiEndpoint.BindPort;
    public bool LocalEtcd => Cluster.Etcd.External is null;

    /// <summary>EffectiveImageRepository is imageRepository or the version's default.</summary>
    public string ImageRepository => string.IsNullOrEmpty(Cluster.ImageRepository) ? Profile.DefaultImageRepository : Cluster.ImageRepository;
}
