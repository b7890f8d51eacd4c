namespace Kubeforge.Versions;

/// <summary>PkiTimeModel says how a kubeadm release sets serials and validity windows (spec/kubeadm.md §2.4).</summary>
public enum PkiTimeModel
{
    /// <summary>v1.22–v1.27: CA serial 0, CA NotBefore = now (no backdate), leaf NotBefore = CA NotBefore, leaf NotAfter = now + 1y.</summary>
    Legacy,

    /// <summary>v1.28–v1.30: random CA serial, CA NotBefore = now − 5 min, leaf NotBefore = CA NotBefore, leaf NotAfter = now + 1y.</summary>
    Backdated,

    /// <summary>v1.31+: every certificate NotBefore = start − 5 min, NotAfter = start + validity period.</summary>
    Configurable,
}

/// <summary>Taint is a node taint (key, value, effect).</summary>
public sealed record Taint(string Key, string Value, string Effect)
{
    public override string ToString() => Value.Length > 0 ? $"{Key}={Value}:{Effect}" : $"{Key}:{Effect}";
}

/// <summary>EtcdProbes are the HTTP paths of the etcd static pod's probes (null: no such probe).</summary>
public sealed record EtcdProbes(string Liveness, string Startup, string? Readiness);

/// <summary>KubeletConfigShape is how a release's kubelet marshals its defaulted KubeletConfiguration.</summary>
public sealed record KubeletConfigShape(
    bool ContainerRuntimeEndpoint,
    bool ImageMaximumGcAge,
    bool CrashLoopBackOff,
    string Logging);

/// <summary>FlannelPins are the flannel release Kubeforge's CNI addon installs for a Kubernetes minor (facts of that
/// release's Documentation/kube-flannel.yml). Image and CniPluginImage are full repositories without tag;
/// ManifestShape names the manifest layout: "v0.15" (kube-system, PSP-era RBAC, requests+limits, no xtables-lock)
/// or "v0.26" (own namespace, k8s-app labels, EVENT_QUEUE_DEPTH, xtables-lock, EnableNFTables).</summary>
public sealed record FlannelPins(string Version, string CniPluginVersion, string Image, string CniPluginImage, string NamespaceName, string ManifestShape)
{
    /// <summary>ImageRepository is the registry/organisation part of Image.</summary>
    public string ImageRepository => Image[..Image.LastIndexOf('/')];
}

/// <summary>VersionProfile holds everything that differs between Kubernetes minors, as kubeadm of that
/// minor does it. It is the only place where version differences live: code asks the profile, never
/// compares versions itself. Rows are built in <see cref="VersionTable"/>.</summary>
public sealed record VersionProfile
{
    public required int Minor { get; init; }

    /// <summary>DefaultPatch is the release used when a config names only the minor, or no version at all (newest row).</summary>
    public required KubeVersion DefaultVersion { get; init; }

    public required string EtcdVersion { get; init; }
    public required string CoreDnsVersion { get; init; }
    public required string PauseVersion { get; init; }

    /// <summary>DefaultImageRepository is kubeadm's default imageRepository (k8s.gcr.io before v1.25).</summary>
    public required string DefaultImageRepository { get; init; }

    /// <summary>ConfigApiVersion is the kubeadm config API the release writes (kubeadm-config ConfigMap, print init-defaults).</summary>
    public required string ConfigApiVersion { get; init; }

    /// <summary>ConfigApiVersions are the kubeadm config APIs the release reads.</summary>
    public required IReadOnlyList<string> ReadableConfigApiVersions { get; init; }

    public required IReadOnlyList<string> ControlPlaneLabels { get; init; }
    public required IReadOnlyList<Taint> ControlPlaneTaints { get; init; }

    /// <summary>UnversionedKubeletConfigMap: "kubelet-config" instead of "kubelet-config-1.xx".</summary>
    public required bool UnversionedKubeletConfigMap { get; init; }

    /// <summary>SuperAdminConf: init writes super-admin.conf and admin.conf uses kubeadm:cluster-admins.</summary>
    public required bool SuperAdminConf { get; init; }

    /// <summary>ResetLegacyCleanup: reset's cleanup-node also empties the "stateful directories" (/var/lib/dockershim,
    /// /var/run/kubernetes, /var/lib/cni) and prints the older CNI/iptables notes instead of the link to the docs.</summary>
    public bool ResetLegacyCleanup { get; init; }

    /// <summary>AdminGroup is the O of admin.conf and apiserver-kubelet-client.</summary>
    public required string AdminGroup { get; init; }

    /// <summary>EtcdClientOrganization is the O of etcd/healthcheck-client and apiserver-etcd-client (null: none).</summary>
    public required string? EtcdClientOrganization { get; init; }

    /// <summary>PortZeroFlag: controller-manager and scheduler get --port=0 (v1.22 only).</summary>
    public required bool PortZeroFlag { get; init; }

    public required EtcdProbes EtcdProbes { get; init; }

    /// <summary>EtcdExtraFlags are extra etcd flags (name → value) kubeadm adds for this release.</summary>
    public required IReadOnlyDictionary<string, string> EtcdExtraFlags { get; init; }

    /// <summary>KubeletStartAfterControlPlane: init order certs, kubeconfig, etcd, control-plane, kubelet-start (newer) instead of certs, kubeconfig, kubelet-start, control-plane, etcd.</summary>
    public required bool KubeletStartAfterControlPlane { get; init; }

    /// <summary>ShowJoinCommandPhase: show-join-command is a phase of its own.</summary>
    public required bool ShowJoinCommandPhase { get; init; }

    /// <summary>KubeletFinalizeCertRotationPhase is the kubelet-finalize sub-phase name.</summary>
    public required string KubeletFinalizeCertRotationPhase { get; init; }

    public required PkiTimeModel PkiTimeModel { get; init; }

    /// <summary>CaTrustPaths are host CA-trust folders mounted into control-plane pods when present on the host.</summary>
    public required IReadOnlyList<string> CaTrustPaths { get; init; }

    /// <summary>StaticPodPriority: spec.priority 2000001000 written into static pods.</summary>
    public required bool StaticPodPriority { get; init; }

    /// <summary>DefaultCriSocket is the containerd socket kubeadm of that release writes.</summary>
    public required string DefaultCriSocket { get; init; }

    /// <summary>ContainerRuntimeRemoteFlag: kubelet gets --container-runtime=remote (removed from kubelet in v1.27).</summary>
    public required bool ContainerRuntimeRemoteFlag { get; init; }

    /// <summary>PodInfraContainerImageFlag: kubelet gets --pod-infra-container-image.</summary>
    public required bool PodInfraContainerImageFlag { get; init; }

    /// <summary>CoreDnsCacheBlock: the Corefile's cache section disables caching of the cluster domain.</summary>
    public required bool CoreDnsCacheBlock { get; init; }

    /// <summary>CoreDnsMasterToleration: CoreDNS also tolerates node-role.kubernetes.io/master.</summary>
    public required bool CoreDnsMasterToleration { get; init; }

    /// <summary>CoreDnsAntiAffinity: the CoreDNS Deployment prefers spreading its pods over hosts (PR #110593, v1.25).</summary>
    public required bool CoreDnsAntiAffinity { get; init; }

    /// <summary>CoreDnsNodesGetRule: ClusterRole system:coredns still grants get on nodes (removed by PR #117521, v1.28).</summary>
    public required bool CoreDnsNodesGetRule { get; init; }

    /// <summary>CoreDnsDropCapability is the capabilities.drop entry: "all" until PR #121384 (v1.29), then "ALL".</summary>
    public required string CoreDnsDropCapability { get; init; }

    /// <summary>CoreDnsNamedProbePorts: containerPorts 8080 liveness-probe / 8181 readiness-probe are declared and the
    /// probes name them (PR #131587, v1.34); before, the probes use the port numbers.</summary>
    public required bool CoreDnsNamedProbePorts { get; init; }

    /// <summary>KubeProxyConfigShape is the zero-valued field set of a marshalled KubeProxyConfiguration:
    /// "v1.22" (udpIdleTimeout, no logging) or "v1.31" (detectLocal, logging, nftables, bindAddressHardFail).</summary>
    public required string KubeProxyConfigShape { get; init; }

    /// <summary>BootstrapTokenLogCapitalized: "[bootstrap-token] Configured RBAC rules …" (newer) instead of "configured".</summary>
    public required bool BootstrapTokenLogCapitalized { get; init; }

    /// <summary>EtcdLearnerJoin: a joining stacked etcd member is added as learner then promoted.</summary>
    public required bool EtcdLearnerJoin { get; init; }

    /// <summary>KubeletLocalApiEndpoint: kubelet.conf on a control plane points at the local API server (ControlPlaneKubeletLocalMode on).</summary>
    public required bool KubeletLocalApiEndpoint { get; init; }

    /// <summary>EncryptionAlgorithmField: v1beta4 encryptionAlgorithm is honoured (else RSA-2048 unless feature gate PublicKeysECDSA).</summary>
    public required IReadOnlyList<string> EncryptionAlgorithms { get; init; }

    /// <summary>SortExtraArgs: user extraArgs are merged into the sorted defaults (before v1.36); from v1.36 only
    /// the defaults are sorted and overrides keep their order.</summary>
    public required bool SortExtraArgs { get; init; }

    /// <summary>FlexVolumeMount: kube-controller-manager gets the flexvolume-dir hostPath (removed in v1.36).</summary>
    public required bool FlexVolumeMount { get; init; }

    /// <summary>KubeletConfigFields is the set of zero-valued fields a marshalled KubeletConfiguration carries in this release.</summary>
    public required KubeletConfigShape KubeletConfigShape { get; init; }

    /// <summary>ImagesCoreDnsBeforePause: `config images list` puts CoreDNS before pause and etcd (v1.29+);
    /// older releases list pause, etcd, then CoreDNS last.</summary>
    public required bool ImagesCoreDnsBeforePause { get; init; }

    /// <summary>UploadedAuthorizationMode: the control-plane phase writes apiServer.extraArgs authorization-mode
    /// back into the ClusterConfiguration, so the kubeadm-config ConfigMap carries it (map-era extraArgs, up to v1.29).</summary>
    public required bool UploadedAuthorizationMode { get; init; }

    /// <summary>InitDefaultsCriSocket is nodeRegistration.criSocket in `kubeadm config print init-defaults`.</summary>
    public required string InitDefaultsCriSocket { get; init; }

    /// <summary>Flannel is the flannel release of the `--cni flannel` addon (beyond kubeadm).</summary>
    public required FlannelPins Flannel { get; init; }

    /// <summary>PreflightSwapIsError: kubeadm's Swap check is an error ("running with swap on is not supported");
    /// from v1.28 (NodeSwap beta) it is a warning. (Boundary from release notes; not source-checked per release.)</summary>
    public required bool PreflightSwapIsError { get; init; }

    /// <summary>PreflightBridgeNfCheck: kubeadm checks /proc/sys/net/bridge/bridge-nf-call-iptables = 1 (removed in v1.30; UNCONFIRMED boundary).</summary>
    public required bool PreflightBridgeNfCheck { get; init; }

    /// <summary>PreflightConntrackRequired: `conntrack` is a mandatory FileExisting check (before v1.32).</summary>
    public required bool PreflightConntrackRequired { get; init; }

    /// <summary>CommunityPackageRepo: packages for this minor exist in the per-minor pkgs.k8s.io repositories (v1.24+);
    /// older minors only in the legacy (frozen) yum/apt repositories, e.g. the Aliyun mirror of them.</summary>
    public required bool CommunityPackageRepo { get; init; }

    /// <summary>KubeletConfigMapName is the name of the kubelet configuration ConfigMap.</summary>
    public string KubeletConfigMapName => UnversionedKubeletConfigMap ? "kubelet-config" : $"kubelet-config-1.{Minor}";

    /// <summary>KubeletConfigRoleName is the Role/RoleBinding that lets nodes read it.</summary>
    public string KubeletConfigRoleName => UnversionedKubeletConfigMap ? "kubeadm:kubelet-config" : $"kubeadm:kubelet-config-1.{Minor}";
}
