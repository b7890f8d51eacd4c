using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.Config;

/// <summary>KubeadmConfigWriter renders kubeadm's own config documents the way kubeadm of the config's
/// version marshals them (external API profile.ConfigApiVersion, Go YAML key order, omitempty rules).</summary>
public static class KubeadmConfigWriter
{
    /// <summary>ClusterConfigurationYaml is the ClusterConfiguration as uploaded to the kube-system/kubeadm-config
    /// ConfigMap (key ClusterConfiguration): defaulted values, imageRepository resolved, no component configs.</summary>
    public static string ClusterConfigurationYaml(KubeadmConfig cfg) => GoYamlWriter.Write(ClusterConfigurationNode(cfg));

    /// <summary>ClusterConfigurationNode is <see cref="ClusterConfigurationYaml"/> as a document tree.</summary>
    public static YMap ClusterConfigurationNode(KubeadmConfig cfg)
    {
        var p = cfg.Profile;
        var v4 = p.ConfigApiVersion == KubeadmSchema.V4;
        var c = cfg.Cluster;
        var m = new YMap();

        var apiArgs = c.ApiServer.ExtraArgs.ToList();
        if (p.UploadedAuthorizationMode)
        {
            // the control-plane phase of these releases wrote the effective value back into the config before upload
            var user = apiArgs.LastOrDefault(a => a.Name == "authorization-mode")?.Value;
            apiArgs.RemoveAll(a => a.Name == "authorization-mode");
            apiArgs.Add(new Arg("authorization-mode", string.IsNullOrEmpty(user) ? "Node,RBAC" : user));
        }
        var api = Component(apiArgs, c.ApiServer.ExtraVolumes, c.ApiServer.ExtraEnvs, v4);
        if (c.ApiServer.CertSans.Count > 0)
        {
            api.Add("certSANs", YSeq.Strings(c.ApiServer.CertSans));
        }
        if (!v4)
        {
            api.Add("timeoutForControlPlane", GoDuration.Format(c.ApiServer.TimeoutForControlPlane));
        }
        m.Add("apiServer", api);
        m.Add("apiVersion", p.ConfigApiVersion);
        if (v4)
        {
            m.Add("caCertificateValidityPeriod", GoDuration.Format(c.CaCertificateValidityPeriod));
            m.Add("certificateValidityPeriod", GoDuration.Format(c.CertificateValidityPeriod));
        }
        m.Add("certificatesDir", c.CertificatesDir);
        m.Add("clusterName", c.ClusterName);
        if (c.ControlPlaneEndpoint.Length > 0)
        {
            m.Add("controlPlaneEndpoint", c.ControlPlaneEndpoint);
        }
        m.Add("controllerManager", Component(c.ControllerManager.ExtraArgs, c.ControllerManager.ExtraVolumes, c.ControllerManager.ExtraEnvs, v4));
        var dns = new YMap();
        AddIf(dns, "imageRepository", c.Dns.ImageRepository);
        AddIf(dns, "imageTag", c.Dns.ImageTag);
        if (v4 && c.Dns.Disabled)
        {
            dns.Add("disabled", true);
        }
        m.Add("dns", dns);
        if (v4)
        {
            m.Add("encryptionAlgorithm", c.EncryptionAlgorithm);
        }
        var etcd = new YMap();
        if (c.Etcd.Local is { } l)
        {
            var local = new YMap();
            AddIf(local, "imageRepository", l.ImageRepository);
            AddIf(local, "imageTag", l.ImageTag);
            local.Add("dataDir", l.DataDir);
            if (l.ExtraArgs.Count > 0)
            {
                local.Add("extraArgs", Args(l.ExtraArgs, v4));
            }
            if (v4 && l.ExtraEnvs.Count > 0)
            {
                local.Add("extraEnvs", Envs(l.ExtraEnvs));
            }
            if (l.ServerCertSans.Count > 0)
            {
                local.Add("serverCertSANs", YSeq.Strings(l.ServerCertSans));
            }
            if (l.PeerCertSans.Count > 0)
            {
                local.Add("peerCertSANs", YSeq.Strings(l.PeerCertSans));
            }
            etcd.Add("local", local);
        }
        if (c.Etcd.External is { } e)
        {
            etcd.Add("external", new YMap
            {
                { "endpoints", e.Endpoints.Count > 0 ? YSeq.Strings(e.Endpoints) : YScalar.Null() },
                { "caFile", e.CaFile },
                { "certFile", e.CertFile },
                { "keyFile", e.KeyFile },
            });
        }
        m.Add("etcd", etcd);
        if (c.FeatureGates.Count > 0)
        {
            var fg = new YMap();
            foreach (var (k, val) in c.FeatureGates)
            {
                fg.Add(k, val);
            }
            m.Add("featureGates", fg);
        }
        m.Add("imageRepository", cfg.ImageRepository);
        m.Add("kind", "ClusterConfiguration");
        m.Add("kubernetesVersion", c.KubernetesVersion.Length > 0 ? c.KubernetesVersion : cfg.Version.ToString());
        var net = new YMap { { "dnsDomain", c.Networking.DnsDomain } };
        AddIf(net, "podSubnet", c.Networking.PodSubnet);
        net.Add("serviceSubnet", c.Networking.ServiceSubnet);
        m.Add("networking", net);
        if (v4)
        {
            m.Add("proxy", c.ProxyDisabled ? new YMap { { "disabled", true } } : new YMap());
        }
        m.Add("scheduler", Component(c.Scheduler.ExtraArgs, c.Scheduler.ExtraVolumes, c.Scheduler.ExtraEnvs, v4));
        return m;
    }

    /// <summary>InitDefaults is the output of `kubeadm config print init-defaults` of that release:
    /// InitConfiguration and ClusterConfiguration with kubeadm's placeholder values, separated by "---".</summary>
    public static string InitDefaults(VersionProfile p)
    {
        var v4 = p.ConfigApiVersion == KubeadmSchema.V4;
        var init = new YMap
        {
            { "apiVersion", p.ConfigApiVersion },
            {
                "bootstrapTokens", YSeq.Of(new YMap
                {
                    { "groups", YSeq.Strings(["system:bootstrappers:kubeadm:default-node-token"]) },
                    { "token", "abcdef.0123456789abcdef" },
                    { "ttl", "24h0m0s" },
                    { "usages", YSeq.Strings(["signing", "authentication"]) },
                })
            },
            { "kind", "InitConfiguration" },
            { "localAPIEndpoint", new YMap { { "advertiseAddress", "1.2.3.4" }, { "bindPort", 6443 } } },
        };
        var nr = new YMap { { "criSocket", p.InitDefaultsCriSocket }, { "imagePullPolicy", "IfNotPresent" } };
        if (v4)
        {
            nr.Add("imagePullSerial", true);
        }
        nr.Add("name", "node");
        nr.Add("taints", YScalar.Null());
        init.Add("nodeRegistration", nr);
        if (v4)
        {
            var t = new Timeouts();
            init.Add("timeouts", new YMap
            {
                { "controlPlaneComponentHealthCheck", GoDuration.Format(t.ControlPlaneComponentHealthCheck) },
                { "discovery", GoDuration.Format(t.Discovery) },
                { "etcdAPICall", GoDuration.Format(t.EtcdApiCall) },
                { "kubeletHealthCheck", GoDuration.Format(t.KubeletHealthCheck) },
                { "kubernetesAPICall", GoDuration.Format(t.KubernetesApiCall) },
                { "tlsBootstrap", GoDuration.Format(t.TlsBootstrap) },
                { "upgradeManifests", GoDuration.Format(t.UpgradeManifests) },
            });
        }

        // the ClusterConfiguration part is the defaulted config of the release, kubernetesVersion "1.MM.0"
        var cfg = new KubeadmConfig { Version = p.DefaultVersion, Profile = p };
        cfg.Cluster.KubernetesVersion = $"1.{p.Minor}.0";
        var cluster = ClusterConfigurationNode(cfg);
        if (p.UploadedAuthorizationMode)
        {
            // print init-defaults does not run the control-plane phase: no authorization-mode
            var api = cluster.Map("apiServer")!;
            api.Remove("extraArgs");
        }
        return GoYamlWriter.Write(init) + "---\n" + GoYamlWriter.Write(cluster);
    }

    private static YMap Component(IReadOnlyList<Arg> args, IReadOnlyList<HostPathMount> volumes, IReadOnlyList<EnvVar> envs, bool v4)
    {
        var m = new YMap();
        if (args.Count > 0)
        {
            m.Add("extraArgs", Args(args, v4));
        }
        if (v4 && envs.Count > 0)
        {
            m.Add("extraEnvs", Envs(envs));
        }
        if (volumes.Count > 0)
        {
            m.Add("extraVolumes", new YSeq(volumes.Select(v =>
            {
                var vm = new YMap { { "hostPath", v.HostPath }, { "mountPath", v.MountPath }, { "name", v.Name } };
                AddIf(vm, "pathType", v.PathType);
                if (v.ReadOnly)
                {
                    vm.Add("readOnly", true);
                }
                return (YNode)vm;
            })));
        }
        return m;
    }

    /// <summary>Args renders extraArgs: a name → value map in v1beta3 (last duplicate wins), a {name, value} list in v1beta4.</summary>
    private static YNode Args(IReadOnlyList<Arg> args, bool v4)
    {
        if (v4)
        {
            return new YSeq(args.Select(a => (YNode)new YMap { { "name", a.Name }, { "value", a.Value } }));
        }
        var m = new YMap();
        foreach (var a in args)
        {
            m.Add(a.Name, a.Value);
        }
        return m;
    }

    private static YSeq Envs(IReadOnlyList<EnvVar> envs) =>
        new(envs.Select(e => (YNode)new YMap { { "name", e.Name }, { "value", e.Value } }));

    private static void AddIf(YMap m, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            m.Add(key, value);
        }
    }
}
