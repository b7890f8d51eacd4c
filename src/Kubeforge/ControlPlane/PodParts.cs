using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.ControlPlane;

/// <summary>PodParts builds the pieces of kubeadm's static Pods (util/staticpod/utils.go) as YAML nodes that
/// serialize like the typed Go objects: fields Go omits when empty (omitempty) are left out, structs that
/// are always marshalled (creationTimestamp, status) are written as null / {}.</summary>
internal static class PodParts
{
    public const string HttpScheme = "HTTP";
    public const string HttpsScheme = "HTTPS";

    /// <summary>Pod wraps one container and its volumes into kubeadm's ComponentPod.</summary>
    public static YMap Pod(string name, YMap container, IEnumerable<YMap> volumes, VersionProfile profile,
        IReadOnlyDictionary<string, string>? annotations = null)
    {
        var metadata = new YMap
        {
            { "name", name },
            { "namespace", "kube-system" },
            { "creationTimestamp", YScalar.Null() },
            { "labels", new YMap { { "component", name }, { "tier", "control-plane" } } },
        };
        if (annotations is { Count: > 0 })
        {
            var a = new YMap();
            foreach (var (k, v) in annotations)
            {
                a.Add(k, v);
            }
            metadata.Add("annotations", a);
        }
        var spec = new YMap
        {
            { "containers", YSeq.Of(container) },
            { "hostNetwork", true },
            { "priorityClassName", "system-node-critical" },
            { "securityContext", new YMap { { "seccompProfile", new YMap { { "type", "RuntimeDefault" } } } } },
        };
        if (profile.StaticPodPriority)
        {
            spec.Add("priority", 2000001000);
        }
        var vols = new YSeq(volumes);
        if (vols.Count > 0)
        {
            spec.Add("volumes", vols);
        }
        return new YMap
        {
            { "apiVersion", "v1" },
            { "kind", "Pod" },
            { "metadata", metadata },
            { "spec", spec },
            { "status", new YMap() },
        };
    }

    /// <summary>Container is the common part of every control-plane container.</summary>
    public static YMap Container(string name, string image, IEnumerable<string> command, YMap resources)
    {
        return new YMap
        {
            { "name", name },
            { "image", image },
            { "imagePullPolicy", "IfNotPresent" },
            { "command", YSeq.Strings(command) },
            { "resources", resources },
        };
    }

    /// <summary>Requests is resources.requests with the given cpu (and memory).</summary>
    public static YMap Requests(string cpu, string? memory = null)
    {
        var r = new YMap { { "cpu", cpu } };
        if (memory is not null)
        {
            r.Add("memory", memory);
        }
        return new YMap { { "requests", r } };
    }

    /// <summary>Liveness: initialDelay 10, timeout 15, failure 8, period 10.</summary>
    public static YMap Liveness(string host, string path, int port, string scheme) => Probe(host, path, port, scheme, 10, 15, 8, 10);

    /// <summary>Readiness: initialDelay 0, timeout 15, failure 3, period 1.</summary>
    public static YMap Readiness(string host, string path, int port, string scheme) => Probe(host, path, port, scheme, 0, 15, 3, 1);

    /// <summary>Startup: failureThreshold = ceil(control-plane timeout / period 10s), initialDelay = period.</summary>
    public static YMap Startup(string host, string path, int port, string scheme, TimeSpan timeout)
    {
        var failure = (int)Math.Ceiling(timeout.TotalSeconds / 10.0);
        return Probe(host, path, port, scheme, 10, 15, failure, 10);
    }

    private static YMap Probe(string host, string path, int port, string scheme, int initialDelay, int timeout, int failure, int period)
    {
        var get = new YMap();
        if (host.Length > 0)
        {
            get.Add("host", host);
        }
        get.Add("path", path);
        get.Add("port", port);
        get.Add("scheme", scheme);
        var p = new YMap { { "httpGet", get } };
        AddNonZero(p, "initialDelaySeconds", initialDelay);
        AddNonZero(p, "timeoutSeconds", timeout);
        AddNonZero(p, "periodSeconds", period);
        AddNonZero(p, "failureThreshold", failure);
        return p;
    }

    private static void AddNonZero(YMap m, string key, int v)
    {
        if (v != 0)
        {
            m.Add(key, v);
        }
    }

    /// <summary>Volume is a hostPath volume; type is always written (kubeadm passes a pointer, "" included).</summary>
    public static YMap Volume(string name, string path, string type) =>
        new() { { "name", name }, { "hostPath", new YMap { { "path", path }, { "type", type } } } };

    /// <summary>Mount is a volumeMount; readOnly is written only when true.</summary>
    public static YMap Mount(string name, string mountPath, bool readOnly)
    {
        var m = new YMap { { "name", name }, { "mountPath", mountPath } };
        if (readOnly)
        {
            m.Add("readOnly", true);
        }
        return m;
    }
}

/// <summary>HostMounts collects a component's hostPath volumes and mounts by name (a later one with the same
/// name replaces the earlier one) and lists them sorted by name, like kubeadm's controlPlaneHostPathMounts.</summary>
internal sealed class HostMounts
{
    private readonly SortedDictionary<string, (YMap Volume, YMap Mount)> _byName = new(StringComparer.Ordinal);

    public void Add(string name, string hostPath, string mountPath, bool readOnly, string type) =>
        _byName[name] = (PodParts.Volume(name, hostPath, type), PodParts.Mount(name, mountPath, readOnly));

    public IEnumerable<YMap> Volumes => _byName.Values.Select(v => v.Volume);

    public IEnumerable<YMap> Mounts => _byName.Values.Select(v => v.Mount);
}
