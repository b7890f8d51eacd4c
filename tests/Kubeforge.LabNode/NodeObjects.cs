using System.Text.Json.Nodes;

namespace Kubeforge.LabNode;

/// <summary>NodeObjects builds the objects the kubelet writes: its Node (registration and status), its node Lease and the
/// mirror pods of its static pods. Pure.</summary>
public static class NodeObjects
{
    /// <summary>NotReadyMessage is the Ready=False message while no CNI configuration exists.</summary>
    public const string NotReadyMessage = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:network plugin not ready: cni config uninitialized";

    /// <summary>Node is the registration object: labels kubernetes.io/hostname, os, arch (+ beta forms), taints from
    /// --register-with-taints, and the first status.</summary>
    public static JsonObject Node(string name, string address, IEnumerable<JsonObject> taints, string version, bool cniReady, DateTimeOffset now) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Node",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["labels"] = new JsonObject
            {
                ["beta.kubernetes.io/arch"] = "amd64", ["beta.kubernetes.io/os"] = "linux",
                ["kubernetes.io/arch"] = "amd64", ["kubernetes.io/hostname"] = name, ["kubernetes.io/os"] = "linux",
            },
            ["annotations"] = new JsonObject { ["volumes.kubernetes.io/controller-managed-attach-detach"] = "true" },
        },
        ["spec"] = taints.Any() ? new JsonObject { ["taints"] = new JsonArray([.. taints]) } : new JsonObject(),
        ["status"] = Status(null, name, address, version, cniReady, now),
    };

    /// <summary>Status computes the node status, keeping each condition's lastTransitionTime while its status is unchanged.</summary>
    public static JsonObject Status(JsonObject? previous, string name, string address, string version, bool cniReady, DateTimeOffset now)
    {
        var ts = Time(now);
        JsonObject Cond(string type, bool value, string reason, string message)
        {
            var status = value ? "True" : "False";
            var old = (previous?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == type);
            var transition = old is not null && (string?)old["status"] == status ? (string?)old["lastTransitionTime"] ?? ts : ts;
            return new JsonObject
            {
                ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message,
                ["lastHeartbeatTime"] = ts, ["lastTransitionTime"] = transition,
            };
        }
        var resources = new JsonObject { ["cpu"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture), ["memory"] = "2Gi", ["pods"] = "110" };
        return new JsonObject
        {
            ["conditions"] = new JsonArray(
                Cond("MemoryPressure", false, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                Cond("DiskPressure", false, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                Cond("PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cniReady ? Cond("Ready", true, "KubeletReady", "kubelet is posting ready status")
                    : Cond("Ready", false, "KubeletNotReady", NotReadyMessage)),
            ["addresses"] = new JsonArray(
                new JsonObject { ["type"] = "InternalIP", ["address"] = address },
                new JsonObject { ["type"] = "Hostname", ["address"] = name }),
            ["capacity"] = resources.DeepClone(),
            ["allocatable"] = resources,
            ["daemonEndpoints"] = new JsonObject { ["kubeletEndpoint"] = new JsonObject { ["Port"] = 10250 } },
            ["nodeInfo"] = new JsonObject
            {
                ["architecture"] = "amd64", ["operatingSystem"] = "linux", ["kubeletVersion"] = version, ["kubeProxyVersion"] = version,
                ["containerRuntimeVersion"] = "kubeforge-labnode://0 (test double: processes, no containers)",
                ["osImage"] = "Debian GNU/Linux 12 (bookworm)", ["kernelVersion"] = Environment.OSVersion.Version.ToString(),
                ["machineID"] = "", ["systemUUID"] = "", ["bootID"] = "",
            },
        };
    }

    /// <summary>Taints parses --register-with-taints (`key=value:Effect,key:Effect`).</summary>
    public static List<JsonObject> Taints(string? flag)
    {
        var list = new List<JsonObject>();
        foreach (var t in (flag ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = t.LastIndexOf(':');
            if (colon < 0) throw new ArgumentException($"invalid taint \"{t}\": want key[=value]:Effect");
            var kv = t[..colon];
            var eq = kv.IndexOf('=');
            var o = new JsonObject { ["key"] = eq < 0 ? kv : kv[..eq] };
            if (eq >= 0) o["value"] = kv[(eq + 1)..];
            o["effect"] = t[(colon + 1)..];
            list.Add(o);
        }
        return list;
    }

    /// <summary>Lease is the node's heartbeat in kube-node-lease (leaseDurationSeconds 40, like the kubelet).</summary>
    public static JsonObject Lease(string name, DateTimeOffset now, string? resourceVersion) => new()
    {
        ["apiVersion"] = "coordination.k8s.io/v1",
        ["kind"] = "Lease",
        ["metadata"] = resourceVersion is null
            ? new JsonObject { ["name"] = name, ["namespace"] = "kube-node-lease" }
            : new JsonObject { ["name"] = name, ["namespace"] = "kube-node-lease", ["resourceVersion"] = resourceVersion },
        ["spec"] = new JsonObject { ["holderIdentity"] = name, ["leaseDurationSeconds"] = 40, ["renewTime"] = MicroTime(now) },
    };

    /// <summary>MirrorPod is the API copy of a static pod: NAME-NODE in the manifest's namespace, config.mirror annotation,
    /// bound to the node, status Running.</summary>
    public static JsonObject MirrorPod(PodPlan plan, string nodeName, string address, DateTimeOffset started)
    {
        var pod = Kubeforge.Yaml.YJson.ToJson(plan.Manifest) as JsonObject ?? new JsonObject();
        var meta = pod["metadata"] as JsonObject ?? new JsonObject();
        pod["metadata"] = meta;
        meta["name"] = plan.Name + "-" + nodeName;
        meta["namespace"] = (string?)meta["namespace"] ?? "kube-system";
        meta.Remove("creationTimestamp");
        var ann = meta["annotations"] as JsonObject ?? new JsonObject();
        meta["annotations"] = ann;
        ann["kubernetes.io/config.hash"] = plan.Hash;
        ann["kubernetes.io/config.mirror"] = plan.Hash;
        ann["kubernetes.io/config.source"] = "file";
        var spec = pod["spec"] as JsonObject ?? new JsonObject();
        pod["spec"] = spec;
        spec["nodeName"] = nodeName;
        var container = (spec["containers"] as JsonArray)?.FirstOrDefault() as JsonObject;
        var ts = Time(started);
        pod["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["hostIP"] = address,
            ["podIP"] = address,
            ["startTime"] = ts,
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "Ready", ["status"] = "True", ["lastTransitionTime"] = ts },
                new JsonObject { ["type"] = "ContainersReady", ["status"] = "True", ["lastTransitionTime"] = ts }),
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = (string?)container?["name"] ?? plan.Name, ["image"] = (string?)container?["image"] ?? "",
                ["ready"] = true, ["started"] = true, ["restartCount"] = 0,
                ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = ts } },
            }),
        };
        return pod;
    }

    /// <summary>Time formats RFC 3339 seconds (metav1.Time).</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>MicroTime formats RFC 3339 with microseconds (metav1.MicroTime).</summary>
    public static string MicroTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
