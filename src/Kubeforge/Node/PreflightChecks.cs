using System.Text.RegularExpressions;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Node;

/// <summary>CheckLevel is a preflight verdict.</summary>
public enum CheckLevel { Ok, Warning, Error }

/// <summary>CheckResult is one preflight check: kubeadm-style name, verdict, message and the fix (Safe: `--fix` applies it).</summary>
public sealed record CheckResult(string Name, CheckLevel Level, string Message, string? Fix = null, bool Safe = false)
{
    /// <summary>Ignored is true when the error was downgraded by --ignore-preflight-errors.</summary>
    public bool Ignored { get; init; }
}

/// <summary>PreflightOptions say what the node will be.</summary>
public sealed record PreflightOptions
{
    public required VersionProfile Profile { get; init; }
    public bool ControlPlane { get; init; } = true;
    public int ApiServerPort { get; init; } = 6443;
    public bool LocalEtcd { get; init; } = true;
    /// <summary>NodeName overrides the hostname-derived node name.</summary>
    public string? NodeName { get; init; }
    /// <summary>KubeletCgroupDriver is the kubelet's cgroupDriver (kubeadm's default systemd).</summary>
    public string KubeletCgroupDriver { get; init; } = "systemd";
    /// <summary>AdvertiseAddress is the address the operator chose (null: the default route's).</summary>
    public string? AdvertiseAddress { get; init; }
    /// <summary>MaxClockSkew: larger skews are warnings; beyond kubeadm's 5-minute certificate backdate they are errors.</summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>IgnoreErrors are check names (case-insensitive) or "all" whose errors become warnings.</summary>
    public IReadOnlyCollection<string> IgnoreErrors { get; init; } = [];
}

/// <summary>NodePreflight runs kubeadm's node checks (spec §15) plus the installer's checks on gathered HostFacts. Pure: facts in, results out.</summary>
public static partial class NodePreflight
{
    /// <summary>PrepareFixes are the error checks `kubeforge prepare` fixes (swap, kernel settings, containerd's config).</summary>
    public static readonly IReadOnlyList<string> PrepareFixes =
    [
        "Swap", "FileContent--proc-sys-net-ipv4-ip_forward", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables", "CgroupDriver", "ContainerdConfig",
    ];

    /// <summary>Run returns every check's result in order, with ignored errors marked as such.</summary>
    public static IReadOnlyList<CheckResult> Run(HostFacts f, PreflightOptions o)
    {
        var r = new List<CheckResult>();
        var p = o.Profile;
        if (o.ControlPlane)
        {
            r.Add(f.Cpus >= 2 ? Ok("NumCPU", $"{f.Cpus} CPUs")
                : new("NumCPU", CheckLevel.Error, $"the number of available CPUs {f.Cpus} is less than the required 2", "use a machine with at least 2 CPUs"));
            r.Add(f.MemoryMb >= 1700 ? Ok("Mem", $"{f.MemoryMb} MB")
                : new("Mem", CheckLevel.Error, $"the system RAM ({f.MemoryMb} MB) is less than the minimum 1700 MB", "use a machine with at least 2 GB of memory"));
        }

        var swapLevel = p.PreflightSwapIsError ? CheckLevel.Error : CheckLevel.Warning;
        r.Add(f.ActiveSwaps.Count == 0 ? Ok("Swap", "swap is off")
            : new("Swap", swapLevel, $"swap is on ({string.Join(", ", f.ActiveSwaps)}); the kubelet refuses to start with swap unless configured for it",
                "swapoff -a, and comment out the swap lines of /etc/fstab", Safe: true));
        var fstabSwap = (f.File(OsPrep.Fstab) ?? "").Split('\n').Where(OsPrep.IsSwapLine).ToList();
        r.Add(fstabSwap.Count == 0 ? Ok("SwapFstab", "no swap in /etc/fstab")
            : new("SwapFstab", CheckLevel.Warning, $"/etc/fstab turns swap on at boot ({fstabSwap[0].Trim()})",
                "comment out the swap lines of /etc/fstab (backed up first)", Safe: true));

        var fwd = f.Sysctls.GetValueOrDefault("net.ipv4.ip_forward");
        r.Add(fwd == "1" ? Ok("FileContent--proc-sys-net-ipv4-ip_forward", "1")
            : new("FileContent--proc-sys-net-ipv4-ip_forward", CheckLevel.Error, $"/proc/sys/net/ipv4/ip_forward contents are not set to 1 (it is {fwd ?? "missing"})",
                $"net.ipv4.ip_forward = 1 in {OsPrep.SysctlFile} and sysctl --system", Safe: true));
        var brnf = f.Sysctls.GetValueOrDefault("net.bridge.bridge-nf-call-iptables");
        var brName = "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables";
        r.Add(brnf == "1" ? Ok(brName, "1")
            : new(brName, p.PreflightBridgeNfCheck ? CheckLevel.Error : CheckLevel.Warning,
                brnf is null ? "/proc/sys/net/bridge/bridge-nf-call-iptables does not exist (br_netfilter is not loaded)"
                    : $"/proc/sys/net/bridge/bridge-nf-call-iptables contents are not set to 1 (it is {brnf})",
                $"load br_netfilter ({OsPrep.ModulesFile}) and set the bridge sysctls in {OsPrep.SysctlFile}", Safe: true));

        var modConf = f.File(OsPrep.ModulesFile) ?? "";
        var missingMods = OsPrep.Modules.Where(m => !modConf.Split('\n').Any(l => l.Trim() == m)).ToList();
        r.Add(missingMods.Count == 0 ? Ok("KernelModulesConfig", OsPrep.ModulesFile)
            : new("KernelModulesConfig", CheckLevel.Warning, $"kernel modules {string.Join(", ", missingMods)} are not loaded at boot (no {OsPrep.ModulesFile})",
                $"write {OsPrep.ModulesFile} and modprobe them", Safe: true));
        var sysConf = f.File(OsPrep.SysctlFile) ?? "";
        var missingSys = OsPrep.Sysctls.Where(s => !sysConf.Contains($"{s.Key} = {s.Value}", StringComparison.Ordinal)).Select(s => s.Key).ToList();
        r.Add(missingSys.Count == 0 ? Ok("SysctlConfig", OsPrep.SysctlFile)
            : new("SysctlConfig", CheckLevel.Warning, $"{string.Join(", ", missingSys)} are not persistent (not in {OsPrep.SysctlFile}); a reboot undoes them",
                $"write {OsPrep.SysctlFile}", Safe: true));

        var mandatory = new List<string> { "ip", "iptables", "mount", "nsenter" };
        if (p.PreflightConntrackRequired)
        {
            mandatory.Add("conntrack");
        }
        foreach (var b in mandatory)
        {
            r.Add(f.Binaries.ContainsKey(b) ? Ok("FileExisting-" + b, f.Binaries[b])
                : new("FileExisting-" + b, CheckLevel.Error, $"{b} not found in system path", $"install {PackageOf(b, f.Os.Family)}"));
        }
        foreach (var b in new[] { "ebtables", "ethtool", "socat", "tc", "touch" })
        {
            r.Add(f.Binaries.ContainsKey(b) ? Ok("FileExisting-" + b, f.Binaries[b])
                : new("FileExisting-" + b, CheckLevel.Warning, $"{b} not found in system path", $"install {PackageOf(b, f.Os.Family)}"));
        }

        var ports = o.ControlPlane ? new List<int> { o.ApiServerPort, 10259, 10257, 10250 } : [10250];
        if (o.ControlPlane && o.LocalEtcd)
        {
            ports.AddRange([2379, 2380]);
        }
        foreach (var port in ports)
        {
            r.Add(!f.ListeningPorts.Contains(port) ? Ok($"Port-{port}", "free")
                : new($"Port-{port}", CheckLevel.Error, $"Port {port} is in use", $"stop what listens on {port} (ss -ltnp 'sport = :{port}'), or `kubeforge reset` a previous install"));
        }

        var nodeName = (o.NodeName ?? f.Hostname).Trim();
        r.Add(IsValidNodeName(nodeName) ? Ok("NodeName", nodeName)
            : new("NodeName", CheckLevel.Error, $"node name \"{nodeName}\" is not a valid lower-case RFC 1123 subdomain (a-z, 0-9, '-', '.'; at most 253 characters)",
                "set a valid host name (hostnamectl set-hostname node1) or give --node-name"));
        r.Add(f.HostnameResolves || o.NodeName is not null ? Ok("Hostname", "resolves")
            : new("Hostname", CheckLevel.Warning, $"hostname \"{f.Hostname}\" could not be reached: no address for it", "add it to /etc/hosts or DNS"));

        var skew = f.ClockSkew.Duration();
        r.Add(skew <= o.MaxClockSkew ? Ok("ClockSkew", $"{f.ClockSkew.TotalSeconds:0.0} s")
            : new("ClockSkew", skew > TimeSpan.FromMinutes(5) ? CheckLevel.Error : CheckLevel.Warning,
                $"the host's clock is {f.ClockSkew.TotalSeconds:+0.0;-0.0} s off this machine's; certificates and tokens are time-bound",
                "synchronise the clocks (timedatectl set-ntp true, or chrony)"));

        r.Add(f.FirewalldActive
            ? new("Firewalld", CheckLevel.Warning, $"firewalld is active, please ensure ports [{string.Join(" ", ports)}] are open or your cluster may not function correctly",
                "open the ports with firewall-cmd (or choose to disable firewalld)", Safe: true)
            : Ok("Firewalld", "not active"));
        r.Add(f.SelinuxMode == "enforcing"
            ? new("SELinux", CheckLevel.Warning, "SELinux is enforcing; kubeadm's static pods need it permissive", "setenforce 0 and SELINUX=permissive in /etc/selinux/config (backed up first)", Safe: true)
            : Ok("SELinux", f.SelinuxMode ?? "absent"));

        r.AddRange(RuntimeChecks(f, o));
        r.AddRange(NetworkChecks(f, o));
        r.Add(ResolvConf(f));
        return Apply(r, o.IgnoreErrors);
    }

    private static IEnumerable<CheckResult> RuntimeChecks(HostFacts f, PreflightOptions o)
    {
        var cfg = f.File(Containerd.ConfigFile);
        var hasContainerd = f.Binaries.ContainsKey("containerd");
        if (!hasContainerd)
        {
            yield return new("CRI", CheckLevel.Error, "containerd is not installed", "install containerd (kubeforge prepare --containerd package)");
        }
        else if (f.Systemd && !f.ActiveServices.Contains("containerd"))
        {
            yield return new("CRI", CheckLevel.Error, "container runtime is not running: containerd is not active", "systemctl enable --now containerd");
        }
        else
        {
            yield return Ok("CRI", $"containerd {f.ContainerdVersion}");
        }
        if (cfg is not null)
        {
            if (Containerd.CriDisabled(cfg))
            {
                yield return new("ContainerdConfig", CheckLevel.Error, $"{Containerd.ConfigFile} disables the CRI plugin (Docker's packaged default); the kubelet cannot use containerd",
                    "write a Kubernetes containerd config (kubeforge prepare writes one; the old file is kept as config.toml.kubeforge-backup)", Safe: true);
            }
            var sc = Containerd.SystemdCgroup(cfg) ?? false;
            var driver = sc ? "systemd" : "cgroupfs";
            yield return driver == o.KubeletCgroupDriver ? Ok("CgroupDriver", driver)
                : new("CgroupDriver", CheckLevel.Error, $"containerd uses the {driver} cgroup driver (SystemdCgroup = {sc.ToString().ToLowerInvariant()} in {Containerd.ConfigFile}) but the kubelet uses {o.KubeletCgroupDriver}",
                    "set SystemdCgroup = true in the runc options and restart containerd", Safe: true);
        }
        else if (hasContainerd)
        {
            yield return new("CgroupDriver", CheckLevel.Error, $"{Containerd.ConfigFile} does not exist, so containerd uses cgroupfs while the kubelet uses {o.KubeletCgroupDriver}",
                "write a containerd config with SystemdCgroup = true", Safe: true);
        }
        if (f.ActiveServices.Contains("docker") || f.Binaries.ContainsKey("docker"))
        {
            var dj = f.File("/etc/docker/daemon.json") ?? "";
            yield return new("Docker", CheckLevel.Warning,
                "Docker is installed" + (dj.Contains("cgroupdriver=cgroupfs", StringComparison.Ordinal) ? " with native.cgroupdriver=cgroupfs in /etc/docker/daemon.json" : "") +
                "; its containerd config may disable CRI and its iptables rules interfere",
                "remove Docker, or make sure containerd's own config is used (kubeforge prepare rewrites it)");
        }
    }

    private static IEnumerable<CheckResult> NetworkChecks(HostFacts f, PreflightOptions o)
    {
        var withAddr = f.Interfaces.Where(i => i.Up && i.GlobalAddresses.Any()).ToList();
        var def = f.DefaultAddresses;
        if (o.AdvertiseAddress is { } adv)
        {
            yield return withAddr.Any(i => i.GlobalAddresses.Contains(adv)) ? Ok("NodeAddress", adv)
                : new("NodeAddress", CheckLevel.Error, $"address {adv} is not on any interface of the host", "give an address of the host");
        }
        else if (def.Count == 0)
        {
            yield return new("NodeAddress", CheckLevel.Error, "the host has no default route, so no node address can be chosen",
                "add a default route or give the address explicitly (--apiserver-advertise-address / node-ip)");
        }
        else if (withAddr.Count > 1)
        {
            yield return new("MultipleInterfaces", CheckLevel.Warning,
                $"the host has {withAddr.Count} interfaces with addresses ({string.Join("; ", withAddr.Select(i => $"{i.Name}: {string.Join(",", i.GlobalAddresses)}"))}); " +
                $"the node will use {def[0]} of {f.DefaultInterface} (the default route)",
                "if that is not the cluster network, give the address explicitly (--apiserver-advertise-address / node-ip, and the CNI's interface option)");
        }
        else
        {
            yield return Ok("NodeAddress", def[0]);
        }
    }

    private static CheckResult ResolvConf(HostFacts f)
    {
        var text = f.File("/etc/resolv.conf");
        var ns = (text ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("nameserver", StringComparison.Ordinal))
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) ?? "").ToList();
        if (ns.Count == 0)
        {
            return new("ResolvConf", CheckLevel.Warning, "/etc/resolv.conf has no nameserver; CoreDNS will have no upstream and pods cannot resolve outside names",
                "configure a DNS server in /etc/resolv.conf");
        }
        if (ns.All(n => n.StartsWith("127.", StringComparison.Ordinal)) && !f.ActiveServices.Contains("systemd-resolved"))
        {
            return new("ResolvConf", CheckLevel.Warning, $"/etc/resolv.conf only names {string.Join(", ", ns)} and systemd-resolved is not running; CoreDNS would forward to itself (a loop)",
                "point /etc/resolv.conf at a real DNS server");
        }
        return Ok("ResolvConf", string.Join(", ", ns));
    }

    /// <summary>Apply downgrades errors named in ignore (or "all") to warnings marked Ignored.</summary>
    public static IReadOnlyList<CheckResult> Apply(IReadOnlyList<CheckResult> results, IReadOnlyCollection<string> ignore)
    {
        var set = ignore.Select(s => s.Trim().ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        return results.Select(c => c.Level == CheckLevel.Error && (set.Contains("all") || set.Contains(c.Name.ToLowerInvariant()))
            ? c with { Level = CheckLevel.Warning, Ignored = true } : c).ToList();
    }

    /// <summary>Format prints kubeadm-style lines for warnings and errors (with the fix on the next line).</summary>
    public static string Format(IReadOnlyList<CheckResult> results, bool showOk = false)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var c in results)
        {
            if (c.Level == CheckLevel.Ok && !showOk)
            {
                continue;
            }
            var tag = c.Level switch { CheckLevel.Ok => "OK", CheckLevel.Warning => "WARNING", _ => "ERROR" };
            sb.Append($"\t[{tag} {c.Name}]: {c.Message}{(c.Ignored ? " (error ignored)" : "")}\n");
            if (c.Fix is not null && c.Level != CheckLevel.Ok)
            {
                sb.Append($"\t\tfix{(c.Safe ? " (--fix)" : "")}: {c.Fix}\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>ThrowIfErrors throws the kubeadm-style fatal error listing every remaining error.</summary>
    public static void ThrowIfErrors(string hostName, IReadOnlyList<CheckResult> results)
    {
        var errors = results.Where(c => c.Level == CheckLevel.Error).ToList();
        if (errors.Count > 0)
        {
            throw new UserError($"{hostName}: [preflight] Some fatal errors occurred: " + string.Join("; ", errors.Select(e => $"[ERROR {e.Name}]: {e.Message}")) +
                ". Fix them (--fix applies the safe fixes), or skip a check with --ignore-preflight-errors=<check name>");
        }
    }

    /// <summary>IsValidNodeName checks a lower-case RFC 1123 subdomain.</summary>
    public static bool IsValidNodeName(string name) => name.Length is > 0 and <= 253 && NodeNameRegex().IsMatch(name);

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex NodeNameRegex();

    private static string PackageOf(string bin, OsFamily fam) => bin switch
    {
        "ip" or "tc" => fam == OsFamily.Deb ? "iproute2" : "iproute and iproute-tc",
        "mount" or "nsenter" => fam == OsFamily.Deb ? (bin == "mount" ? "mount" : "util-linux") : "util-linux",
        "touch" => "coreutils",
        "conntrack" => fam == OsFamily.Deb ? "conntrack" : "conntrack-tools",
        _ => bin,
    };

    private static CheckResult Ok(string name, string detail) => new(name, CheckLevel.Ok, detail);
}
