using System.Net;
using System.Net.Sockets;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Yaml;

namespace Kubeforge.ControlPlane;

/// <summary>Components names kubeadm's static Pod components (also their manifest file names).</summary>
public static class Components
{
    public const string KubeApiServer = "kube-apiserver";
    public const string KubeControllerManager = "kube-controller-manager";
    public const string KubeScheduler = "kube-scheduler";
    public const string Etcd = "etcd";

    /// <summary>ControlPlane are the three components of the control-plane phase, in kubeadm's order.</summary>
    public static IReadOnlyList<string> ControlPlane { get; } = [KubeApiServer, KubeControllerManager, KubeScheduler];
}

/// <summary>StaticPods renders kubeadm's control-plane static Pod manifests (spec/kubeadm.md §4;
/// phases/controlplane/manifests.go, volumes.go, phases/etcd/local.go). Renders are pure: what exists on the
/// host (CA-trust folders) is passed in by the caller.</summary>
public static class StaticPods
{
    private const string KubeApiServer = Components.KubeApiServer;
    private const string KubeControllerManager = Components.KubeControllerManager;
    private const string KubeScheduler = Components.KubeScheduler;

    private const string CaCertsPath = "/etc/ssl/certs";
    private const string DirectoryOrCreate = "DirectoryOrCreate";
    private const string FileOrCreate = "FileOrCreate";

    /// <summary>ToBytes serializes a rendered Pod the way kubeadm writes it to disk.</summary>
    public static byte[] ToBytes(YMap pod) => GoYamlWriter.WriteBytes(pod);

    /// <summary>Render renders one component by name ("kube-apiserver", "kube-controller-manager",
    /// "kube-scheduler"); existingHostPaths are the CA-trust folders present on the host.</summary>
    public static YMap Render(string component, KubeadmConfig cfg, ISet<string> existingHostPaths, bool externalCa = false) => component switch
    {
        KubeApiServer => ApiServer(cfg, existingHostPaths),
        KubeControllerManager => ControllerManager(cfg, existingHostPaths, externalCa),
        KubeScheduler => Scheduler(cfg),
        _ => throw new ArgumentException($"unknown control-plane component \"{component}\"", nameof(component)),
    };

    /// <summary>ApiServer renders kube-apiserver.yaml.</summary>
    public static YMap ApiServer(KubeadmConfig cfg, ISet<string> existingHostPaths)
    {
        var c = cfg.Cluster;
        var cd = cfg.CertDir;
        var adv = cfg.AdvertiseAddress;
        var args = new List<Arg>
        {
            new("advertise-address", adv),
            new("enable-admission-plugins", "NodeRestriction"),
            new("service-cluster-ip-range", c.Networking.ServiceSubnet),
            new("service-account-key-file", Path(cd, "sa.pub")),
            new("service-account-signing-key-file", Path(cd, "sa.key")),
            new("service-account-issuer", $"https://kubernetes.default.svc.{c.Networking.DnsDomain}"),
            new("client-ca-file", Path(cd, "ca.crt")),
            new("tls-cert-file", Path(cd, "apiserver.crt")),
            new("tls-private-key-file", Path(cd, "apiserver.key")),
            new("kubelet-client-certificate", Path(cd, "apiserver-kubelet-client.crt")),
            new("kubelet-client-key", Path(cd, "apiserver-kubelet-client.key")),
            new("enable-bootstrap-token-auth", "true"),
            new("secure-port", cfg.BindPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("allow-privileged", "true"),
            new("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"),
            new("requestheader-username-headers", "X-Remote-User"),
            new("requestheader-group-headers", "X-Remote-Group"),
            new("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
            new("requestheader-client-ca-file", Path(cd, "front-proxy-ca.crt")),
            new("requestheader-allowed-names", "front-proxy-client"),
            new("proxy-client-cert-file", Path(cd, "front-proxy-client.crt")),
            new("proxy-client-key-file", Path(cd, "front-proxy-client.key")),
        };
        if (c.Etcd.External is { } ext)
        {
            ComponentArgs.Set(args, "etcd-servers", string.Join(',', ext.Endpoints));
            if (ext.CaFile.Length > 0)
            {
                ComponentArgs.Set(args, "etcd-cafile", ext.CaFile);
            }
            if (ext.CertFile.Length > 0 && ext.KeyFile.Length > 0)
            {
                ComponentArgs.Set(args, "etcd-certfile", ext.CertFile);
                ComponentArgs.Set(args, "etcd-keyfile", ext.KeyFile);
            }
        }
        else
        {
            ComponentArgs.Set(args, "etcd-servers", "https://" + HostPort(Loopback(adv), 2379));
            ComponentArgs.Set(args, "etcd-cafile", Path(cd, "etcd/ca.crt"));
            ComponentArgs.Set(args, "etcd-certfile", Path(cd, "apiserver-etcd-client.crt"));
            ComponentArgs.Set(args, "etcd-keyfile", Path(cd, "apiserver-etcd-client.key"));
            if (c.Etcd.Local is { } local && ComponentArgs.LastValue(local.ExtraArgs, "advertise-client-urls") is { } urls)
            {
                ComponentArgs.Set(args, "etcd-servers", urls);
            }
        }
        var extra = c.ApiServer.ExtraArgs;
        if (ComponentArgs.LastValue(extra, "authorization-config") is null)
        {
            ComponentArgs.Set(args, "authorization-mode", AuthzModes(ComponentArgs.LastValue(extra, "authorization-mode")));
        }
        var command = new List<string> { KubeApiServer };
        command.AddRange(ComponentArgs.ToCommand(args, extra, cfg.Profile.SortExtraArgs));

        var mounts = new HostMounts();
        mounts.Add("k8s-certs", cd, cd, true, DirectoryOrCreate);
        mounts.Add("ca-certs", CaCertsPath, CaCertsPath, true, DirectoryOrCreate);
        if (c.Etcd.External is { } e)
        {
            var i = 0;
            foreach (var dir in EtcdCertDirs(e, cd, cfg.Profile.CaTrustPaths))
            {
                var name = $"etcd-certs-{i++}";
                mounts.Add(name, dir, dir, true, DirectoryOrCreate);
            }
        }
        AddCaTrust(mounts, cfg, existingHostPaths);
        AddExtraVolumes(mounts, c.ApiServer.ExtraVolumes);

        var host = ApiServerProbeHost(adv);
        var port = cfg.BindPort;
        var timeout = c.ApiServer.TimeoutForControlPlane;
        var container = PodParts.Container(KubeApiServer, KubeImage(cfg, KubeApiServer), command, PodParts.Requests("250m"));
        container.Add("livenessProbe", PodParts.Liveness(host, "/livez", port, PodParts.HttpsScheme));
        container.Add("readinessProbe", PodParts.Readiness(host, "/readyz", port, PodParts.HttpsScheme));
        container.Add("startupProbe", PodParts.Startup(host, "/livez", port, PodParts.HttpsScheme, timeout));
        container.Add("volumeMounts", new YSeq(mounts.Mounts));
        var annotations = new Dictionary<string, string>
        {
            ["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = HostPort(adv, port),
        };
        return PodParts.Pod(KubeApiServer, container, mounts.Volumes, cfg.Profile, annotations);
    }

    /// <summary>ControllerManager renders kube-controller-manager.yaml; externalCa empties the
    /// --cluster-signing-* flags (kubeadm's external-CA mode: ca.crt present, ca.key absent).</summary>
    public static YMap ControllerManager(KubeadmConfig cfg, ISet<string> existingHostPaths, bool externalCa = false)
    {
        var c = cfg.Cluster;
        var cd = cfg.CertDir;
        var kubeconfig = NodePaths.KubeConfig("controller-manager.conf");
        var ca = Path(cd, "ca.crt");
        var args = new List<Arg>
        {
            new("bind-address", "127.0.0.1"),
            new("leader-elect", "true"),
            new("kubeconfig", kubeconfig),
            new("authentication-kubeconfig", kubeconfig),
            new("authorization-kubeconfig", kubeconfig),
            new("client-ca-file", ca),
            new("requestheader-client-ca-file", Path(cd, "front-proxy-ca.crt")),
            new("root-ca-file", ca),
            new("service-account-private-key-file", Path(cd, "sa.key")),
            new("cluster-signing-cert-file", ca),
            new("cluster-signing-key-file", Path(cd, "ca.key")),
            new("use-service-account-credentials", "true"),
            new("controllers", "*,bootstrapsigner,tokencleaner"),
        };
        if (cfg.Profile.PortZeroFlag)
        {
            args.Add(new Arg("port", "0"));
        }
        if (externalCa)
        {
            ComponentArgs.Set(args, "cluster-signing-key-file", "");
            ComponentArgs.Set(args, "cluster-signing-cert-file", "");
        }
        if (!string.IsNullOrEmpty(c.Networking.PodSubnet))
        {
            ComponentArgs.Set(args, "allocate-node-cidrs", "true");
            ComponentArgs.Set(args, "cluster-cidr", c.Networking.PodSubnet);
            if (c.Networking.ServiceSubnet.Length > 0)
            {
                ComponentArgs.Set(args, "service-cluster-ip-range", c.Networking.ServiceSubnet);
            }
        }
        if (c.ClusterName.Length > 0)
        {
            ComponentArgs.Set(args, "cluster-name", c.ClusterName);
        }
        var extra = c.ControllerManager.ExtraArgs;
        var command = new List<string> { KubeControllerManager };
        command.AddRange(ComponentArgs.ToCommand(args, extra, cfg.Profile.SortExtraArgs));

        var mounts = new HostMounts();
        mounts.Add("k8s-certs", cd, cd, true, DirectoryOrCreate);
        mounts.Add("ca-certs", CaCertsPath, CaCertsPath, true, DirectoryOrCreate);
        mounts.Add("kubeconfig", kubeconfig, kubeconfig, true, FileOrCreate);
        if (cfg.Profile.FlexVolumeMount)
        {
            var flex = ComponentArgs.LastValue(extra, "flex-volume-plugin-dir") ?? NodePaths.FlexVolumeDir;
            mounts.Add("flexvolume-dir", flex, flex, false, DirectoryOrCreate);
        }
        AddCaTrust(mounts, cfg, existingHostPaths);
        AddExtraVolumes(mounts, c.ControllerManager.ExtraVolumes);

        var host = BindProbeHost(extra);
        var container = PodParts.Container(KubeControllerManager, KubeImage(cfg, KubeControllerManager), command, PodParts.Requests("200m"));
        AddHealthzProbes(container, host, 10257, c.ApiServer.TimeoutForControlPlane);
        container.Add("volumeMounts", new YSeq(mounts.Mounts));
        return PodParts.Pod(KubeControllerManager, container, mounts.Volumes, cfg.Profile);
    }

    // controller-manager and scheduler: liveness and startup probes on HTTPS /healthz, no readiness probe
    private static void AddHealthzProbes(YMap container, string host, int port, TimeSpan controlPlaneTimeout)
    {
        container.Add("livenessProbe", PodParts.Liveness(host, "/healthz", port, PodParts.HttpsScheme));
        container.Add("startupProbe", PodParts.Startup(host, "/healthz", port, PodParts.HttpsScheme, controlPlaneTimeout));
    }

    /// <summary>Scheduler renders kube-scheduler.yaml (it mounts no CA-trust folders).</summary>
    public static YMap Scheduler(KubeadmConfig cfg)
    {
        var c = cfg.Cluster;
        var kubeconfig = NodePaths.KubeConfig("scheduler.conf");
        var args = new List<Arg>
        {
            new("bind-address", "127.0.0.1"),
            new("leader-elect", "true"),
            new("kubeconfig", kubeconfig),
            new("authentication-kubeconfig", kubeconfig),
            new("authorization-kubeconfig", kubeconfig),
        };
        if (cfg.Profile.PortZeroFlag)
        {
            args.Add(new Arg("port", "0"));
        }
        var extra = c.Scheduler.ExtraArgs;
        var command = new List<string> { KubeScheduler };
        command.AddRange(ComponentArgs.ToCommand(args, extra, cfg.Profile.SortExtraArgs));

        var mounts = new HostMounts();
        mounts.Add("kubeconfig", kubeconfig, kubeconfig, true, FileOrCreate);
        AddExtraVolumes(mounts, c.Scheduler.ExtraVolumes);

        var host = BindProbeHost(extra);
        var container = PodParts.Container(KubeScheduler, KubeImage(cfg, KubeScheduler), command, PodParts.Requests("100m"));
        AddHealthzProbes(container, host, 10259, c.ApiServer.TimeoutForControlPlane);
        container.Add("volumeMounts", new YSeq(mounts.Mounts));
        return PodParts.Pod(KubeScheduler, container, mounts.Volumes, cfg.Profile);
    }

    /// <summary>Etcd renders etcd.yaml for a local (stacked) member. initialCluster lists the members
    /// (name, peer URL) a joining member starts with (it must include itself); null or empty means a
    /// one-member cluster of this node. joining adds --initial-cluster-state=existing.</summary>
    public static YMap Etcd(KubeadmConfig cfg, IReadOnlyList<(string Name, string PeerUrl)>? initialCluster, bool joining)
    {
        var local = cfg.Cluster.Etcd.Local
            ?? throw new InvalidOperationException("etcd.local is not set: an external etcd has no static Pod");
        var cd = cfg.CertDir;
        var adv = cfg.AdvertiseAddress;
        var loopback = Loopback(adv);
        var clientUrl = "https://" + HostPort(adv, 2379);
        var peerUrl = "https://" + HostPort(adv, 2380);
        var args = new List<Arg>
        {
            new("name", cfg.NodeName),
            new("listen-client-urls", $"https://{HostPort(loopback, 2379)},{clientUrl}"),
            new("advertise-client-urls", clientUrl),
            new("listen-peer-urls", peerUrl),
            new("initial-advertise-peer-urls", peerUrl),
            new("data-dir", local.DataDir),
            new("cert-file", Path(cd, "etcd/server.crt")),
            new("key-file", Path(cd, "etcd/server.key")),
            new("trusted-ca-file", Path(cd, "etcd/ca.crt")),
            new("client-cert-auth", "true"),
            new("peer-cert-file", Path(cd, "etcd/peer.crt")),
            new("peer-key-file", Path(cd, "etcd/peer.key")),
            new("peer-trusted-ca-file", Path(cd, "etcd/ca.crt")),
            new("peer-client-cert-auth", "true"),
            new("snapshot-count", "10000"),
            new("listen-metrics-urls", "http://" + HostPort(loopback, 2381)),
        };
        foreach (var (name, value) in cfg.Profile.EtcdExtraFlags)
        {
            args.Add(new Arg(name, value));
        }
        var members = initialCluster is { Count: > 0 }
            ? string.Join(',', initialCluster.Select(m => $"{m.Name}={m.PeerUrl}"))
            : $"{cfg.NodeName}={peerUrl}";
        ComponentArgs.Set(args, "initial-cluster", members);
        if (joining)
        {
            ComponentArgs.Set(args, "initial-cluster-state", "existing");
        }
        var command = new List<string> { Components.Etcd };
        command.AddRange(ComponentArgs.ToCommand(args, local.ExtraArgs, cfg.Profile.SortExtraArgs));

        var certs = Path(cd, "etcd");
        var (host, port, scheme) = EtcdProbeEndpoint(local.ExtraArgs, loopback);
        var probes = cfg.Profile.EtcdProbes;
        var timeout = cfg.Cluster.ApiServer.TimeoutForControlPlane;
        var container = PodParts.Container(Components.Etcd, EtcdImage(cfg), command, PodParts.Requests("100m", "100Mi"));
        container.Add("livenessProbe", PodParts.Liveness(host, probes.Liveness, port, scheme));
        if (probes.Readiness is { } readiness)
        {
            container.Add("readinessProbe", PodParts.Readiness(host, readiness, port, scheme));
        }
        container.Add("startupProbe", PodParts.Startup(host, probes.Startup, port, scheme, timeout));
        // kubeadm lists etcd's two mounts literally (data first); only the volumes go through the sorted map.
        container.Add("volumeMounts", YSeq.Of(PodParts.Mount("etcd-data", local.DataDir, false), PodParts.Mount("etcd-certs", certs, false)));
        var volumes = new HostMounts();
        volumes.Add("etcd-data", local.DataDir, local.DataDir, false, DirectoryOrCreate);
        volumes.Add("etcd-certs", certs, certs, false, DirectoryOrCreate);
        var annotations = new Dictionary<string, string> { ["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = clientUrl };
        return PodParts.Pod(Components.Etcd, container, volumes.Volumes, cfg.Profile, annotations);
    }

    /// <summary>KubeImage is "&lt;imageRepository&gt;/&lt;component&gt;:&lt;version tag&gt;".</summary>
    public static string KubeImage(KubeadmConfig cfg, string component) => $"{cfg.ImageRepository}/{component}:{cfg.Version.ImageTag}";

    /// <summary>EtcdImage honours etcd.local.imageRepository / imageTag, else the version's etcd tag.</summary>
    public static string EtcdImage(KubeadmConfig cfg)
    {
        var local = cfg.Cluster.Etcd.Local;
        var repo = string.IsNullOrEmpty(local?.ImageRepository) ? cfg.ImageRepository : local.ImageRepository;
        var tag = string.IsNullOrEmpty(local?.ImageTag) ? cfg.Profile.EtcdVersion : local.ImageTag;
        return $"{repo}/etcd:{tag}";
    }

    /// <summary>CaTrustVolumeName turns "/etc/pki/ca-trust" into "etc-pki-ca-trust".</summary>
    public static string CaTrustVolumeName(string path) => path.Replace('/', '-')[1..];

    private static void AddCaTrust(HostMounts mounts, KubeadmConfig cfg, ISet<string> existing)
    {
        foreach (var p in cfg.Profile.CaTrustPaths)
        {
            if (existing.Contains(p))
            {
                mounts.Add(CaTrustVolumeName(p), p, p, true, DirectoryOrCreate);
            }
        }
    }

    private static void AddExtraVolumes(HostMounts mounts, IEnumerable<HostPathMount> extra)
    {
        foreach (var v in extra)
        {
            mounts.Add(v.Name, v.HostPath, v.MountPath, v.ReadOnly, v.PathType ?? "");
        }
    }

    // volumes.go getEtcdCertVolumes: the folders of the external etcd files not already mounted, parents win.
    private static List<string> EtcdCertDirs(ExternalEtcd ext, string certDir, IReadOnlyList<string> caTrustPaths)
    {
        var dirs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in new[] { ext.CaFile, ext.CertFile, ext.KeyFile })
        {
            var dir = Dir(file);
            if (dir == "." || caTrustPaths.Any(p => dir.StartsWith(p, StringComparison.Ordinal))
                || dir.StartsWith(CaCertsPath, StringComparison.Ordinal) || dir.StartsWith(certDir, StringComparison.Ordinal))
            {
                continue;
            }
            var covered = false;
            foreach (var existing in dirs.ToList())
            {
                if (existing.StartsWith(dir, StringComparison.Ordinal))
                {
                    dirs.Remove(existing);
                }
                else if (dir.StartsWith(existing, StringComparison.Ordinal))
                {
                    covered = true;
                }
            }
            if (!covered)
            {
                dirs.Add(dir);
            }
        }
        return dirs.ToList();
    }

    // Go's filepath.Dir for slash paths.
    private static string Dir(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }
        var i = path.LastIndexOf('/');
        if (i < 0)
        {
            return ".";
        }
        var d = path[..i].TrimEnd('/');
        return d.Length == 0 ? "/" : d;
    }

    private static (string Host, int Port, string Scheme) EtcdProbeEndpoint(List<Arg> extra, string loopback)
    {
        if (ComponentArgs.LastValue(extra, "listen-metrics-urls") is not { } urls
            || !Uri.TryCreate(urls.Split(',')[0], UriKind.Absolute, out var u))
        {
            return (loopback, 2381, PodParts.HttpScheme);
        }
        var scheme = u.Scheme == "https" ? PodParts.HttpsScheme : PodParts.HttpScheme;
        var host = u.Host.Trim('[', ']');
        // Go's url.Port(): only an explicit port counts (System.Uri would hide ":80" as the default port).
        var authority = u.OriginalString[(u.Scheme.Length + 3)..].Split('/')[0];
        var colon = authority.LastIndexOf(':');
        var explicitPort = colon > authority.LastIndexOf(']') && int.TryParse(authority[(colon + 1)..], System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : 2381;
        return (host.Length == 0 ? loopback : host, explicitPort, scheme);
    }

    private static string AuthzModes(string? requested)
    {
        string[] valid = ["Node", "RBAC", "Webhook", "ABAC", "AlwaysAllow", "AlwaysDeny"];
        var modes = (requested ?? "").Split(',').Where(m => valid.Contains(m)).ToList();
        return modes.Count > 0 ? string.Join(',', modes) : "Node,RBAC";
    }

    private static string ApiServerProbeHost(string advertise) => advertise.Length > 0 ? ProbeAddress(advertise) : "127.0.0.1";

    private static string BindProbeHost(List<Arg> extra) =>
        ComponentArgs.LastValue(extra, "bind-address") is { } bind ? ProbeAddress(bind) : "127.0.0.1";

    // An unspecified bind address cannot be probed: kubeadm leaves the host empty (the kubelet uses the Pod IP).
    private static string ProbeAddress(string addr) => addr is "0.0.0.0" or "::" ? "" : addr;

    /// <summary>IsIPv6 reports whether text is an IPv6 address.</summary>
    internal static bool IsIPv6(string text) => IPAddress.TryParse(text, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6;

    private static string Loopback(string advertise) => IsIPv6(advertise) ? "::1" : "127.0.0.1";

    /// <summary>HostPort is Go's net.JoinHostPort: IPv6 hosts are bracketed.</summary>
    internal static string HostPort(string host, int port) =>
        (host.Contains(':') ? $"[{host}]" : host) + ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Path(string dir, string name) => NodePaths.Join(dir, name);
}
