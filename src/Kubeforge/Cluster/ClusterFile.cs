using Kubeforge.Config;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.Cluster;

/// <summary>ClusterFile is a read, defaulted and validated cluster file (apiVersion kubeforge.io/v1alpha1, kind
/// Cluster): the hosts and the cluster-wide choices <c>kubeforge up</c> and <c>plan</c> work from. Like sealos'
/// Clusterfile and KubeKey's Cluster it lists hosts with roles; mirrors, HA endpoint and leader election are
/// first-class fields, and anything else of kubeadm passes through <see cref="Kubeadm"/>.</summary>
public sealed partial class ClusterFile
{
    public const string ApiVersion = "kubeforge.io/v1alpha1";
    public const string Kind = "Cluster";

    /// <summary>Name is metadata.name, the cluster name (kubeadm clusterName), default "kubernetes".</summary>
    public string Name { get; set; } = "kubernetes";

    /// <summary>Source names where the file came from (used in messages).</summary>
    public string Source { get; set; } = "cluster";

    /// <summary>Version is the resolved spec.kubernetesVersion (default: the newest supported release).</summary>
    public required KubeVersion Version { get; set; }

    /// <summary>Profile is the version table row of Version.</summary>
    public required VersionProfile Profile { get; set; }

    public List<ClusterHost> Hosts { get; set; } = [];
    public MirrorSpec Mirror { get; set; } = new();
    public ContainerdSpec Containerd { get; set; } = new();
    public NetworkSpec Network { get; set; } = new();

    /// <summary>Ha is spec.ha (null: no VIP; then only one control plane is allowed).</summary>
    public HaSpec? Ha { get; set; }
    public LeaderElectionSpec LeaderElection { get; set; } = new();
    public KubeadmOverrides Kubeadm { get; set; } = new();

    /// <summary>KubernetesBinaries is spec.kubernetesBinaries: "packages" (install kubelet/kubectl from the package mirror) or
    /// "preinstalled" (a golden image or an air-gapped host already has them; the packages step only verifies the version).</summary>
    public string KubernetesBinaries { get; set; } = PackagesBinaries;

    /// <summary>Images is spec.images: "pull" (pull the release's images through containerd) or "preinstalled" (skip pulling).</summary>
    public string Images { get; set; } = PullImages;

    /// <summary>KnownHosts is spec.knownHosts: the known_hosts file host keys are checked against (relative to the cluster
    /// file's folder; null: --known-hosts or ~/.ssh/known_hosts).</summary>
    public string? KnownHosts { get; set; }

    /// <summary>IgnorePreflightErrors is spec.ignorePreflightErrors: check names whose errors become warnings on every host
    /// (the preflight step and init/join's own checks), e.g. NumCPU on small test machines.</summary>
    public List<string> IgnorePreflightErrors { get; set; } = [];

    public const string PackagesBinaries = "packages";
    public const string PreinstalledBinaries = "preinstalled";
    public const string PullImages = "pull";
    public const string PreinstalledImages = "preinstalled";

    /// <summary>Warnings are problems that do not stop the cluster (e.g. an even number of etcd members).</summary>
    public List<string> Warnings { get; set; } = [];

    public IEnumerable<ClusterHost> ControlPlanes => Hosts.Where(h => h.IsControlPlane);
    public IEnumerable<ClusterHost> Workers => Hosts.Where(h => !h.IsControlPlane);

    /// <summary>FirstControlPlane is the host kubeadm init runs on (the first control plane in file order).</summary>
    public ClusterHost FirstControlPlane => ControlPlanes.First();

    /// <summary>ControlPlaneEndpoint is "vip:port" with HA, else "" (kubeadm then uses the advertise address).</summary>
    public string ControlPlaneEndpoint => Ha is { } ha ? $"{(ha.Vip.Contains(':') ? $"[{ha.Vip}]" : ha.Vip)}:{ha.Port}" : "";

    /// <summary>Without returns a shallow copy of the file without the host named name (e.g. to render the load balancers
    /// of the control planes that remain after a removal).</summary>
    public ClusterFile Without(string name)
    {
        var copy = (ClusterFile)MemberwiseClone();
        copy.Hosts = Hosts.Where(h => h.Name != name).ToList();
        return copy;
    }

    /// <summary>LoadKeys reads spec.mirror.osPackageKey and packageKey (relative to dir, the cluster file's folder); a missing
    /// file or one that is no OpenPGP public key is a UserError naming the field.</summary>
    public void LoadKeys(string dir)
    {
        Mirror.OsPackageKeyData = Mirror.OsPackageKey is { } os ? ReadKey(dir, os, "spec.mirror.osPackageKey") : null;
        Mirror.PackageKeyData = Mirror.PackageKey is { } pk ? ReadKey(dir, pk, "spec.mirror.packageKey") : null;
    }

    private static byte[] ReadKey(string dir, string path, string field)
    {
        var full = path.StartsWith("~/", StringComparison.Ordinal) ? System.IO.Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..])
            : System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.GetFullPath(System.IO.Path.Join(dir, path));
        if (!File.Exists(full))
        {
            throw new UserError($"{field}: {full} does not exist; export the repository's signing key there with gpg --export --armor KEYID");
        }
        var key = File.ReadAllBytes(full);
        return Node.OsMirror.IsOpenPgpKey(key) ? key
            : throw new UserError($"{field}: {full} is not an OpenPGP public key (armored or binary); export it with gpg --export [--armor] KEYID");
    }

    /// <summary>Host returns the host named name or throws a UserError listing the names.</summary>
    public ClusterHost Host(string name) => Hosts.FirstOrDefault(h => h.Name == name)
        ?? throw new UserError($"{Source}: no host named \"{name}\" in spec.hosts; known hosts: {string.Join(", ", Hosts.Select(h => h.Name))}");

    /// <summary>Default is the built-in cluster <c>kubeforge up</c> means without a file: this machine alone,
    /// control plane and worker (untainted), flannel, default mirrors, newest supported release.</summary>
    public static ClusterFile Default(NodeIdentity node)
    {
        var address = node.AdvertiseAddress
            ?? throw new UserError("no default route found to choose this machine's address; write a cluster file (kubeforge config print cluster) and set spec.hosts[0].address");
        var profile = VersionTable.Newest;
        var file = new ClusterFile
        {
            Source = "built-in single-node cluster",
            Version = profile.DefaultVersion,
            Profile = profile,
            Hosts = [new ClusterHost { Index = 0, Name = node.NodeName, Address = address, Local = true, Roles = [ClusterHost.ControlPlaneRole, ClusterHost.WorkerRole] }],
        };
        file.Mirror.Expand(profile);
        return file;
    }
}

/// <summary>ClusterHost is one entry of spec.hosts: how to reach the machine and what it becomes.</summary>
public sealed class ClusterHost
{
    public const string ControlPlaneRole = "control-plane";
    public const string WorkerRole = "worker";

    /// <summary>Index is the position in spec.hosts (for messages).</summary>
    public int Index { get; set; }
    public string Name { get; set; } = "";

    /// <summary>Address is the IP the operator reaches the host at over SSH (also its node IP unless NodeIp is set).</summary>
    public string Address { get; set; } = "";
    public int Port { get; set; } = 22;
    public string User { get; set; } = "root";

    /// <summary>SshKey is the path of a private key on the operator's machine (null: ssh-agent / default keys).</summary>
    public string? SshKey { get; set; }

    /// <summary>PasswordFrom is a reference to the SSH password, "env:NAME" or "file:PATH", never the password itself.</summary>
    public string? PasswordFrom { get; set; }
    public List<string> Roles { get; set; } = [];
    public Dictionary<string, string> Labels { get; set; } = new();

    /// <summary>Taints replace the role's default taints when given (null: a control plane that is not also a
    /// worker keeps kubeadm's control-plane taint; other nodes are untainted).</summary>
    public List<Taint>? Taints { get; set; }

    /// <summary>Interface is the network interface the node's traffic uses (flannel --iface, keepalived interface).</summary>
    public string? Interface { get; set; }

    /// <summary>NodeIp is the node's cluster address when it differs from Address (multi-NIC hosts).</summary>
    public string? NodeIp { get; set; }

    /// <summary>Local is true for the built-in single-node cluster: the host is this machine, reached without SSH.</summary>
    public bool Local { get; set; }

    public bool IsControlPlane => Roles.Contains(ControlPlaneRole);
    public bool IsWorker => Roles.Contains(WorkerRole);

    /// <summary>ClusterAddress is the address the node advertises in the cluster (NodeIp, else Address).</summary>
    public string ClusterAddress => NodeIp ?? Address;

    /// <summary>Label is "spec.hosts[i] (name)", the prefix of this host's messages.</summary>
    public string Label => Name.Length > 0 ? $"spec.hosts[{Index}] ({Name})" : $"spec.hosts[{Index}]";

    public override string ToString() => Name;
}

/// <summary>MirrorSpec is spec.mirror: where images and packages come from. A preset fills what is not given.</summary>
public sealed class MirrorSpec
{
    public const string DefaultPreset = "default";
    public const string AliyunPreset = "aliyun";
    public const string CustomPreset = "custom";
    public static readonly IReadOnlyList<string> Presets = [DefaultPreset, AliyunPreset, CustomPreset];

    /// <summary>AliyunImageRepository is the Aliyun copy of registry.k8s.io used by the aliyun preset.</summary>
    public const string AliyunImageRepository = "registry.aliyuncs.com/google_containers";

    public string Preset { get; set; } = DefaultPreset;

    /// <summary>ImageRepository is kubeadm's imageRepository (null before expansion with the default preset: the
    /// version's own default, registry.k8s.io or k8s.gcr.io before v1.25).</summary>
    public string? ImageRepository { get; set; }

    /// <summary>PackageRepository is the base of the Kubernetes package repositories (pkgs.k8s.io layout:
    /// &lt;base&gt;v1.NN/deb/ and &lt;base&gt;v1.NN/rpm/).</summary>
    public string? PackageRepository { get; set; }

    /// <summary>ContainerdRepository is the base of the Docker CE repositories that ship containerd.io.</summary>
    public string? ContainerdRepository { get; set; }

    /// <summary>OsPackageRepository is an offline/local mirror of the OS's own packages (containerd, runc...): "URL" (flat apt
    /// repository or yum baseurl) or "URL suite component..." (Node.OsPackageMirror.Parse); null: the hosts' own sources.</summary>
    public string? OsPackageRepository { get; set; }

    /// <summary>OsPackageKey is the operator-side file of the OpenPGP key OsPackageRepository is signed with (GPG checks stay on).</summary>
    public string? OsPackageKey { get; set; }

    /// <summary>PackageKey is spec.mirror.packageKey: the operator-side file of the OpenPGP key a custom PackageRepository is
    /// signed with; it is written to each host instead of fetching the repository's Release.key (null: fetched, as upstream does).</summary>
    public string? PackageKey { get; set; }

    /// <summary>OsPackageKeyData and PackageKeyData are the key files' bytes, read by <see cref="ClusterFile.LoadKeys"/>.</summary>
    public byte[]? OsPackageKeyData { get; set; }
    public byte[]? PackageKeyData { get; set; }
    public List<RegistryMirror> RegistryMirrors { get; set; } = [];

    /// <summary>UpstreamPackageRepository and AliyunPackageRepository are the presets' package bases.</summary>
    public const string UpstreamPackageRepository = "https://pkgs.k8s.io/core:/stable:/";
    public const string AliyunPackageRepository = "https://mirrors.aliyun.com/kubernetes-new/core/stable/";

    /// <summary>CustomPackages is the Kubernetes package repository when it is not a preset's (another base, or a key given),
    /// else null: the preset's repositories (including the legacy Aliyun ones for minors older than pkgs.k8s.io) are used.</summary>
    public KubePackageRepo? CustomPackages => PackageRepository is { } b && (PackageKey is not null || b is not (UpstreamPackageRepository or AliyunPackageRepository))
        ? new KubePackageRepo(b, PackageKeyData ?? (PackageKey is null ? null : throw new UserError($"spec.mirror.packageKey: {PackageKey} was not read; the cluster file must be loaded from disk")))
        : null;

    /// <summary>OsMirror is the OS package mirror of OsPackageRepository with its key (null: the hosts' own sources).</summary>
    public OsPackageMirror? OsPackages => OsPackageRepository is { } u
        ? OsPackageMirror.Parse(u, OsPackageKeyData ?? throw new UserError($"spec.mirror.osPackageKey: {OsPackageKey} was not read; the cluster file must be loaded from disk"),
            "spec.mirror.osPackageRepository", "spec.mirror.osPackageKey")
        : null;

    /// <summary>Expand fills the fields the preset defines and the user did not set (default: the release's own
    /// registry, registry.k8s.io, or k8s.gcr.io before v1.25).</summary>
    public void Expand(Versions.VersionProfile profile)
    {
        switch (Preset)
        {
            case AliyunPreset:
                ImageRepository ??= AliyunImageRepository;
                PackageRepository ??= AliyunPackageRepository;
                ContainerdRepository ??= "https://mirrors.aliyun.com/docker-ce/linux/";
                break;
            case DefaultPreset:
                ImageRepository ??= profile.DefaultImageRepository;
                PackageRepository ??= UpstreamPackageRepository;
                ContainerdRepository ??= "https://download.docker.com/linux/";
                break;
        }
    }
}

/// <summary>RegistryMirror is one containerd registry mirror (hosts.toml): registry "docker.io" pulled via endpoints.</summary>
public sealed record RegistryMirror(string Registry, IReadOnlyList<string> Endpoints, string? CaFile);

/// <summary>ContainerdSpec is spec.containerd.</summary>
public sealed class ContainerdSpec
{
    public const string Distro = "distro";

    /// <summary>Version is "distro" (the OS package) or a containerd release such as 1.7.22.</summary>
    public string Version { get; set; } = Distro;

    /// <summary>SandboxImage overrides the pause image (null: &lt;imageRepository&gt;/pause:&lt;version's tag&gt;).</summary>
    public string? SandboxImage { get; set; }
}

/// <summary>NetworkSpec is spec.network.</summary>
public sealed class NetworkSpec
{
    public string PodSubnet { get; set; } = "10.244.0.0/16";
    public string ServiceSubnet { get; set; } = "10.96.0.0/12";
    public string DnsDomain { get; set; } = "cluster.local";

    /// <summary>Cni is "flannel" (default) or "none".</summary>
    public string Cni { get; set; } = CniConfig.Flannel;
    public string FlannelBackend { get; set; } = "vxlan";
}

/// <summary>HaSpec is spec.ha: a virtual IP held by keepalived on the control planes, in front of a local load
/// balancer (haproxy or nginx) on every control plane that spreads to all apiservers.</summary>
public sealed class HaSpec
{
    /// <summary>DefaultPort is 8443, not 6443: the load balancer runs on the control-plane nodes themselves, where
    /// the local kube-apiserver already listens on 6443 (on all addresses), so the balancer needs another port.</summary>
    public const int DefaultPort = 8443;
    public static readonly IReadOnlyList<string> LoadBalancers = ["haproxy", "nginx"];

    public string Vip { get; set; } = "";
    public int Port { get; set; } = DefaultPort;
    public string LoadBalancer { get; set; } = "haproxy";
    public KeepalivedSpec Keepalived { get; set; } = new();
}

/// <summary>KeepalivedSpec is spec.ha.keepalived (the VRRP instance holding the VIP).</summary>
public sealed class KeepalivedSpec
{
    public string RouterId { get; set; } = "kubeforge";

    /// <summary>Interface carries the VIP (null: each host's interface, else its default-route interface).</summary>
    public string? Interface { get; set; }
    public int VirtualRouterId { get; set; } = 51;
}

/// <summary>LeaderElectionSpec is spec.leaderElection for kube-controller-manager and kube-scheduler.</summary>
public sealed class LeaderElectionSpec
{
    public static readonly TimeSpan DefaultLeaseDuration = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan DefaultRenewDeadline = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultRetryPeriod = TimeSpan.FromSeconds(2);

    public TimeSpan LeaseDuration { get; set; } = DefaultLeaseDuration;
    public TimeSpan RenewDeadline { get; set; } = DefaultRenewDeadline;
    public TimeSpan RetryPeriod { get; set; } = DefaultRetryPeriod;

    /// <summary>Problems checks client-go's NewLeaderElector rule leaseDuration &gt; renewDeadline &gt; 1.2 × retryPeriod &gt; 0,
    /// in client-go's order, and returns one message per broken rule naming it.</summary>
    public IReadOnlyList<string> Problems()
    {
        var list = new List<string>();
        var f = GoDuration.Format;
        if (LeaseDuration <= RenewDeadline)
        {
            list.Add($"leaseDuration ({f(LeaseDuration)}) must be greater than renewDeadline ({f(RenewDeadline)}) (rule leaseDuration > renewDeadline > 1.2 × retryPeriod > 0); raise leaseDuration or lower renewDeadline");
        }
        var jittered = TimeSpan.FromTicks((long)(RetryPeriod.Ticks * 1.2));
        if (RenewDeadline <= jittered)
        {
            list.Add($"renewDeadline ({f(RenewDeadline)}) must be greater than retryPeriod × 1.2 ({f(jittered)}) (client-go: \"renewDeadline must be greater than retryPeriod*JitterFactor\"); raise renewDeadline or lower retryPeriod");
        }
        foreach (var (name, value) in new[] { ("leaseDuration", LeaseDuration), ("renewDeadline", RenewDeadline), ("retryPeriod", RetryPeriod) })
        {
            if (value <= TimeSpan.Zero)
            {
                list.Add($"{name} ({f(value)}) must be greater than zero");
            }
        }
        return list;
    }

    /// <summary>IsDefault: all three are the components' defaults (15s / 10s / 2s), so no flags are needed.</summary>
    public bool IsDefault => LeaseDuration == DefaultLeaseDuration && RenewDeadline == DefaultRenewDeadline && RetryPeriod == DefaultRetryPeriod;
}

/// <summary>KubeadmOverrides is spec.kubeadm: raw kubeadm ClusterConfiguration / InitConfiguration fields merged
/// over what Kubeforge generates (written in ApiVersion, default the release's own config API).</summary>
public sealed class KubeadmOverrides
{
    /// <summary>ApiVersion is the kubeadm config API the overrides are written in (null: the release's).</summary>
    public string? ApiVersion { get; set; }
    public YMap ClusterConfiguration { get; set; } = new();
    public YMap InitConfiguration { get; set; } = new();
}
