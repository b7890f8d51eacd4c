using System.Text.Json.Nodes;
using Kubeforge.Config;
using Kubeforge.Phases;
using Kubeforge.Versions;
using static Kubeforge.ClusterObjects.K8sObjects;

namespace Kubeforge.ClusterObjects;

/// <summary>Flannel renders the flannel pod network (beyond kubeadm: what the user's guide applies with
/// `kubectl apply -f kube-flannel.yml`), shaped like the pinned release's manifest (<see cref="FlannelPins"/>),
/// with net-conf.json's Network taken from networking.podSubnet.</summary>
public static class Flannel
{
    public const string Name = "flannel";
    public const string ConfigMapName = "kube-flannel-cfg";
    public const string DaemonSetName = "kube-flannel-ds";

    private static bool Recent(FlannelPins p) => p.ManifestShape != "v0.15";

    /// <summary>Namespace is the namespace the objects live in (kube-system for old releases, kube-flannel for recent).</summary>
    public static string Namespace(KubeadmConfig cfg) => cfg.Profile.Flannel.NamespaceName;

    /// <summary>Retag puts an image under the override repository (keeping its last path segment), or returns it unchanged.</summary>
    public static string Retag(string image, string? repository) =>
        string.IsNullOrEmpty(repository) ? image : $"{repository.TrimEnd('/')}/{image[(image.LastIndexOf('/') + 1)..]}";

    /// <summary>Image is the flannel image (flanneld and install-cni).</summary>
    public static string Image(KubeadmConfig cfg) =>
        $"{Retag(cfg.Profile.Flannel.Image, cfg.Cni.ImageRepository)}:{cfg.Profile.Flannel.Version}";

    /// <summary>CniPluginImage is the flannel CNI plugin image (install-cni-plugin).</summary>
    public static string CniPluginImage(KubeadmConfig cfg) =>
        $"{Retag(cfg.Profile.Flannel.CniPluginImage, cfg.Cni.ImageRepository)}:{cfg.Profile.Flannel.CniPluginVersion}";

    /// <summary>CniConf is cni-conf.json: the cbr0 conflist of flannel and portmap, as every release ships it.</summary>
    public static string CniConf() =>
        "{\n  \"name\": \"cbr0\",\n  \"cniVersion\": \"0.3.1\",\n  \"plugins\": [\n    {\n      \"type\": \"flannel\",\n      \"delegate\": {\n" +
        "        \"hairpinMode\": true,\n        \"isDefaultGateway\": true\n      }\n    },\n    {\n      \"type\": \"portmap\",\n" +
        "      \"capabilities\": {\n        \"portMappings\": true\n      }\n    }\n  ]\n}\n";

    /// <summary>NetConf is net-conf.json: Network = the IPv4 pod CIDR (IPv6Network/EnableIPv6 for an IPv6 one; an
    /// IPv6-only pod network also sets EnableIPv4 false), EnableNFTables false on recent releases, Backend.Type.</summary>
    public static string NetConf(KubeadmConfig cfg)
    {
        var cidrs = (cfg.Cluster.Networking.PodSubnet ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var v4 = cidrs.FirstOrDefault(c => !c.Contains(':'));
        var v6 = cidrs.FirstOrDefault(c => c.Contains(':'));
        var lines = new List<string>();
        if (v4 is not null)
        {
            lines.Add($"  \"Network\": \"{v4}\",");
        }
        else
        {
            lines.Add("  \"EnableIPv4\": false,");
        }
        if (v6 is not null)
        {
            lines.Add("  \"EnableIPv6\": true,");
            lines.Add($"  \"IPv6Network\": \"{v6}\",");
        }
        if (Recent(cfg.Profile.Flannel))
        {
            lines.Add("  \"EnableNFTables\": false,");
        }
        lines.Add($"  \"Backend\": {{\n    \"Type\": \"{cfg.Cni.Backend}\"\n  }}");
        return "{\n" + string.Join("\n", lines) + "\n}\n";
    }

    private static List<KeyValuePair<string, string>> Labels(FlannelPins p, bool node)
    {
        var l = new List<KeyValuePair<string, string>>();
        if (node)
        {
            l.Add(new("app", Name));
        }
        if (Recent(p))
        {
            l.Add(new("k8s-app", Name));
        }
        if (node)
        {
            l.Add(new("tier", "node"));
        }
        return l;
    }

    private static JsonObject WithLabels(JsonObject obj, FlannelPins p, bool node = false)
    {
        var labels = Labels(p, node);
        if (labels.Count > 0)
        {
            ((JsonObject)obj["metadata"]!)["labels"] = StringMap(labels);
        }
        return obj;
    }

    /// <summary>NamespaceObject is the kube-flannel Namespace (privileged pod security), null when the release uses kube-system.</summary>
    public static JsonObject? NamespaceObject(KubeadmConfig cfg)
    {
        var p = cfg.Profile.Flannel;
        if (!Recent(p))
        {
            return null;
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Namespace",
            ["metadata"] = Meta(p.NamespaceName, null, [new("k8s-app", Name), new("pod-security.kubernetes.io/enforce", "privileged")]),
        };
    }

    /// <summary>ServiceAccount is &lt;ns&gt;/flannel.</summary>
    public static JsonObject ServiceAccount(KubeadmConfig cfg) =>
        WithLabels(K8sObjects.ServiceAccount(Namespace(cfg), Name), cfg.Profile.Flannel);

    /// <summary>ClusterRole is flannel: get pods, list/watch (and get on recent releases) nodes, patch nodes/status; the
    /// v0.15 manifest also lets it use its PodSecurityPolicy.</summary>
    public static JsonObject ClusterRole(KubeadmConfig cfg)
    {
        var p = cfg.Profile.Flannel;
        var rules = new List<JsonObject>();
        if (!Recent(p))
        {
            rules.Add(new JsonObject
            {
                ["apiGroups"] = Strings("extensions"),
                ["resources"] = Strings("podsecuritypolicies"),
                ["verbs"] = Strings("use"),
                ["resourceNames"] = Strings("psp.flannel.unprivileged"),
            });
        }
        rules.Add(Rule(["get"], "", ["pods"]));
        rules.Add(Rule(Recent(p) ? ["get", "list", "watch"] : ["list", "watch"], "", ["nodes"]));
        rules.Add(Rule(["patch"], "", ["nodes/status"]));
        return WithLabels(K8sObjects.ClusterRole(Name, [.. rules]), p);
    }

    /// <summary>ClusterRoleBinding binds ClusterRole flannel to the flannel ServiceAccount.</summary>
    public static JsonObject ClusterRoleBinding(KubeadmConfig cfg) =>
        WithLabels(K8sObjects.ClusterRoleBinding(Name, Name, ServiceAccountSubject(Namespace(cfg), Name)), cfg.Profile.Flannel);

    /// <summary>ConfigMap is kube-flannel-cfg with cni-conf.json and net-conf.json.</summary>
    public static JsonObject ConfigMap(KubeadmConfig cfg) =>
        WithLabels(K8sObjects.ConfigMap(Namespace(cfg), ConfigMapName, [new("cni-conf.json", CniConf()), new("net-conf.json", NetConf(cfg))]),
            cfg.Profile.Flannel, node: true);

    private static JsonObject Mount(string name, string path) => new() { ["name"] = name, ["mountPath"] = path };

    private static JsonObject HostPath(string name, string path, string? type = null)
    {
        var hp = new JsonObject { ["path"] = path };
        if (type is not null)
        {
            hp["type"] = type;
        }
        return new JsonObject { ["name"] = name, ["hostPath"] = hp };
    }

    private static JsonObject FieldEnv(string name, string path) =>
        new() { ["name"] = name, ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = path } } };

    private static JsonObject Copy(string name, string image, string from, string to, params JsonObject[] mounts) => new()
    {
        ["name"] = name,
        ["image"] = image,
        ["command"] = Strings("cp"),
        ["args"] = Strings("-f", from, to),
        ["volumeMounts"] = new JsonArray([.. mounts]),
    };

    /// <summary>Args are flanneld's arguments: --ip-masq --kube-subnet-mgr, plus --iface when configured.</summary>
    public static IReadOnlyList<string> Args(KubeadmConfig cfg) =>
        string.IsNullOrEmpty(cfg.Cni.Interface) ? ["--ip-masq", "--kube-subnet-mgr"] : ["--ip-masq", "--kube-subnet-mgr", $"--iface={cfg.Cni.Interface}"];

    /// <summary>DaemonSet is kube-flannel-ds: install-cni-plugin and install-cni init containers, then flanneld on
    /// the host network of every Linux node (tolerating every NoSchedule taint).</summary>
    public static JsonObject DaemonSet(KubeadmConfig cfg)
    {
        var p = cfg.Profile.Flannel;
        var recent = Recent(p);
        var image = Image(cfg);
        var resources = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "100m", ["memory"] = "50Mi" } };
        if (!recent)
        {
            resources["limits"] = new JsonObject { ["cpu"] = "100m", ["memory"] = "50Mi" };
        }
        var env = new JsonArray(FieldEnv("POD_NAME", "metadata.name"), FieldEnv("POD_NAMESPACE", "metadata.namespace"));
        var mounts = new JsonArray(Mount("run", "/run/flannel"), Mount("flannel-cfg", "/etc/kube-flannel/"));
        var volumes = new JsonArray(HostPath("run", "/run/flannel"), HostPath("cni-plugin", "/opt/cni/bin"), HostPath("cni", "/etc/cni/net.d"),
            new JsonObject { ["name"] = "flannel-cfg", ["configMap"] = new JsonObject { ["name"] = ConfigMapName } });
        if (recent)
        {
            env.Add((JsonNode)new JsonObject { ["name"] = "EVENT_QUEUE_DEPTH", ["value"] = "5000" });
            mounts.Add((JsonNode)Mount("xtables-lock", "/run/xtables.lock"));
            volumes.Add((JsonNode)HostPath("xtables-lock", "/run/xtables.lock", "FileOrCreate"));
        }
        var container = new JsonObject
        {
            ["name"] = "kube-flannel",
            ["image"] = image,
            ["command"] = Strings("/opt/bin/flanneld"),
            ["args"] = Strings(Args(cfg)),
            ["resources"] = resources,
            ["securityContext"] = new JsonObject
            {
                ["privileged"] = false,
                ["capabilities"] = new JsonObject { ["add"] = Strings("NET_ADMIN", "NET_RAW") },
            },
            ["env"] = env,
            ["volumeMounts"] = mounts,
        };
        var podLabels = StringMap(Labels(p, node: true));
        var selector = recent
            ? new JsonObject { ["app"] = Name, ["k8s-app"] = Name }
            : new JsonObject { ["app"] = Name };
        var ds = new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "DaemonSet",
            ["metadata"] = Meta(DaemonSetName, Namespace(cfg)),
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = selector },
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = podLabels },
                    ["spec"] = new JsonObject
                    {
                        ["affinity"] = new JsonObject
                        {
                            ["nodeAffinity"] = new JsonObject
                            {
                                ["requiredDuringSchedulingIgnoredDuringExecution"] = new JsonObject
                                {
                                    ["nodeSelectorTerms"] = new JsonArray(new JsonObject
                                    {
                                        ["matchExpressions"] = new JsonArray(new JsonObject
                                        {
                                            ["key"] = "kubernetes.io/os",
                                            ["operator"] = "In",
                                            ["values"] = Strings("linux"),
                                        }),
                                    }),
                                },
                            },
                        },
                        ["hostNetwork"] = true,
                        ["priorityClassName"] = "system-node-critical",
                        ["tolerations"] = new JsonArray(new JsonObject { ["operator"] = "Exists", ["effect"] = "NoSchedule" }),
                        ["serviceAccountName"] = Name,
                        ["initContainers"] = new JsonArray(
                            Copy("install-cni-plugin", CniPluginImage(cfg), "/flannel", "/opt/cni/bin/flannel", Mount("cni-plugin", "/opt/cni/bin")),
                            Copy("install-cni", image, "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist",
                                Mount("cni", "/etc/cni/net.d"), Mount("flannel-cfg", "/etc/kube-flannel/"))),
                        ["containers"] = new JsonArray(container),
                        ["volumes"] = volumes,
                    },
                },
            },
        };
        return WithLabels(ds, p, node: true);
    }

    /// <summary>Objects are all flannel objects in apply order (namespace first).</summary>
    public static IReadOnlyList<JsonObject> Objects(KubeadmConfig cfg)
    {
        var list = new List<JsonObject>();
        if (NamespaceObject(cfg) is { } ns)
        {
            list.Add(ns);
        }
        list.AddRange([ServiceAccount(cfg), ClusterRole(cfg), ClusterRoleBinding(cfg), ConfigMap(cfg), DaemonSet(cfg)]);
        return list;
    }
}

/// <summary>CniPhase is "init phase addon cni": it applies the configured pod network addon (beyond kubeadm).</summary>
public static class CniPhase
{
    /// <summary>RunAsync creates or updates the CNI objects (nothing when --cni is none) and reports what it applied.</summary>
    public static async Task RunAsync(PhaseContext ctx, IKubeApi api, CancellationToken ct)
    {
        var cfg = ctx.Config;
        if (!cfg.Cni.Enabled)
        {
            return;
        }
        var objects = Flannel.Objects(cfg);
        foreach (var obj in objects)
        {
            if (obj["kind"]!.GetValue<string>() == "Namespace")
            {
                await EnsureNamespaceAsync(api, obj, ct).ConfigureAwait(false);
            }
            else
            {
                await Apply.CreateOrUpdateAsync(api, obj, ct).ConfigureAwait(false);
            }
        }
        ctx.Ui.Info("addons", $"Applied CNI addon: {cfg.Cni.Plugin} ({cfg.Cni.Backend}, pod network {cfg.Cluster.Networking.PodSubnet})");
    }

    /// <summary>EnsureNamespaceAsync creates the namespace, or merges its labels into an existing one (the API server
    /// adds labels of its own, so the namespace is never replaced).</summary>
    private static async Task EnsureNamespaceAsync(IKubeApi api, JsonObject ns, CancellationToken ct)
    {
        var existing = await api.GetAsync(ApiResource.Namespace, null, ns.Name(), ct).ConfigureAwait(false);
        if (existing is null)
        {
            await api.CreateIfMissingAsync(ApiResource.Namespace, ns, ct).ConfigureAwait(false);
            return;
        }
        var want = (JsonObject)ns["metadata"]!["labels"]!;
        var have = existing["metadata"]?["labels"] as JsonObject;
        if (want.All(kv => have?[kv.Key]?.GetValue<string>() == kv.Value!.GetValue<string>()))
        {
            return;
        }
        var patch = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = want.DeepClone() } };
        await api.PatchAsync(ApiResource.Namespace, null, ns.Name(), patch.ToJsonString(), "application/merge-patch+json", ct).ConfigureAwait(false);
    }
}
