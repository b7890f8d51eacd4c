using System.Text.RegularExpressions;
using Kubeforge.Config;
using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.Cluster;

public sealed partial class ClusterFile
{
    [GeneratedRegex(@"^\d+\.\d+\.\d+$")]
    private static partial Regex Release();

    [GeneratedRegex(@"^[A-Za-z0-9_.:@-]{1,15}$")]
    private static partial Regex InterfaceName();

    [GeneratedRegex(@"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$")]
    private static partial Regex SecretRef();

    private static readonly string[] Effects = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

    /// <summary>Parse reads a cluster file strictly (unknown fields, wrong types), applies presets and defaults and
    /// validates it. Throws <see cref="ConfigError"/> with one line per problem, each naming the field path, the
    /// host (e.g. "spec.hosts[2] (node3).address") and the line.</summary>
    public static ClusterFile Parse(string text, string sourceName)
    {
        List<YNode> docs;
        try
        {
            docs = YamlReader.ReadAll(text, sourceName);
        }
        catch (YamlFormatException e)
        {
            throw new ConfigError($"{e.Message}; fix the YAML syntax at that line");
        }
        var r = new Reader(sourceName);
        if (docs.Count != 1 || docs[0] is not YMap root)
        {
            throw new ConfigError($"{sourceName}: a cluster file is one YAML mapping with apiVersion: {ApiVersion} and kind: {Kind}; found {(docs.Count == 0 ? "nothing" : docs.Count > 1 ? $"{docs.Count} documents" : "a list or scalar")} (see \"kubeforge config print cluster\")");
        }
        r.Known(root, "", "apiVersion", "kind", "metadata", "spec");
        var api = r.Str(root, "apiVersion", "");
        var kind = r.Str(root, "kind", "");
        if (api != ApiVersion || kind != Kind)
        {
            r.Err("apiVersion", r.Line(root, api != ApiVersion ? "apiVersion" : "kind"),
                $"expected apiVersion: {ApiVersion} and kind: {Kind}, found \"{api}\" \"{kind}\"; this is not a Kubeforge cluster file (kubeadm files go to \"kubeforge init --config\")");
            throw new ConfigError(r.Errors);
        }
        var name = "kubernetes";
        if (r.Map(root, "metadata", "") is { } meta)
        {
            r.Known(meta, "metadata", "name");
            name = r.Str(meta, "name", "metadata") ?? name;
            if (!KubeadmValidation.IsDns1123Subdomain(name))
            {
                r.Err("metadata.name", r.Line(meta, "name"), $"\"{name}\" is not a lower-case DNS name; use e.g. \"prod\"");
            }
        }
        var spec = r.Map(root, "spec", "") ?? new YMap();
        r.Known(spec, "spec", "kubernetesVersion", "hosts", "mirror", "containerd", "network", "ha", "leaderElection", "kubeadm", "kubernetesBinaries", "images", "knownHosts", "ignorePreflightErrors");

        var versionText = r.Str(spec, "kubernetesVersion", "spec") ?? "";
        var versionWhere = r.Where("spec.kubernetesVersion", r.Line(spec, "kubernetesVersion"));
        KubeVersion version;
        VersionProfile? profile;
        try
        {
            version = KubeadmConfigLoader.ResolveVersion(versionText, versionWhere);
            if (!VersionTable.TryGet(version, out profile))
            {
                throw new ConfigError($"{versionWhere}: Kubernetes version \"{versionText}\" is not supported; use a version from {VersionTable.SupportedRange}");
            }
        }
        catch (ConfigError e)
        {
            r.Errors.AddRange(e.Errors);
            throw new ConfigError(r.Errors);
        }

        var file = new ClusterFile { Name = name, Source = sourceName, Version = version, Profile = profile };
        ReadHosts(r, spec, file);
        ReadMirror(r, spec, file.Mirror, profile);
        ReadContainerd(r, spec, file.Containerd);
        ReadNetwork(r, spec, file.Network);
        ReadHa(r, spec, file);
        ReadLeaderElection(r, spec, file.LeaderElection);
        ReadKubeadm(r, spec, file);
        ReadInstall(r, spec, file);
        CheckTopology(r, spec, file);
        if (r.Errors.Count == 0)
        {
            // everything kubeadm itself checks (subnet sizes, overlaps, overrides) on the config of each node
            foreach (var host in file.ControlPlanes.Take(1).Concat(file.Workers.Take(1)))
            {
                try
                {
                    file.Warnings.AddRange(file.ToKubeadmConfig(host).Warnings);
                }
                catch (ConfigError e)
                {
                    r.Errors.AddRange(e.Errors);
                    break;
                }
            }
        }
        if (r.Errors.Count > 0)
        {
            throw new ConfigError(r.Errors);
        }
        file.Warnings.InsertRange(0, r.Warnings);
        return file;
    }

    private static void ReadHosts(Reader r, YMap spec, ClusterFile file)
    {
        var seq = r.Seq(spec, "hosts", "spec");
        if (seq is null || seq.Count == 0)
        {
            r.Err("spec.hosts", r.Line(spec, "hosts"), "no hosts; list at least one host with roles: [control-plane]");
            return;
        }
        for (var i = 0; i < seq.Count; i++)
        {
            if (seq[i] is not YMap m)
            {
                r.Err($"spec.hosts[{i}]", seq[i].Line, "must be a mapping with name, address and roles");
                continue;
            }
            var h = new ClusterHost { Index = i, Name = r.Str(m, "name", $"spec.hosts[{i}]") ?? "" };
            var p = h.Label;
            r.Known(m, p, "name", "address", "port", "user", "sshKey", "passwordFrom", "roles", "labels", "taints", "interface", "nodeIp");
            h.Address = r.Str(m, "address", p) ?? "";
            h.Port = r.Int(m, "port", p) ?? 22;
            h.User = r.Str(m, "user", p) ?? "root";
            h.SshKey = r.Str(m, "sshKey", p);
            h.PasswordFrom = r.Str(m, "passwordFrom", p);
            h.Roles = r.StrList(m, "roles", p) ?? [];
            h.Labels = r.StrMap(m, "labels", p) ?? new();
            h.Interface = r.Str(m, "interface", p);
            h.NodeIp = r.Str(m, "nodeIp", p);
            r.Lines[$"{p}.name"] = r.Line(m, "name");
            r.Lines[$"{p}.address"] = r.Line(m, m.ContainsKey("nodeIp") ? "nodeIp" : "address");
            if (h.Name.Length == 0)
            {
                r.Err($"{p}.name", m.Line, "missing; every host needs a name (its Kubernetes node name), e.g. node1");
            }
            else if (!KubeadmValidation.IsDns1123Subdomain(h.Name))
            {
                r.Err($"{p}.name", r.Line(m, "name"), $"\"{h.Name}\" is not a valid node name; use lower-case letters, digits, '-' and '.' (e.g. \"{h.Name.ToLowerInvariant().Replace('_', '-')}\")");
            }
            if (h.Address.Length == 0)
            {
                r.Err($"{p}.address", m.Line, "missing; give the host's IP address");
            }
            else if (!KubeadmValidation.IsIp(h.Address))
            {
                r.Err($"{p}.address", r.Line(m, "address"), $"\"{h.Address}\" is not an IP address; write the host's IPv4 or IPv6 address, e.g. 10.0.0.11");
            }
            if (h.NodeIp is { } nip && !KubeadmValidation.IsIp(nip))
            {
                r.Err($"{p}.nodeIp", r.Line(m, "nodeIp"), $"\"{nip}\" is not an IP address; write the address the node uses inside the cluster, or remove nodeIp to use address");
            }
            if (h.Port is < 1 or > 65535)
            {
                r.Err($"{p}.port", r.Line(m, "port"), $"{h.Port} is not a TCP port; use 1-65535 (SSH default 22)");
            }
            if (h.User.Length == 0)
            {
                r.Err($"{p}.user", r.Line(m, "user"), "is empty; give the SSH user (default root)");
            }
            if (h.PasswordFrom is { } pf && !SecretRef().IsMatch(pf))
            {
                // never echo the value: it may be the password itself
                r.Err($"{p}.passwordFrom", r.Line(m, "passwordFrom"), "must be a reference \"env:NAME\" or \"file:PATH\", not the password itself; e.g. passwordFrom: env:NODE_PASSWORD");
            }
            if (h.Interface is { } ifn && !InterfaceName().IsMatch(ifn))
            {
                r.Err($"{p}.interface", r.Line(m, "interface"), $"\"{ifn}\" is not a network interface name (1-15 characters, e.g. eth0)");
            }
            if (h.Roles.Count == 0)
            {
                r.Err($"{p}.roles", r.Line(m, "roles") is > 0 and var l ? l : m.Line, "no roles; give roles: [control-plane], [worker] or [control-plane, worker]");
            }
            foreach (var role in h.Roles.Where(x => x is not (ClusterHost.ControlPlaneRole or ClusterHost.WorkerRole)))
            {
                var hint = KubeadmSchema.Suggest(role, [ClusterHost.ControlPlaneRole, ClusterHost.WorkerRole]);
                r.Err($"{p}.roles", r.Line(m, "roles"), $"unknown role \"{role}\"; " + (hint is null ? "use control-plane or worker" : $"did you mean {hint}?"));
            }
            foreach (var key in h.Labels.Keys.Where(k => k.Length == 0 || k.Contains(' ')))
            {
                r.Err($"{p}.labels", r.Line(m, "labels"), $"\"{key}\" is not a label key");
            }
            if (m.ContainsKey("taints"))
            {
                h.Taints = [];
                foreach (var t in r.StrList(m, "taints", p) ?? [])
                {
                    if (ParseTaint(t) is { } taint)
                    {
                        h.Taints.Add(taint);
                    }
                    else
                    {
                        r.Err($"{p}.taints", r.Line(m, "taints"), $"\"{t}\" is not a taint; write key[=value]:Effect with Effect one of {string.Join(", ", Effects)} (e.g. dedicated=gpu:NoSchedule)");
                    }
                }
            }
            file.Hosts.Add(h);
        }
        foreach (var g in file.Hosts.Where(h => h.Name.Length > 0).GroupBy(h => h.Name).Where(g => g.Count() > 1))
        {
            var first = g.First();
            foreach (var h in g.Skip(1))
            {
                r.Err($"{h.Label}.name", r.Lines.GetValueOrDefault($"{h.Label}.name"), $"\"{h.Name}\" is already used by {first.Label}; host names must be unique");
            }
        }
        foreach (var g in file.Hosts.Where(h => h.Address.Length > 0).GroupBy(h => h.ClusterAddress).Where(g => g.Count() > 1))
        {
            var first = g.First();
            foreach (var h in g.Skip(1))
            {
                r.Err($"{h.Label}.address", r.Lines.GetValueOrDefault($"{h.Label}.address"), $"\"{h.ClusterAddress}\" is already used by {first.Label}; every host needs its own address");
            }
        }
    }

    private static Taint? ParseTaint(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !Effects.Contains(text[(colon + 1)..]))
        {
            return null;
        }
        var kv = text[..colon];
        var eq = kv.IndexOf('=');
        var key = eq < 0 ? kv : kv[..eq];
        return key.Length == 0 || key.Contains(' ') ? null : new Taint(key, eq < 0 ? "" : kv[(eq + 1)..], text[(colon + 1)..]);
    }

    private static void ReadMirror(Reader r, YMap spec, MirrorSpec mirror, VersionProfile profile)
    {
        if (r.Map(spec, "mirror", "spec") is { } m)
        {
            const string p = "spec.mirror";
            r.Known(m, p, "preset", "imageRepository", "packageRepository", "containerdRepository", "osPackageRepository", "osPackageKey", "packageKey", "registryMirrors");
            mirror.Preset = r.Str(m, "preset", p) ?? MirrorSpec.DefaultPreset;
            mirror.ImageRepository = r.Str(m, "imageRepository", p);
            mirror.PackageRepository = r.Str(m, "packageRepository", p);
            mirror.ContainerdRepository = r.Str(m, "containerdRepository", p);
            mirror.OsPackageRepository = r.Str(m, "osPackageRepository", p);
            mirror.OsPackageKey = r.Str(m, "osPackageKey", p);
            mirror.PackageKey = r.Str(m, "packageKey", p);
            if (mirror.PackageKey is { Length: 0 })
            {
                r.Err($"{p}.packageKey", r.Line(m, "packageKey"), "is empty; name the file (on this machine) of the key packageRepository is signed with, or remove the field");
            }
            if (mirror.OsPackageRepository is { } osRepo && !IsUrl(osRepo.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? ""))
            {
                r.Err($"{p}.osPackageRepository", r.Line(m, "osPackageRepository"), $"\"{osRepo}\" is not an http(s) URL; write e.g. http://10.0.0.1/debian or \"http://10.0.0.1/debian bookworm main\"");
            }
            if ((mirror.OsPackageRepository is null) != (mirror.OsPackageKey is null))
            {
                r.Err(mirror.OsPackageKey is null ? $"{p}.osPackageKey" : $"{p}.osPackageRepository", r.Line(m, mirror.OsPackageKey is null ? "osPackageRepository" : "osPackageKey"),
                    mirror.OsPackageKey is null ? "osPackageRepository needs osPackageKey, the file of the key the mirror is signed with (GPG checks stay on)"
                        : "osPackageKey without osPackageRepository; name the mirror's URL too");
            }
            if (!MirrorSpec.Presets.Contains(mirror.Preset))
            {
                var hint = KubeadmSchema.Suggest(mirror.Preset, MirrorSpec.Presets);
                r.Err($"{p}.preset", r.Line(m, "preset"), $"unknown preset \"{mirror.Preset}\"; " + (hint is null ? $"use one of {string.Join(", ", MirrorSpec.Presets)}" : $"did you mean {hint}?"));
            }
            else if (mirror.Preset == MirrorSpec.CustomPreset)
            {
                foreach (var (key, value) in new[] { ("imageRepository", mirror.ImageRepository), ("packageRepository", mirror.PackageRepository) })
                {
                    if (string.IsNullOrEmpty(value))
                    {
                        r.Err($"{p}.{key}", r.Line(m, "preset"), $"preset custom needs {key}; set it, or use preset default or aliyun");
                    }
                }
            }
            foreach (var (key, value) in new[] { ("packageRepository", mirror.PackageRepository), ("containerdRepository", mirror.ContainerdRepository) })
            {
                if (value is not null && !IsUrl(value))
                {
                    r.Err($"{p}.{key}", r.Line(m, key), $"\"{value}\" is not an http(s) URL; write e.g. https://mirrors.example.com/kubernetes/");
                }
            }
            if (r.Seq(m, "registryMirrors", p) is { } seq)
            {
                for (var i = 0; i < seq.Count; i++)
                {
                    var ip = $"{p}.registryMirrors[{i}]";
                    if (seq[i] is not YMap rm)
                    {
                        r.Err(ip, seq[i].Line, "must be a mapping with registry and endpoints");
                        continue;
                    }
                    r.Known(rm, ip, "registry", "endpoints", "caFile");
                    var registry = r.Str(rm, "registry", ip) ?? "";
                    var endpoints = r.StrList(rm, "endpoints", ip) ?? [];
                    if (registry.Length == 0 || registry.Contains('/') || registry.Contains(' '))
                    {
                        r.Err($"{ip}.registry", r.Line(rm, "registry") is > 0 and var l ? l : rm.Line, $"\"{registry}\" is not a registry host; write e.g. docker.io or registry.k8s.io");
                    }
                    if (endpoints.Count == 0)
                    {
                        r.Err($"{ip}.endpoints", rm.Line, "no endpoints; list at least one mirror URL, e.g. https://mirror.example.com");
                    }
                    foreach (var e in endpoints.Where(e => !IsUrl(e)))
                    {
                        r.Err($"{ip}.endpoints", r.Line(rm, "endpoints"), $"\"{e}\" is not an http(s) URL");
                    }
                    mirror.RegistryMirrors.Add(new RegistryMirror(registry, endpoints, r.Str(rm, "caFile", ip)));
                }
            }
        }
        mirror.Expand(profile);
    }

    private static bool IsUrl(string s) =>
        Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" && u.Host.Length > 0;

    private static void ReadContainerd(Reader r, YMap spec, ContainerdSpec c)
    {
        if (r.Map(spec, "containerd", "spec") is not { } m)
        {
            return;
        }
        const string p = "spec.containerd";
        r.Known(m, p, "version", "sandboxImage");
        c.Version = r.Str(m, "version", p) ?? ContainerdSpec.Distro;
        c.SandboxImage = r.Str(m, "sandboxImage", p);
        if (c.Version != ContainerdSpec.Distro && !Release().IsMatch(c.Version.TrimStart('v')))
        {
            r.Err($"{p}.version", r.Line(m, "version"), $"\"{c.Version}\" is neither \"distro\" nor a containerd release such as 1.7.22");
        }
        c.Version = c.Version.TrimStart('v');
        if (c.SandboxImage is { } img && (img.Length == 0 || img.Contains(' ')))
        {
            r.Err($"{p}.sandboxImage", r.Line(m, "sandboxImage"), $"\"{img}\" is not an image reference; write e.g. registry.k8s.io/pause:3.10");
        }
    }

    private static void ReadNetwork(Reader r, YMap spec, NetworkSpec n)
    {
        var m = r.Map(spec, "network", "spec") ?? new YMap();
        const string p = "spec.network";
        r.Known(m, p, "podSubnet", "serviceSubnet", "dnsDomain", "cni", "flannelBackend");
        n.PodSubnet = r.Str(m, "podSubnet", p) ?? n.PodSubnet;
        n.ServiceSubnet = r.Str(m, "serviceSubnet", p) ?? n.ServiceSubnet;
        n.DnsDomain = r.Str(m, "dnsDomain", p) ?? n.DnsDomain;
        n.Cni = r.Str(m, "cni", p) ?? n.Cni;
        n.FlannelBackend = r.Str(m, "flannelBackend", p) ?? n.FlannelBackend;
        var nets = new Dictionary<string, List<Cidr>>();
        foreach (var (key, value) in new[] { ("podSubnet", n.PodSubnet), ("serviceSubnet", n.ServiceSubnet) })
        {
            var list = new List<Cidr>();
            foreach (var part in value.Split(','))
            {
                if (Cidr.TryParse(part.Trim(), out var c))
                {
                    list.Add(c);
                }
                else
                {
                    r.Err($"{p}.{key}", r.Line(m, key), $"\"{part.Trim()}\" is not a CIDR; write e.g. {(key == "podSubnet" ? "10.244.0.0/16" : "10.96.0.0/12")} (dual-stack: an IPv4 and an IPv6 CIDR separated by a comma)");
                }
            }
            nets[key] = list;
        }
        if (nets["podSubnet"].FirstOrDefault(pc => nets["serviceSubnet"].Any(sc => sc.Overlaps(pc))) is { Prefix: > 0 } overlap)
        {
            r.Err($"{p}.podSubnet", r.Line(m, "podSubnet"), $"\"{overlap}\" overlaps serviceSubnet \"{n.ServiceSubnet}\"; pick disjoint ranges (defaults 10.244.0.0/16 and 10.96.0.0/12)");
        }
        if (!KubeadmValidation.IsDns1123Subdomain(n.DnsDomain))
        {
            r.Err($"{p}.dnsDomain", r.Line(m, "dnsDomain"), $"\"{n.DnsDomain}\" is not a lower-case DNS name; the default is cluster.local");
        }
        if (!CniConfig.Plugins.Contains(n.Cni))
        {
            r.Err($"{p}.cni", r.Line(m, "cni"), $"unknown CNI \"{n.Cni}\"; use {string.Join(" or ", CniConfig.Plugins.Reverse())}");
        }
        if (!CniConfig.Backends.Contains(n.FlannelBackend))
        {
            r.Err($"{p}.flannelBackend", r.Line(m, "flannelBackend"), $"unknown flannel backend \"{n.FlannelBackend}\"; use {string.Join(" or ", CniConfig.Backends)}");
        }
    }

    private static void ReadHa(Reader r, YMap spec, ClusterFile file)
    {
        if (r.Map(spec, "ha", "spec") is not { } m)
        {
            return;
        }
        const string p = "spec.ha";
        r.Known(m, p, "vip", "port", "loadBalancer", "keepalived");
        var ha = new HaSpec
        {
            Vip = r.Str(m, "vip", p) ?? "",
            Port = r.Int(m, "port", p) ?? HaSpec.DefaultPort,
            LoadBalancer = r.Str(m, "loadBalancer", p) ?? "haproxy",
        };
        file.Ha = ha;
        if (ha.Vip.Length == 0)
        {
            r.Err($"{p}.vip", m.Line, "missing; give the virtual IP the control planes share (a free address in their subnet), or remove spec.ha for a single control plane");
        }
        else if (!KubeadmValidation.IsIp(ha.Vip))
        {
            r.Err($"{p}.vip", r.Line(m, "vip"), $"\"{ha.Vip}\" is not an IP address; the VIP must be a free IP in the control planes' subnet");
        }
        else if (file.Hosts.FirstOrDefault(h => h.Address == ha.Vip || h.NodeIp == ha.Vip) is { } taken)
        {
            r.Err($"{p}.vip", r.Line(m, "vip"), $"\"{ha.Vip}\" is the address of {taken.Label}; the VIP must be a free address that no host owns");
        }
        if (ha.Port is < 1 or > 65535)
        {
            r.Err($"{p}.port", r.Line(m, "port"), $"{ha.Port} is not a TCP port; use 1-65535 (default {HaSpec.DefaultPort})");
        }
        else if (ha.Port == 6443)
        {
            r.Err($"{p}.port", r.Line(m, "port"), $"6443 clashes with the kube-apiserver on each control plane, where the {ha.LoadBalancer} load balancer also runs; use another port (default {HaSpec.DefaultPort})");
        }
        if (!HaSpec.LoadBalancers.Contains(ha.LoadBalancer))
        {
            r.Err($"{p}.loadBalancer", r.Line(m, "loadBalancer"), $"unknown load balancer \"{ha.LoadBalancer}\"; use haproxy or nginx");
        }
        if (r.Map(m, "keepalived", p) is { } k)
        {
            const string kp = "spec.ha.keepalived";
            r.Known(k, kp, "routerId", "interface", "virtualRouterId");
            ha.Keepalived.RouterId = r.Str(k, "routerId", kp) ?? ha.Keepalived.RouterId;
            ha.Keepalived.Interface = r.Str(k, "interface", kp);
            ha.Keepalived.VirtualRouterId = r.Int(k, "virtualRouterId", kp) ?? ha.Keepalived.VirtualRouterId;
            if (ha.Keepalived.VirtualRouterId is < 1 or > 255)
            {
                r.Err($"{kp}.virtualRouterId", r.Line(k, "virtualRouterId"), $"{ha.Keepalived.VirtualRouterId} is not a VRRP router id; use 1-255, unique in the subnet");
            }
            if (ha.Keepalived.RouterId.Length == 0 || ha.Keepalived.RouterId.Contains(' '))
            {
                r.Err($"{kp}.routerId", r.Line(k, "routerId"), $"\"{ha.Keepalived.RouterId}\" is not a router id; use a word such as kubeforge");
            }
            if (ha.Keepalived.Interface is { } ifn && !InterfaceName().IsMatch(ifn))
            {
                r.Err($"{kp}.interface", r.Line(k, "interface"), $"\"{ifn}\" is not a network interface name (e.g. eth0)");
            }
        }
    }

    private static void ReadLeaderElection(Reader r, YMap spec, LeaderElectionSpec le)
    {
        if (r.Map(spec, "leaderElection", "spec") is not { } m)
        {
            return;
        }
        const string p = "spec.leaderElection";
        r.Known(m, p, "leaseDuration", "renewDeadline", "retryPeriod");
        le.LeaseDuration = r.Dur(m, "leaseDuration", p) ?? le.LeaseDuration;
        le.RenewDeadline = r.Dur(m, "renewDeadline", p) ?? le.RenewDeadline;
        le.RetryPeriod = r.Dur(m, "retryPeriod", p) ?? le.RetryPeriod;
        foreach (var problem in le.Problems())
        {
            r.Err(p, m.Line, problem);
        }
    }

    private static void ReadKubeadm(Reader r, YMap spec, ClusterFile file)
    {
        if (r.Map(spec, "kubeadm", "spec") is not { } m)
        {
            return;
        }
        const string p = "spec.kubeadm";
        r.Known(m, p, "apiVersion", "clusterConfiguration", "initConfiguration");
        var api = r.Str(m, "apiVersion", p);
        if (api is not null && !file.Profile.ReadableConfigApiVersions.Contains(api))
        {
            r.Err($"{p}.apiVersion", r.Line(m, "apiVersion"), $"kubeadm v1.{file.Profile.Minor} does not read \"{api}\"; use {string.Join(" or ", file.Profile.ReadableConfigApiVersions)}");
        }
        file.Kubeadm.ApiVersion = api;
        file.Kubeadm.ClusterConfiguration = r.Map(m, "clusterConfiguration", p)?.DeepClone() ?? new YMap();
        file.Kubeadm.InitConfiguration = r.Map(m, "initConfiguration", p)?.DeepClone() ?? new YMap();
        foreach (var (doc, key) in new[] { (file.Kubeadm.ClusterConfiguration, "clusterConfiguration"), (file.Kubeadm.InitConfiguration, "initConfiguration") })
        {
            if (doc.ContainsKey("apiVersion") || doc.ContainsKey("kind"))
            {
                r.Err($"{p}.{key}", r.Line(m, key), "holds only the fields to override; remove apiVersion/kind (set spec.kubeadm.apiVersion instead)");
            }
        }
    }

    private static void ReadInstall(Reader r, YMap spec, ClusterFile file)
    {
        file.KubernetesBinaries = r.Str(spec, "kubernetesBinaries", "spec") ?? PackagesBinaries;
        if (file.KubernetesBinaries is not (PackagesBinaries or PreinstalledBinaries))
        {
            r.Err("spec.kubernetesBinaries", r.Line(spec, "kubernetesBinaries"), $"\"{file.KubernetesBinaries}\" is not packages or preinstalled; use packages (install kubelet/kubectl from the mirror) or preinstalled (only verify them)");
        }
        file.Images = r.Str(spec, "images", "spec") ?? PullImages;
        if (file.Images is not (PullImages or PreinstalledImages))
        {
            r.Err("spec.images", r.Line(spec, "images"), $"\"{file.Images}\" is not pull or preinstalled; use pull (pull through containerd from the mirror) or preinstalled (skip pulling)");
        }
        file.IgnorePreflightErrors = r.StrList(spec, "ignorePreflightErrors", "spec") ?? [];
        file.KnownHosts = r.Str(spec, "knownHosts", "spec");
        if (file.KnownHosts is { Length: 0 })
        {
            r.Err("spec.knownHosts", r.Line(spec, "knownHosts"), "is empty; give the known_hosts file path or remove the field");
        }
    }

    private static void CheckTopology(Reader r, YMap spec, ClusterFile file)
    {
        if (file.Hosts.Count == 0 || file.Hosts.Any(h => h.Roles.Count == 0))
        {
            return;
        }
        var cps = file.ControlPlanes.ToList();
        if (cps.Count == 0)
        {
            r.Err("spec.hosts", r.Line(spec, "hosts"), $"no host has the control-plane role; give at least one host roles: [control-plane] (e.g. {file.Hosts[0].Label})");
        }
        else if (cps.Count > 1 && file.Ha is null)
        {
            r.Err("spec.ha.vip", r.Line(spec, "hosts"), $"{cps.Count} control planes ({string.Join(", ", cps.Select(h => h.Name))}) need a shared endpoint; add spec.ha with vip: a free IP in their subnet");
        }
        if (cps.Count > 1 && cps.Count % 2 == 0)
        {
            r.Warn($"{r.Where("spec.hosts", r.Line(spec, "hosts"))}: {cps.Count} control planes give etcd {cps.Count} members, which tolerate no more failures than {cps.Count - 1}; use an odd number (3 or 5)");
        }
    }

    /// <summary>Reader reads typed fields with their path and line, collecting errors instead of throwing.</summary>
    private sealed class Reader(string source)
    {
        public List<string> Errors { get; } = [];
        public List<string> Warnings { get; } = [];

        /// <summary>Lines remembers the line of host fields checked after all hosts are read (duplicates).</summary>
        public Dictionary<string, int> Lines { get; } = new();

        public int Line(YMap m, string key) => m.KeyPositions.TryGetValue(key, out var p) ? p.Line : 0;

        public string Where(string path, int line) => line > 0 ? $"{source}: {path} (line {line})" : $"{source}: {path}";

        public void Err(string path, int line, string problem) => Errors.Add($"{Where(path, line)}: {problem}");

        public void Warn(string line) => Warnings.Add(line);

        public void Known(YMap m, string path, params string[] keys)
        {
            foreach (var key in m.Keys.Where(k => !keys.Contains(k)))
            {
                var hint = KubeadmSchema.Suggest(key, keys);
                Err(Join(path, key), Line(m, key), $"unknown field \"{key}\"; " + (hint is null ? $"known fields here: {string.Join(", ", keys)}" : $"did you mean {hint}?"));
            }
        }

        private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

        private YNode? Get(YMap m, string key) => m[key] is YScalar { Kind: ScalarKind.Null } ? null : m[key];

        public string? Str(YMap m, string key, string path)
        {
            switch (Get(m, key))
            {
                case null:
                    return null;
                case YScalar s:
                    return s.Text;
                case var n:
                    Err(Join(path, key), Line(m, key), $"must be a string, found {(n is YSeq ? "a list" : "a mapping")}");
                    return null;
            }
        }

        public int? Int(YMap m, string key, string path)
        {
            var n = Get(m, key);
            if (n is null)
            {
                return null;
            }
            if (n is YScalar { Kind: ScalarKind.Int } s && int.TryParse(s.Text, out var v))
            {
                return v;
            }
            Err(Join(path, key), Line(m, key), $"must be a number, found {(n is YScalar sc ? $"\"{sc.Text}\"" : "a list or mapping")}");
            return null;
        }

        public TimeSpan? Dur(YMap m, string key, string path)
        {
            var s = Str(m, key, path);
            if (s is null)
            {
                return null;
            }
            if (GoDuration.TryParse(s, out var d))
            {
                return d;
            }
            Err(Join(path, key), Line(m, key), $"\"{s}\" is not a duration; write e.g. 15s or 1m30s");
            return null;
        }

        public YMap? Map(YMap m, string key, string path)
        {
            var n = Get(m, key);
            if (n is null or YMap)
            {
                return n as YMap;
            }
            Err(Join(path, key), Line(m, key), $"must be a mapping, found {(n is YSeq ? "a list" : $"\"{((YScalar)n).Text}\"")}");
            return null;
        }

        public YSeq? Seq(YMap m, string key, string path)
        {
            var n = Get(m, key);
            if (n is null or YSeq)
            {
                return n as YSeq;
            }
            Err(Join(path, key), Line(m, key), $"must be a list, found {(n is YMap ? "a mapping" : $"\"{((YScalar)n).Text}\"")}");
            return null;
        }

        public List<string>? StrList(YMap m, string key, string path)
        {
            var s = Seq(m, key, path);
            if (s is null)
            {
                return null;
            }
            var list = new List<string>();
            foreach (var item in s)
            {
                if (item is YScalar { Kind: not ScalarKind.Null } sc)
                {
                    list.Add(sc.Text);
                }
                else
                {
                    Err(Join(path, key), item.Line, "must be a list of strings");
                }
            }
            return list;
        }

        public Dictionary<string, string>? StrMap(YMap m, string key, string path)
        {
            var map = Map(m, key, path);
            if (map is null)
            {
                return null;
            }
            var d = new Dictionary<string, string>();
            foreach (var (k, v) in map.Entries)
            {
                if (v is YScalar sc)
                {
                    d[k] = sc.Kind == ScalarKind.Null ? "" : sc.Text;
                }
                else
                {
                    Err($"{Join(path, key)}.{k}", Line(map, k), "must be a string");
                }
            }
            return d;
        }
    }
}
