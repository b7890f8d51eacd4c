using System.Text.Json.Nodes;
using Kubeforge.Config;
using Kubeforge.Phases;
using Kubeforge.Versions;
using Kubeforge.Yaml;
using static Kubeforge.ClusterObjects.K8sObjects;

namespace Kubeforge.ClusterObjects;

/// <summary>CoreDns renders kubeadm's CoreDNS addon (spec §12.1, kubeadm dns/manifests.go per release).</summary>
public static class CoreDns
{
    public const string Name = "coredns";
    public const string ServiceName = "kube-dns";
    public const string ClusterRoleName = "system:coredns";
    public const int DefaultReplicas = 2;
    private const string MasterKey = "node-role.kubernetes.io/master";
    private const string ControlPlaneKey = "node-role.kubernetes.io/control-plane";

    /// <summary>Image is the CoreDNS image: the default repository gains "/coredns", a custom one does not.</summary>
    public static string Image(KubeadmConfig cfg)
    {
        var repo = !string.IsNullOrEmpty(cfg.Cluster.Dns.ImageRepository) ? cfg.Cluster.Dns.ImageRepository : cfg.ImageRepository;
        if (repo == cfg.Profile.DefaultImageRepository)
        {
            repo += "/coredns";
        }
        var tag = !string.IsNullOrEmpty(cfg.Cluster.Dns.ImageTag) ? cfg.Cluster.Dns.ImageTag : cfg.Profile.CoreDnsVersion;
        return $"{repo}/coredns:{tag}";
    }

    /// <summary>Corefile is the default Corefile for the DNS domain (cache block per profile).</summary>
    public static string Corefile(VersionProfile p, string dnsDomain)
    {
        var cache = p.CoreDnsCacheBlock && dnsDomain.Length > 0
            ? $"    cache 30 {{\n       disable success {dnsDomain}\n       disable denial {dnsDomain}\n    }}\n"
            : "    cache 30\n";
        return ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n" +
            $"    kubernetes {dnsDomain} in-addr.arpa ip6.arpa {{\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }}\n" +
            "    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n" +
            cache + "    loop\n    reload\n    loadbalance\n}\n";
    }

    /// <summary>ConfigMap is kube-system/coredns with the Corefile.</summary>
    public static JsonObject ConfigMap(KubeadmConfig cfg) =>
        K8sObjects.ConfigMap(KubeSystem, Name, [new("Corefile", Corefile(cfg.Profile, cfg.Cluster.Networking.DnsDomain))]);

    /// <summary>ClusterRole is system:coredns (nodes get only up to v1.27).</summary>
    public static JsonObject ClusterRole(VersionProfile p)
    {
        var rules = new List<JsonObject> { Rule(["list", "watch"], "", ["endpoints", "services", "pods", "namespaces"]) };
        if (p.CoreDnsNodesGetRule)
        {
            rules.Add(Rule(["get"], "", ["nodes"]));
        }
        rules.Add(Rule(["list", "watch"], "discovery.k8s.io", ["endpointslices"]));
        return K8sObjects.ClusterRole(ClusterRoleName, [.. rules]);
    }

    /// <summary>Rbac is ServiceAccount coredns, ClusterRole and ClusterRoleBinding system:coredns.</summary>
    public static JsonObject[] Rbac(VersionProfile p) =>
    [
        ClusterRole(p),
        ClusterRoleBinding(ClusterRoleName, ClusterRoleName, ServiceAccountSubject(KubeSystem, Name)),
        ServiceAccount(KubeSystem, Name),
    ];

    private static JsonObject Lbl() => new() { ["k8s-app"] = "kube-dns" };

    private static JsonObject Port(int port, string name, string proto) => new() { ["containerPort"] = port, ["name"] = name, ["protocol"] = proto };

    private static JsonObject Probe(string path, JsonNode port) => new() { ["httpGet"] = new JsonObject { ["path"] = path, ["port"] = port, ["scheme"] = "HTTP" } };

    /// <summary>Deployment is kube-system/coredns for the release (tolerations, affinity, probe ports per profile).</summary>
    public static JsonObject Deployment(KubeadmConfig cfg, int replicas = DefaultReplicas)
    {
        var p = cfg.Profile;
        var tolerations = new JsonArray(new JsonObject { ["key"] = "CriticalAddonsOnly", ["operator"] = "Exists" });
        if (p.CoreDnsMasterToleration)
        {
            tolerations.Add((JsonNode)new JsonObject { ["key"] = MasterKey, ["effect"] = "NoSchedule" });
        }
        tolerations.Add((JsonNode)new JsonObject { ["key"] = ControlPlaneKey, ["effect"] = "NoSchedule" });
        var ports = new JsonArray(Port(53, "dns", "UDP"), Port(53, "dns-tcp", "TCP"), Port(9153, "metrics", "TCP"));
        if (p.CoreDnsNamedProbePorts)
        {
            ports.Add((JsonNode)Port(8080, "liveness-probe", "TCP"));
            ports.Add((JsonNode)Port(8181, "readiness-probe", "TCP"));
        }
        var liveness = Probe("/health", p.CoreDnsNamedProbePorts ? "liveness-probe" : 8080);
        liveness["initialDelaySeconds"] = 60;
        liveness["timeoutSeconds"] = 5;
        liveness["successThreshold"] = 1;
        liveness["failureThreshold"] = 5;
        var container = new JsonObject
        {
            ["name"] = Name,
            ["image"] = Image(cfg),
            ["imagePullPolicy"] = "IfNotPresent",
            ["resources"] = new JsonObject
            {
                ["limits"] = new JsonObject { ["memory"] = "170Mi" },
                ["requests"] = new JsonObject { ["cpu"] = "100m", ["memory"] = "70Mi" },
            },
            ["args"] = Strings("-conf", "/etc/coredns/Corefile"),
            ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "config-volume", ["mountPath"] = "/etc/coredns", ["readOnly"] = true }),
            ["ports"] = ports,
            ["livenessProbe"] = liveness,
            ["readinessProbe"] = Probe("/ready", p.CoreDnsNamedProbePorts ? "readiness-probe" : 8181),
            ["securityContext"] = new JsonObject
            {
                ["allowPrivilegeEscalation"] = false,
                ["capabilities"] = new JsonObject { ["add"] = Strings("NET_BIND_SERVICE"), ["drop"] = Strings(p.CoreDnsDropCapability) },
                ["readOnlyRootFilesystem"] = true,
            },
        };
        var podSpec = new JsonObject
        {
            ["priorityClassName"] = "system-cluster-critical",
            ["serviceAccountName"] = Name,
        };
        if (p.CoreDnsAntiAffinity)
        {
            podSpec["affinity"] = new JsonObject
            {
                ["podAntiAffinity"] = new JsonObject
                {
                    ["preferredDuringSchedulingIgnoredDuringExecution"] = new JsonArray(new JsonObject
                    {
                        ["weight"] = 100,
                        ["podAffinityTerm"] = new JsonObject
                        {
                            ["labelSelector"] = new JsonObject
                            {
                                ["matchExpressions"] = new JsonArray(new JsonObject { ["key"] = "k8s-app", ["operator"] = "In", ["values"] = Strings("kube-dns") }),
                            },
                            ["topologyKey"] = "kubernetes.io/hostname",
                        },
                    }),
                },
            };
        }
        podSpec["tolerations"] = tolerations;
        podSpec["nodeSelector"] = new JsonObject { ["kubernetes.io/os"] = "linux" };
        podSpec["containers"] = new JsonArray(container);
        podSpec["dnsPolicy"] = "Default";
        podSpec["volumes"] = new JsonArray(new JsonObject
        {
            ["name"] = "config-volume",
            ["configMap"] = new JsonObject
            {
                ["name"] = Name,
                ["items"] = new JsonArray(new JsonObject { ["key"] = "Corefile", ["path"] = "Corefile" }),
            },
        });
        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = Meta(Name, KubeSystem, [new("k8s-app", "kube-dns")]),
            ["spec"] = new JsonObject
            {
                ["replicas"] = replicas,
                ["strategy"] = new JsonObject { ["type"] = "RollingUpdate", ["rollingUpdate"] = new JsonObject { ["maxUnavailable"] = 1 } },
                ["selector"] = new JsonObject { ["matchLabels"] = Lbl() },
                ["template"] = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = Lbl() }, ["spec"] = podSpec },
            },
        };
    }

    /// <summary>Service is kube-system/kube-dns with clusterIP = 10th address of the service subnet (resourceVersion "0" as kubeadm).</summary>
    public static JsonObject Service(KubeadmConfig cfg)
    {
        var md = Meta(ServiceName, KubeSystem,
            [new("k8s-app", "kube-dns"), new("kubernetes.io/cluster-service", "true"), new("kubernetes.io/name", "CoreDNS")],
            [new("prometheus.io/port", "9153"), new("prometheus.io/scrape", "true")]);
        md["resourceVersion"] = "0";
        JsonObject SvcPort(string name, int port, string proto) => new() { ["name"] = name, ["port"] = port, ["protocol"] = proto, ["targetPort"] = port };
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = md,
            ["spec"] = new JsonObject
            {
                ["clusterIP"] = CidrMath.DnsIp(cfg.Cluster.Networking.ServiceSubnet),
                ["ports"] = new JsonArray(SvcPort("dns", 53, "UDP"), SvcPort("dns-tcp", 53, "TCP"), SvcPort("metrics", 9153, "TCP")),
                ["selector"] = Lbl(),
            },
        };
    }
}

/// <summary>KubeProxy renders kubeadm's kube-proxy addon (spec §12.2).</summary>
public static class KubeProxy
{
    public const string Name = "kube-proxy";
    public const string ConfigKey = "config.conf";
    public const string KubeconfigKey = "kubeconfig.conf";
    public const string KubeconfigPath = "/var/lib/kube-proxy/kubeconfig.conf";

    /// <summary>Image is &lt;imageRepository&gt;/kube-proxy:&lt;version&gt;.</summary>
    public static string Image(KubeadmConfig cfg) => $"{cfg.ImageRepository}/kube-proxy:{cfg.Version.ImageTag}";

    /// <summary>ControlPlaneUrl is https://controlPlaneEndpoint (bind port added when it has none), else https://advertiseAddress:bindPort.</summary>
    public static string ControlPlaneUrl(KubeadmConfig cfg)
    {
        var cpe = cfg.Cluster.ControlPlaneEndpoint;
        if (string.IsNullOrEmpty(cpe))
        {
            return "https://" + HostPort(cfg.AdvertiseAddress, cfg.BindPort);
        }
        var hasPort = cpe.StartsWith('[') ? cpe.Contains("]:", StringComparison.Ordinal) : cpe.Count(c => c == ':') == 1;
        return "https://" + (hasPort ? cpe : HostPort(cpe.Trim('[', ']'), cfg.BindPort));
    }

    private static string HostPort(string host, int port) => (CidrMath.IsIPv6(host) ? $"[{host}]" : host) + ":" + port;

    /// <summary>Kubeconfig is the in-cluster kubeconfig kube-proxy uses (service-account token and CA), kubeadm's template text.</summary>
    public static string Kubeconfig(string server) =>
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n" +
        $"    server: {server}\n  name: default\ncontexts:\n- context:\n    cluster: default\n    namespace: default\n    user: default\n" +
        "  name: default\ncurrent-context: default\nusers:\n- name: default\n  user:\n    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token";

    /// <summary>Defaults is the zero-valued KubeProxyConfiguration as the release's kube-proxy marshals it.</summary>
    public static YMap Defaults(VersionProfile p)
    {
        YMap M(params (string K, YNode V)[] kv)
        {
            var m = new YMap();
            foreach (var (k, v) in kv)
            {
                m.Add(k, v);
            }
            return m;
        }
        var nul = YScalar.Null();
        var recent = p.KubeProxyConfigShape != "v1.22";
        var root = M(("apiVersion", "kubeproxy.config.k8s.io/v1alpha1"), ("bindAddress", ""),
            ("clientConnection", M(("acceptContentTypes", ""), ("burst", 0), ("contentType", ""), ("kubeconfig", ""), ("qps", 0))),
            ("clusterCIDR", ""), ("configSyncPeriod", "0s"),
            ("detectLocalMode", ""), ("enableProfiling", false), ("healthzBindAddress", ""), ("hostnameOverride", ""),
            ("ipvs", M(("excludeCIDRs", nul), ("minSyncPeriod", "0s"), ("scheduler", ""), ("strictARP", false), ("syncPeriod", "0s"),
                ("tcpFinTimeout", "0s"), ("tcpTimeout", "0s"), ("udpTimeout", "0s"))),
            ("kind", "KubeProxyConfiguration"), ("metricsBindAddress", ""), ("mode", ""), ("nodePortAddresses", nul),
            ("oomScoreAdj", nul), ("portRange", ""), ("showHiddenMetricsForVersion", ""));
        if (recent)
        {
            root.Add("bindAddressHardFail", false);
            root.Add("conntrack", M(("maxPerCore", nul), ("min", nul), ("tcpBeLiberal", false), ("tcpCloseWaitTimeout", nul),
                ("tcpEstablishedTimeout", nul), ("udpStreamTimeout", "0s"), ("udpTimeout", "0s")));
            root.Add("detectLocal", M(("bridgeInterface", ""), ("interfaceNamePrefix", "")));
            root.Add("iptables", M(("localhostNodePorts", nul), ("masqueradeAll", false), ("masqueradeBit", nul), ("minSyncPeriod", "0s"), ("syncPeriod", "0s")));
            root.Add("logging", M(("flushFrequency", 0), ("options", M(("json", M(("infoBufferSize", "0"))), ("text", M(("infoBufferSize", "0"))))), ("verbosity", 0)));
            root.Add("nftables", M(("masqueradeAll", false), ("masqueradeBit", nul), ("minSyncPeriod", "0s"), ("syncPeriod", "0s")));
            root.Add("winkernel", M(("enableDSR", false), ("forwardHealthCheckVip", false), ("networkName", ""), ("rootHnsEndpointName", ""), ("sourceVip", "")));
        }
        else
        {
            root.Add("conntrack", M(("maxPerCore", nul), ("min", nul), ("tcpCloseWaitTimeout", nul), ("tcpEstablishedTimeout", nul)));
            root.Add("iptables", M(("masqueradeAll", false), ("masqueradeBit", nul), ("minSyncPeriod", "0s"), ("syncPeriod", "0s")));
            root.Add("udpIdleTimeout", "0s");
            root.Add("winkernel", M(("enableDSR", false), ("networkName", ""), ("sourceVip", "")));
        }
        return root;
    }

    /// <summary>Config is the KubeProxyConfiguration YAML (no trailing newline, as the ConfigMap's "|-" block holds it):
    /// defaults, the user's document merged over them, then kubeadm's rules — bindAddress 0.0.0.0 (:: for an IPv6
    /// advertise address) and clusterCIDR = podSubnet when unset, clientConnection.kubeconfig always kubeadm's path.</summary>
    public static string Config(KubeadmConfig cfg)
    {
        var m = Defaults(cfg.Profile);
        m.MergeFrom(cfg.KubeProxyConfiguration);
        if (m.Str("bindAddress") is null or "")
        {
            m["bindAddress"] = CidrMath.IsIPv6(cfg.AdvertiseAddress) ? "::" : "0.0.0.0";
        }
        if (m.Str("clusterCIDR") is null or "" && !string.IsNullOrEmpty(cfg.Cluster.Networking.PodSubnet))
        {
            m["clusterCIDR"] = cfg.Cluster.Networking.PodSubnet;
        }
        m.GetOrAddMap("clientConnection")["kubeconfig"] = KubeconfigPath;
        m["apiVersion"] = "kubeproxy.config.k8s.io/v1alpha1";
        m["kind"] = "KubeProxyConfiguration";
        return GoYamlWriter.Write(m).TrimEnd('\n');
    }


    /// <summary>ConfigMap is kube-system/kube-proxy (label app: kube-proxy) with config.conf and kubeconfig.conf, signed
    /// with the component-config hash unless the user supplied a KubeProxyConfiguration.</summary>
    public static JsonObject ConfigMap(KubeadmConfig cfg)
    {
        var cm = K8sObjects.ConfigMap(KubeSystem, Name,
            [new(ConfigKey, Config(cfg)), new(KubeconfigKey, Kubeconfig(ControlPlaneUrl(cfg)))],
            Meta(Name, KubeSystem, [new("app", "kube-proxy")]));
        return cfg.KubeProxyConfiguration.Count > 0 ? cm : Sign(cm);
    }

    /// <summary>Rbac is ServiceAccount kube-proxy, CRB kubeadm:node-proxier, Role/RoleBinding kube-proxy.</summary>
    public static JsonObject[] Rbac() =>
    [
        ServiceAccount(KubeSystem, Name),
        ClusterRoleBinding("kubeadm:node-proxier", "system:node-proxier", ServiceAccountSubject(KubeSystem, Name)),
        Role(KubeSystem, Name, Rule(["get"], "", ["configmaps"], [Name])),
        RoleBinding(KubeSystem, Name, Name, Group(BootstrapGroup)),
    ];

    /// <summary>DaemonSet is kube-system/kube-proxy.</summary>
    public static JsonObject DaemonSet(KubeadmConfig cfg)
    {
        JsonObject Lbl() => new() { ["k8s-app"] = Name };
        var container = new JsonObject
        {
            ["name"] = Name,
            ["image"] = Image(cfg),
            ["imagePullPolicy"] = "IfNotPresent",
            ["command"] = Strings("/usr/local/bin/kube-proxy", $"--config=/var/lib/kube-proxy/{ConfigKey}", "--hostname-override=$(NODE_NAME)"),
            ["securityContext"] = new JsonObject { ["privileged"] = true },
            ["volumeMounts"] = new JsonArray(
                new JsonObject { ["mountPath"] = "/var/lib/kube-proxy", ["name"] = Name },
                new JsonObject { ["mountPath"] = "/run/xtables.lock", ["name"] = "xtables-lock", ["readOnly"] = false },
                new JsonObject { ["mountPath"] = "/lib/modules", ["name"] = "lib-modules", ["readOnly"] = true }),
            ["env"] = new JsonArray(new JsonObject
            {
                ["name"] = "NODE_NAME",
                ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "spec.nodeName" } },
            }),
        };
        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "DaemonSet",
            ["metadata"] = Meta(Name, KubeSystem, [new("k8s-app", Name)]),
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = Lbl() },
                ["updateStrategy"] = new JsonObject { ["type"] = "RollingUpdate" },
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = Lbl() },
                    ["spec"] = new JsonObject
                    {
                        ["priorityClassName"] = "system-node-critical",
                        ["containers"] = new JsonArray(container),
                        ["hostNetwork"] = true,
                        ["serviceAccountName"] = Name,
                        ["volumes"] = new JsonArray(
                            new JsonObject { ["name"] = Name, ["configMap"] = new JsonObject { ["name"] = Name } },
                            new JsonObject { ["name"] = "xtables-lock", ["hostPath"] = new JsonObject { ["path"] = "/run/xtables.lock", ["type"] = "FileOrCreate" } },
                            new JsonObject { ["name"] = "lib-modules", ["hostPath"] = new JsonObject { ["path"] = "/lib/modules" } }),
                        ["tolerations"] = new JsonArray(new JsonObject { ["operator"] = "Exists" }),
                        ["nodeSelector"] = new JsonObject { ["kubernetes.io/os"] = "linux" },
                    },
                },
            },
        };
    }
}

/// <summary>AddonPhase is "init phase addon" (coredns, kube-proxy); each is skipped when disabled in the config.</summary>
public static class AddonPhase
{
    /// <summary>RunAsync applies CoreDNS then kube-proxy.</summary>
    public static async Task RunAsync(PhaseContext ctx, IKubeApi api, CancellationToken ct)
    {
        await RunCoreDnsAsync(ctx, api, ct).ConfigureAwait(false);
        await RunKubeProxyAsync(ctx, api, ct).ConfigureAwait(false);
    }

    /// <summary>RunCoreDnsAsync applies the CoreDNS objects, keeping the replica count of an existing deployment and a
    /// user-modified Corefile (kubeadm's CreateOrRetain for a non-default Corefile).</summary>
    public static async Task RunCoreDnsAsync(PhaseContext ctx, IKubeApi api, CancellationToken ct)
    {
        if (ctx.Config.Cluster.Dns.Disabled)
        {
            return;
        }
        var existing = await api.ListAsync(ApiResource.Deployment, KubeSystem, "k8s-app=kube-dns", ct).ConfigureAwait(false);
        var replicas = existing.Count == 1 && existing[0]["spec"]?["replicas"] is JsonValue r ? r.GetValue<int>() : CoreDns.DefaultReplicas;

        var cm = CoreDns.ConfigMap(ctx.Config);
        var current = await api.GetAsync(ApiResource.ConfigMap, KubeSystem, CoreDns.Name, ct).ConfigureAwait(false);
        if (current?["data"]?["Corefile"] is null)
        {
            await Apply.CreateOrUpdateAsync(api, cm, ct).ConfigureAwait(false);
        }
        await Apply.AllAsync(api, [.. CoreDns.Rbac(ctx.Config.Profile), CoreDns.Deployment(ctx.Config, replicas), CoreDns.Service(ctx.Config)], ct).ConfigureAwait(false);
        ctx.Ui.Info("addons", "Applied essential addon: CoreDNS");
    }

    /// <summary>RunKubeProxyAsync applies the kube-proxy objects.</summary>
    public static async Task RunKubeProxyAsync(PhaseContext ctx, IKubeApi api, CancellationToken ct)
    {
        if (ctx.Config.Cluster.ProxyDisabled)
        {
            return;
        }
        var rbac = KubeProxy.Rbac();
        await Apply.CreateOrUpdateAsync(api, rbac[0], ct).ConfigureAwait(false);
        await Apply.AllAsync(api, [KubeProxy.ConfigMap(ctx.Config), KubeProxy.DaemonSet(ctx.Config), .. rbac[1..]], ct).ConfigureAwait(false);
        ctx.Ui.Info("addons", "Applied essential addon: kube-proxy");
    }
}
