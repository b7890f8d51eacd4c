namespace Kubeforge.Versions;

/// <summary>VersionTable is the one table of what differs between Kubernetes minors. Every boundary
/// below is written once, here; sources are in spec/kubeadm.md (section numbers in comments) and
/// in research notes where the spec is unsure.</summary>
public static class VersionTable
{
    public const int OldestMinor = 22;

    // minor → (default patch release, etcd tag, CoreDNS tag, pause tag)   (spec §0, §13)
    private static readonly (int Minor, string Patch, string Etcd, string CoreDns, string Pause)[] Images =
    [
        (22, "v1.22.17", "3.5.0-0", "v1.8.4", "3.5"),
        (23, "v1.23.17", "3.5.1-0", "v1.8.6", "3.6"),
        (24, "v1.24.17", "3.5.3-0", "v1.8.6", "3.7"),
        (25, "v1.25.16", "3.5.4-0", "v1.9.3", "3.8"),
        (26, "v1.26.15", "3.5.6-0", "v1.9.3", "3.9"),
        (27, "v1.27.16", "3.5.7-0", "v1.10.1", "3.9"),
        (28, "v1.28.15", "3.5.9-0", "v1.10.1", "3.9"),
        (29, "v1.29.15", "3.5.10-0", "v1.11.1", "3.9"),
        (30, "v1.30.14", "3.5.12-0", "v1.11.1", "3.9"),
        (31, "v1.31.14", "3.5.15-0", "v1.11.3", "3.10"),
        (32, "v1.32.10", "3.5.16-0", "v1.11.3", "3.10"),
        (33, "v1.33.6", "3.5.21-0", "v1.12.0", "3.10"),
        (34, "v1.34.2", "3.6.4-0", "v1.12.1", "3.10.1"),
        (35, "v1.35.0", "3.6.6-0", "v1.13.1", "3.10.1"),
        (36, "v1.36.0", "3.6.8-0", "v1.14.2", "3.10.2"),
        (37, "v1.37.0", "3.7.0-0", "v1.14.4", "3.10.2"),
    ];

    private static readonly VersionProfile[] Rows = Images.Select(Build).ToArray();

    /// <summary>All returns every supported minor, oldest first.</summary>
    public static IReadOnlyList<VersionProfile> All => Rows;

    /// <summary>Newest is the newest supported minor.</summary>
    public static VersionProfile Newest => Rows[^1];

    /// <summary>TryGet finds the row for a version's minor (major must be 1).</summary>
    public static bool TryGet(KubeVersion v, out VersionProfile profile)
    {
        profile = Newest;
        if (v.Major != 1)
        {
            return false;
        }
        foreach (var r in Rows)
        {
            if (r.Minor == v.Minor)
            {
                profile = r;
                return true;
            }
        }
        return false;
    }

    /// <summary>SupportedRange is the text used in errors: "v1.22 to v1.34".</summary>
    public static string SupportedRange => $"v1.{OldestMinor} to v1.{Newest.Minor}";

    private static VersionProfile Build((int Minor, string Patch, string Etcd, string CoreDns, string Pause) r)
    {
        var m = r.Minor;
        const string cp = "node-role.kubernetes.io/control-plane";
        const string master = "node-role.kubernetes.io/master";
        const string excludeLb = "node.kubernetes.io/exclude-from-external-load-balancers";
        return new VersionProfile
        {
            Minor = m,
            DefaultVersion = KubeVersion.Parse(r.Patch),
            EtcdVersion = r.Etcd,
            CoreDnsVersion = r.CoreDns,
            PauseVersion = r.Pause,
            // §16: registry.k8s.io is the default from v1.25 on
            DefaultImageRepository = m >= 25 ? "registry.k8s.io" : "k8s.gcr.io",
            // §16: v1beta3 up to v1.30, v1beta4 from v1.31 (v1beta3 still read)
            ConfigApiVersion = m >= 31 ? "kubeadm.k8s.io/v1beta4" : "kubeadm.k8s.io/v1beta3",
            ReadableConfigApiVersions = m >= 31
                ? ["kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta4"]
                : ["kubeadm.k8s.io/v1beta3"],
            // §11
            ControlPlaneLabels = m <= 23 ? [master, cp, excludeLb] : [cp, excludeLb],
            ControlPlaneTaints = m <= 23 ? [new Taint(master, "", "NoSchedule")]
                : m == 24 ? [new Taint(master, "", "NoSchedule"), new Taint(cp, "", "NoSchedule")]
                : [new Taint(cp, "", "NoSchedule")],
            // §5.2: UnversionedKubeletConfigMap default-on from v1.24 (UNCONFIRMED boundary)
            UnversionedKubeletConfigMap = m >= 24,
            // §3, §2.1: super-admin.conf and kubeadm:cluster-admins from v1.29
            SuperAdminConf = m >= 29,
            // reset: stateful dirs and the old notes up to v1.26 (boundary UNCONFIRMED; v1.24 logs show the old layout)
            ResetLegacyCleanup = m <= 26,
            AdminGroup = m >= 29 ? "kubeadm:cluster-admins" : "system:masters",
            EtcdClientOrganization = m >= 29 ? null : "system:masters",
            // §4.2/4.3: --port=0 removed in v1.23
            PortZeroFlag = m <= 22,
            // §4.4 + research: /health up to 1.24, serializable health 1.25–1.30, livez/readyz from 1.31
            EtcdProbes = m <= 24 ? new EtcdProbes("/health", "/health", null)
                : m <= 30 ? new EtcdProbes("/health?exclude=NOSPACE&serializable=true", "/health?serializable=false", null)
                : new EtcdProbes("/livez", "/readyz", "/readyz"),
            EtcdExtraFlags = EtcdFlags(m, r.Etcd),
            // §1.1 (boundary UNCONFIRMED: v1.31)
            KubeletStartAfterControlPlane = m >= 31,
            ShowJoinCommandPhase = m >= 30,
            // research: experimental-cert-rotation until 1.31 (both in 1.31), enable-client-cert-rotation from 1.32
            KubeletFinalizeCertRotationPhase = m >= 32 ? "enable-client-cert-rotation" : "experimental-cert-rotation",
            // §2.4
            PkiTimeModel = m <= 27 ? PkiTimeModel.Legacy : m <= 30 ? PkiTimeModel.Backdated : PkiTimeModel.Configurable,
            // §4.1 volumes
            CaTrustPaths = m >= 31
                ? ["/etc/pki/ca-trust", "/etc/pki/tls/certs", "/etc/ca-certificates", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates"]
                : ["/etc/pki", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates", "/etc/ca-certificates"],
            // research: spec.priority from 1.27 (#114338)
            StaticPodPriority = m >= 27,
            // §16: containerd socket
            DefaultCriSocket = m >= 24 ? "unix:///var/run/containerd/containerd.sock" : "/run/containerd/containerd.sock",
            // §5.1
            // research: --container-runtime=remote dropped in 1.26 (#112000); --pod-infra-container-image dropped in 1.35 (#133778)
            ContainerRuntimeRemoteFlag = m <= 25,
            PodInfraContainerImageFlag = m <= 34,
            // §12.1
            CoreDnsCacheBlock = m >= 34,
            CoreDnsMasterToleration = m <= 25,
            // kubeadm dns/manifests.go history (PRs #110593, #117521, #121384, #131587)
            CoreDnsAntiAffinity = m >= 25,
            CoreDnsNodesGetRule = m <= 27,
            CoreDnsDropCapability = m >= 29 ? "ALL" : "all",
            CoreDnsNamedProbePorts = m >= 34,
            // public config.conf dumps (v1.22-era and v1.31-era); boundary between them UNCONFIRMED
            KubeProxyConfigShape = m <= 25 ? "v1.22" : "v1.31",
            // UNCONFIRMED boundary: v1.22 logs show lower-case "configured RBAC rules"
            BootstrapTokenLogCapitalized = m >= 23,
            // §1.2: EtcdLearnerMode beta (on) from v1.29
            EtcdLearnerJoin = m >= 29,
            // §3: ControlPlaneKubeletLocalMode beta (on) from v1.33
            KubeletLocalApiEndpoint = m >= 33,
            // §2.5
            SortExtraArgs = m <= 35,
            FlexVolumeMount = m <= 35,
            KubeletConfigShape = new KubeletConfigShape(
                ContainerRuntimeEndpoint: m >= 27,
                ImageMaximumGcAge: m >= 29,
                CrashLoopBackOff: m >= 32,
                Logging: m <= 24 ? "empty" : m <= 29 ? "json" : "json+text"),
            // research (config helper): real `config images list` output shows pause, etcd, coredns up to v1.28.14
            // and coredns before pause from v1.29.3 on
            ImagesCoreDnsBeforePause = m >= 29,
            // manifests.go wrote authorization-mode into cfg.APIServer.ExtraArgs while extraArgs were maps
            // (v1.22 ConfigMap dump, §10.1); []Arg internal form (1.30) sets it in the defaults only. Boundary UNCONFIRMED.
            UploadedAuthorizationMode = m <= 29,
            PreflightSwapIsError = m <= 27,
            PreflightBridgeNfCheck = m <= 29,
            PreflightConntrackRequired = m <= 31,
            CommunityPackageRepo = m >= 24,
            // v1.22/1.23 init-defaults print the dockershim socket constant (public dumps); 1.24+ containerd URL
            InitDefaultsCriSocket = m <= 23 ? "/var/run/dockershim.sock" : "unix:///var/run/containerd/containerd.sock",
            // flannel-io/flannel Documentation/kube-flannel.yml: v0.15.1 (Nov 2021, kube-system, cni plugin from
            // rancher's mirror) for the oldest minors; v0.26.7 (kube-flannel namespace, ghcr.io) from v1.24 on.
            Flannel = m <= 23
                ? new FlannelPins("v0.15.1", "v1.0.0", "quay.io/coreos/flannel", "rancher/mirrored-flannelio-flannel-cni-plugin", "kube-system", "v0.15")
                : new FlannelPins("v0.26.7", "v1.6.2-flannel1", "ghcr.io/flannel-io/flannel", "ghcr.io/flannel-io/flannel-cni-plugin", "kube-flannel", "v0.26"),
            EncryptionAlgorithms = m >= 34 ? ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"]
                : m >= 31 ? ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256"]
                : ["RSA-2048", "ECDSA-P256"],
        };
    }

    private static Dictionary<string, string> EtcdFlags(int minor, string etcdTag)
    {
        // research: corrupt check from 1.24 (#109074), watch-progress from 1.25 (#111383); etcd >= 3.6 images
        // use the feature-gate forms (1.34+), always from 1.36.
        var flags = new Dictionary<string, string>();
        if (minor < 24)
        {
            return flags;
        }
        var etcd36 = !etcdTag.StartsWith("3.5", StringComparison.Ordinal);
        if (etcd36)
        {
            return new()
            {
                ["feature-gates"] = "InitialCorruptCheck=true",
                ["watch-progress-notify-interval"] = "5s",
            };
        }
        flags["experimental-initial-corrupt-check"] = "true";
        if (minor >= 25)
        {
            flags["experimental-watch-progress-notify-interval"] = "5s";
        }
        return flags;
    }
}
