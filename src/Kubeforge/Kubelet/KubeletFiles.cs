using System.Globalization;
using System.Net;
using System.Text;
using Kubeforge.Config;
using Kubeforge.ControlPlane;
using Kubeforge.Hosts;
using Kubeforge.Yaml;

namespace Kubeforge.Kubelet;

/// <summary>KubeletFiles renders the two files kubeadm's kubelet-start phase writes (spec/kubeadm.md §5.1,
/// §5.2; phases/kubelet/flags.go, componentconfigs/kubelet.go): /var/lib/kubelet/config.yaml and
/// /var/lib/kubelet/kubeadm-flags.env.</summary>
public static class KubeletFiles
{
    /// <summary>SystemdResolvConf is the resolvConf kubeadm sets when systemd-resolved is active.</summary>
    public const string SystemdResolvConf = "/run/systemd/resolve/resolv.conf";

    /// <summary>ConfigYaml renders config.yaml: the user's KubeletConfiguration over kubeadm's defaults, written
    /// like the kubelet's v1beta1 struct marshals (zero-valued durations and empty structs included, per
    /// profile.KubeletConfigShape). rotateCertificates is always true.</summary>
    public static byte[] ConfigYaml(KubeadmConfig cfg, bool systemdResolvedActive) => GoYamlWriter.WriteBytes(Config(cfg, systemdResolvedActive));

    /// <summary>Config is ConfigYaml as a document (also what upload-config stores in the kubelet ConfigMap).</summary>
    public static YMap Config(KubeadmConfig cfg, bool systemdResolvedActive)
    {
        var doc = Defaults(cfg);
        doc.MergeFrom(cfg.KubeletConfiguration);
        doc["apiVersion"] = "kubelet.config.k8s.io/v1beta1";
        doc["kind"] = "KubeletConfiguration";
        // kubeadm fills these only when empty; a user's non-empty value stays (kubeadm warns).
        DefaultIfEmpty(doc, "staticPodPath", NodePaths.ManifestsDir);
        DefaultIfEmpty(doc, "clusterDomain", cfg.Cluster.Networking.DnsDomain);
        DefaultIfEmpty(doc, "healthzBindAddress", "127.0.0.1");
        DefaultIfEmpty(doc, "cgroupDriver", "systemd");
        DefaultIfEmpty(doc.GetOrAddMap("authentication").GetOrAddMap("x509"), "clientCAFile", NodePaths.Join(cfg.CertDir, "ca.crt"));
        DefaultIfEmpty(doc.GetOrAddMap("authorization"), "mode", "Webhook");
        doc["rotateCertificates"] = true;
        if (systemdResolvedActive && doc["resolvConf"] is null)
        {
            doc["resolvConf"] = SystemdResolvConf;
        }
        return doc;
    }

    /// <summary>FlagsEnv renders kubeadm-flags.env: one line KUBELET_KUBEADM_ARGS="..." (Go %q quoting) with the
    /// version's flags merged with nodeRegistration.kubeletExtraArgs. registerTaintsUsingFlags (join) adds
    /// --register-with-taints; --hostname-override is added when the node name differs from osHostname.</summary>
    public static byte[] FlagsEnv(KubeadmConfig cfg, bool registerTaintsUsingFlags, string osHostname)
    {
        var p = cfg.Profile;
        var reg = cfg.Init.NodeRegistration;
        var args = new List<Arg>();
        if (p.ContainerRuntimeRemoteFlag)
        {
            args.Add(new Arg("container-runtime", "remote"));
        }
        args.Add(new Arg("container-runtime-endpoint", string.IsNullOrEmpty(reg.CriSocket) ? p.DefaultCriSocket : reg.CriSocket));
        if (p.PodInfraContainerImageFlag)
        {
            args.Add(new Arg("pod-infra-container-image", $"{cfg.ImageRepository}/pause:{p.PauseVersion}"));
        }
        var taints = reg.Taints ?? [.. p.ControlPlaneTaints];
        if (registerTaintsUsingFlags && taints.Count > 0)
        {
            args.Add(new Arg("register-with-taints", string.Join(',', taints.Select(t => t.ToString()))));
        }
        var hostname = osHostname.Trim().ToLowerInvariant();
        var nodeName = ComponentArgs.LastValue(reg.KubeletExtraArgs, "hostname-override")
            ?? (reg.Name.Length > 0 ? reg.Name : hostname);
        if (nodeName != hostname)
        {
            args.Add(new Arg("hostname-override", nodeName));
        }
        var line = string.Join(' ', ComponentArgs.ToCommand(args, reg.KubeletExtraArgs, p.SortExtraArgs));
        return Encoding.UTF8.GetBytes($"KUBELET_KUBEADM_ARGS={GoQuote(line)}\n");
    }

    /// <summary>DnsIp is the 10th address of the first service CIDR (kubeadm's GetDNSIP).</summary>
    public static string DnsIp(string serviceSubnet)
    {
        var cidr = serviceSubnet.Split(',')[0].Trim();
        var slash = cidr.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(cidr[..slash], out var ip)
            || !int.TryParse(cidr[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
        {
            return "10.96.0.10";
        }
        var bytes = ip.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        var carry = 10;
        for (var i = bytes.Length - 1; i >= 0 && carry > 0; i--)
        {
            var sum = bytes[i] + carry;
            bytes[i] = (byte)sum;
            carry = sum >> 8;
        }
        return new IPAddress(bytes).ToString();
    }

    /// <summary>GoQuote is Go's strconv.Quote (fmt %q): escapes ", \ and non-printable characters.</summary>
    public static string GoQuote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var r in s.EnumerateRunes())
        {
            switch (r.Value)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\v': sb.Append("\\v"); break;
                default:
                    if (r.Value < 0x20 || r.Value == 0x7F)
                    {
                        sb.Append("\\x").Append(r.Value.ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else if (!IsGoPrintable(r))
                    {
                        sb.Append(r.Value <= 0xFFFF ? "\\u" + r.Value.ToString("x4", CultureInfo.InvariantCulture)
                            : "\\U" + r.Value.ToString("x8", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(r.ToString());
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    // An approximation of Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020.
    private static bool IsGoPrintable(Rune r) => r.Value == ' ' || Rune.GetUnicodeCategory(r) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator => false,
        _ => true,
    };

    private static YMap Defaults(KubeadmConfig cfg)
    {
        var shape = cfg.Profile.KubeletConfigShape;
        var d = new YMap
        {
            { "apiVersion", "kubelet.config.k8s.io/v1beta1" },
            { "kind", "KubeletConfiguration" },
            {
                "authentication", new YMap
                {
                    { "anonymous", new YMap { { "enabled", false } } },
                    { "webhook", new YMap { { "cacheTTL", "0s" }, { "enabled", true } } },
                    { "x509", new YMap { { "clientCAFile", NodePaths.Join(cfg.CertDir, "ca.crt") } } },
                }
            },
            {
                "authorization", new YMap
                {
                    { "mode", "Webhook" },
                    { "webhook", new YMap { { "cacheAuthorizedTTL", "0s" }, { "cacheUnauthorizedTTL", "0s" } } },
                }
            },
            { "cgroupDriver", "systemd" },
            { "clusterDNS", YSeq.Strings([DnsIp(cfg.Cluster.Networking.ServiceSubnet)]) },
            { "clusterDomain", cfg.Cluster.Networking.DnsDomain },
            { "healthzBindAddress", "127.0.0.1" },
            { "healthzPort", 10248 },
            { "memorySwap", new YMap() },
            { "rotateCertificates", true },
            { "staticPodPath", NodePaths.ManifestsDir },
        };
        string[] durations =
        [
            "cpuManagerReconcilePeriod", "evictionPressureTransitionPeriod", "fileCheckFrequency", "httpCheckFrequency",
            "imageMinimumGCAge", "nodeStatusReportFrequency", "nodeStatusUpdateFrequency", "runtimeRequestTimeout",
            "shutdownGracePeriod", "shutdownGracePeriodCriticalPods", "streamingConnectionIdleTimeout", "syncFrequency",
            "volumeStatsAggPeriod",
        ];
        foreach (var k in durations)
        {
            d.Add(k, "0s");
        }
        if (shape.ImageMaximumGcAge)
        {
            d.Add("imageMaximumGCAge", "0s");
        }
        if (shape.ContainerRuntimeEndpoint)
        {
            d.Add("containerRuntimeEndpoint", "");
        }
        if (shape.CrashLoopBackOff)
        {
            d.Add("crashLoopBackOff", new YMap());
        }
        d.Add("logging", Logging(shape.Logging));
        return d;
    }

    private static YMap Logging(string shape)
    {
        if (shape == "empty")
        {
            return new YMap();
        }
        var options = new YMap { { "json", new YMap { { "infoBufferSize", "0" } } } };
        if (shape == "json+text")
        {
            options.Add("text", new YMap { { "infoBufferSize", "0" } });
        }
        return new YMap { { "flushFrequency", 0 }, { "options", options }, { "verbosity", 0 } };
    }


    private static void DefaultIfEmpty(YMap m, string key, string value)
    {
        if (m[key] is null or YScalar { Kind: ScalarKind.Null } or YScalar { Kind: ScalarKind.String, Text: "" })
        {
            m[key] = value;
        }
    }
}
