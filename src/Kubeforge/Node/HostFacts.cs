using System.Globalization;
using System.Text.Json.Nodes;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Node;

/// <summary>OsFamily is the package world of a supported OS.</summary>
public enum OsFamily { Rpm, Deb }

/// <summary>OsInfo is the parsed /etc/os-release: ID, version and the family.</summary>
public sealed record OsInfo(string Id, string VersionId, string PrettyName, OsFamily Family);

/// <summary>NetInterface is one interface of `ip -j addr`: name, MAC, up, addresses ("10.0.0.5/24").</summary>
public sealed record NetInterface(string Name, string Mac, bool Up, IReadOnlyList<string> Addresses)
{
    /// <summary>GlobalAddresses are the addresses without prefix length that are not loopback or link-local.</summary>
    public IEnumerable<string> GlobalAddresses => Addresses.Select(a => a.Split('/')[0])
        .Where(a => a != "127.0.0.1" && a != "::1" && !a.StartsWith("fe80:", StringComparison.OrdinalIgnoreCase) && !a.StartsWith("127.", StringComparison.Ordinal));
}

/// <summary>SnapshotFile is one config file as the fact script read it: bytes and permission bits.</summary>
public sealed record SnapshotFile(byte[] Content, int Mode);

/// <summary>HostFacts is what the installer knows about one machine after one round of read-only commands and file
/// reads through IHost. Parsing is done by the pure static functions below (unit-tested with captured outputs).</summary>
public sealed record HostFacts
{
    /// <summary>SupportedOs names the supported os-release IDs and their families.</summary>
    public static readonly IReadOnlyDictionary<string, OsFamily> SupportedOs = new Dictionary<string, OsFamily>(StringComparer.Ordinal)
    {
        ["centos"] = OsFamily.Rpm, ["rhel"] = OsFamily.Rpm, ["rocky"] = OsFamily.Rpm, ["almalinux"] = OsFamily.Rpm,
        ["openEuler"] = OsFamily.Rpm, ["kylin"] = OsFamily.Rpm,
        ["debian"] = OsFamily.Deb, ["ubuntu"] = OsFamily.Deb, ["uos"] = OsFamily.Deb,
    };

    public required string HostName { get; init; }
    public required OsInfo Os { get; init; }
    public string Arch { get; init; } = "";
    public bool Systemd { get; init; }
    public bool CgroupV2 { get; init; }
    public string? DefaultInterface { get; init; }
    public string? DefaultInterfaceV6 { get; init; }
    public IReadOnlyList<NetInterface> Interfaces { get; init; } = [];
    public IReadOnlyList<string> ActiveSwaps { get; init; } = [];
    /// <summary>SelinuxMode is "enforcing", "permissive", "disabled" or null (no SELinux).</summary>
    public string? SelinuxMode { get; init; }
    public bool FirewalldActive { get; init; }
    public string Hostname { get; init; } = "";
    /// <summary>HostnameResolves tells whether `getent hosts $(hostname)` found an address.</summary>
    public bool HostnameResolves { get; init; }
    public string ProductUuid { get; init; } = "";
    /// <summary>ClockSkew is host time minus operator time (midpoint of the round).</summary>
    public TimeSpan ClockSkew { get; init; }
    public int Cpus { get; init; }
    public long MemoryMb { get; init; }
    /// <summary>Sysctls holds the /proc/sys values read (key "net.ipv4.ip_forward"; absent = file missing).</summary>
    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();
    /// <summary>ListeningPorts are TCP ports something listens on (ss -ltnH).</summary>
    public IReadOnlySet<int> ListeningPorts { get; init; } = new HashSet<int>();
    /// <summary>Binaries maps program names found on PATH to their paths.</summary>
    public IReadOnlyDictionary<string, string> Binaries { get; init; } = new Dictionary<string, string>();
    public IReadOnlySet<string> LoadedModules { get; init; } = new HashSet<string>();
    /// <summary>ActiveServices are the probed units that are active (containerd, docker, systemd-resolved, kubelet, firewalld).</summary>
    public IReadOnlySet<string> ActiveServices { get; init; } = new HashSet<string>();
    public string? ContainerdVersion { get; init; }
    public string? KubeletVersion { get; init; }
    /// <summary>Files holds the config files read (null when absent), by node path.</summary>
    public IReadOnlyDictionary<string, string?> Files { get; init; } = new Dictionary<string, string?>();

    /// <summary>Snapshot holds the config files' bytes and modes as the fact script read them (null when the files were
    /// read through the host instead); <see cref="Hosts.SnapshotHost"/> answers reads from it.</summary>
    public IReadOnlyDictionary<string, SnapshotFile?>? Snapshot { get; init; }

    /// <summary>File returns a read config file's text or null.</summary>
    public string? File(string path) => Files.TryGetValue(path, out var t) ? t : null;

    /// <summary>DefaultAddresses are the global addresses of the default-route interface(s).</summary>
    public IReadOnlyList<string> DefaultAddresses => Interfaces
        .Where(i => i.Name == DefaultInterface || i.Name == DefaultInterfaceV6).SelectMany(i => i.GlobalAddresses).Distinct().ToList();

    /// <summary>ConfigFiles are the files Gather reads (in the fact script's round), also those the host-preparation steps
    /// compare before writing (and containerd's backup, whose presence decides whether one is made).</summary>
    public static readonly IReadOnlyList<string> ConfigFiles =
    [
        "/etc/os-release", Containerd.ConfigFile, "/etc/docker/daemon.json", "/etc/resolv.conf", "/etc/fstab",
        "/etc/selinux/config", "/var/lib/kubelet/config.yaml", OsPrep.ModulesFile, OsPrep.SysctlFile, Containerd.BackupFile,
    ];

    // A constant script: each section starts with a marker line; nothing from outside is interpolated (the file list is
    // ConfigFiles). It forks as little as it can — every process start costs tens of milliseconds on a busy host —, so
    // /proc files are read with the shell's `read`, PATH is searched with `[ -x ]`, and systemctl is asked once. (dash's
    // `read` returns 1 on /proc files although it has read the line: never chain on its status.)
    private const string ScriptHead = """
        s() { echo "@@kf:$1"; }
        s arch; uname -m
        s systemd; [ -d /run/systemd/system ] && echo yes || echo no
        s cgroupfs; [ -f /sys/fs/cgroup/cgroup.controllers ] && echo cgroup2fs || echo tmpfs
        s route; ip -j route show default 2>/dev/null
        s route6; ip -j -6 route show default 2>/dev/null
        s addr; ip -j addr 2>/dev/null
        s swaps; [ -r /proc/swaps ] && while IFS= read -r l; do echo "$l"; done </proc/swaps
        s selinux; if command -v getenforce >/dev/null 2>&1; then getenforce; elif [ -f /sys/fs/selinux/enforce ]; then v=; read -r v </sys/fs/selinux/enforce; echo "$v"; fi
        h=; [ -r /proc/sys/kernel/hostname ] && read -r h </proc/sys/kernel/hostname; [ -n "$h" ] || h=$(hostname)
        s hostname; echo "$h"
        s resolve; getent hosts "$h" 2>/dev/null
        s uuid; if [ -r /sys/class/dmi/id/product_uuid ]; then v=; read -r v </sys/class/dmi/id/product_uuid 2>/dev/null; echo "$v"; fi
        s nproc; nproc 2>/dev/null
        s meminfo; while read -r k v u; do [ "$k" = MemTotal: ] && { echo "$k $v $u"; break; }; done </proc/meminfo
        for k in net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables net/ipv6/conf/default/forwarding; do
          [ -f /proc/sys/$k ] && { s "sysctl $k"; v=; read -r v </proc/sys/$k; echo "$v"; }
        done
        s ports; ss -ltnH 2>/dev/null
        s bins; for b in ip iptables mount nsenter conntrack ebtables ethtool socat tc touch crictl modprobe sysctl swapoff setenforce containerd ctr runc kubelet kubeadm kubectl update-ca-trust update-ca-certificates firewall-cmd apt-get dnf yum docker; do
          IFS=:; for d in $PATH; do [ -f "$d/$b" ] && [ -x "$d/$b" ] && { echo "$b $d/$b"; break; }; done; unset IFS
        done
        s modules; [ -r /proc/modules ] && while read -r m _; do echo "$m"; done </proc/modules
        s services; set -- containerd docker systemd-resolved kubelet firewalld
        command -v systemctl >/dev/null 2>&1 && systemctl is-active "$@" 2>/dev/null | while read -r st; do [ "$st" = active ] && echo "$1"; shift; done
        s containerd; command -v containerd >/dev/null 2>&1 && containerd --version 2>/dev/null
        s kubelet; command -v kubelet >/dev/null 2>&1 && kubelet --version 2>/dev/null
        """;

    // The config files, read in the same round with three processes: one stat (raw mode in hex — locale-proof —, size,
    // name) and one cat of them all, base64-encoded; the sizes split the bytes again.
    private static readonly string ScriptFiles =
        $"s filestat; stat -L -c '%f %s %n' -- {string.Join(' ', ConfigFiles)} 2>/dev/null\n" +
        $"s files; cat -- {string.Join(' ', ConfigFiles)} 2>/dev/null | base64\n";

    private static readonly string Script = ScriptHead + "\n" + ScriptFiles + "s time; date +%s.%N\n";

    private static readonly string ScriptNoFiles = ScriptHead + "\ns time; date +%s.%N\n";

    /// <summary>GatherAsync runs the fact script — one command, which also reads the config files (ConfigFiles) — and
    /// measures the clock skew against now() around it. On a local host with a --rootfs the files are read through the
    /// host instead (the script sees the real machine). Unsupported or unreadable os-release is a UserError naming the host.</summary>
    public static async Task<HostFacts> GatherAsync(IHost host, TimeProvider time, CancellationToken ct = default)
    {
        var viaHost = host is LocalHost { Rootfs: not null };
        var t0 = time.GetUtcNow();
        var run = await host.RunAsync(["sh", "-c", viaHost ? ScriptNoFiles : Script], null, ct).ConfigureAwait(false);
        var t1 = time.GetUtcNow();
        var mid = t0 + (t1 - t0) / 2;
        // the script's file part is missing or does not add up (a file changed between stat and cat): read one by one
        if ((viaHost ? null : ParseFileSections(Sections(run.Stdout))) is not { } snapshot)
        {
            var one = await Task.WhenAll(ConfigFiles.Select(async f => (f, await host.ReadTextAsync(f, ct).ConfigureAwait(false)))).ConfigureAwait(false);
            return Parse(host.Name, run.Stdout, one.ToDictionary(x => x.f, x => x.Item2), mid);
        }
        return Parse(host.Name, run.Stdout, snapshot.ToDictionary(kv => kv.Key, kv => kv.Value is { } v ? System.Text.Encoding.UTF8.GetString(v.Content) : null), mid) with
        {
            Snapshot = snapshot,
        };
    }

    /// <summary>ParseFileSections reads the script's "filestat" section (hex raw mode, size, path per existing path) and its
    /// "files" section (base64 of the regular files concatenated in ConfigFiles order) into a snapshot of every ConfigFiles
    /// path: content and permission bits, or null when it is not a regular file. Null when the sections are missing or the
    /// sizes do not add up.</summary>
    public static IReadOnlyDictionary<string, SnapshotFile?>? ParseFileSections(IReadOnlyDictionary<string, string> sections)
    {
        if (!sections.TryGetValue("filestat", out var stat) || !sections.TryGetValue("files", out var b64))
        {
            return null;
        }
        var regular = new Dictionary<string, (int Mode, int Size)>(StringComparer.Ordinal);
        foreach (var line in stat.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', 3);
            if (f.Length == 3 && int.TryParse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var raw)
                && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size) && (raw & 0xF000) == 0x8000)
            {
                regular[f[2]] = (raw & 0xFFF, size);
            }
        }
        byte[] all;
        try
        {
            all = Convert.FromBase64String(string.Concat(b64.Where(c => !char.IsWhiteSpace(c))));
        }
        catch (FormatException)
        {
            return null;
        }
        var d = new Dictionary<string, SnapshotFile?>(StringComparer.Ordinal);
        var at = 0;
        foreach (var path in ConfigFiles)
        {
            if (!regular.TryGetValue(path, out var r))
            {
                d[path] = null;
                continue;
            }
            if (at + r.Size > all.Length)
            {
                return null;
            }
            d[path] = new SnapshotFile(all.AsSpan(at, r.Size).ToArray(), r.Mode);
            at += r.Size;
        }
        return at == all.Length ? d : null;
    }

    /// <summary>Sections splits the script output into marker → text.</summary>
    public static Dictionary<string, string> Sections(string output)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        string? cur = null;
        var sb = new System.Text.StringBuilder();
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("@@kf:", StringComparison.Ordinal))
            {
                if (cur is not null) d[cur] = sb.ToString();
                cur = line[5..].Trim();
                sb.Clear();
            }
            else if (cur is not null)
            {
                sb.Append(line).Append('\n');
            }
        }
        if (cur is not null) d[cur] = sb.ToString();
        return d;
    }

    /// <summary>Parse builds HostFacts from the script output, the config files and the operator's time at the round's midpoint.</summary>
    public static HostFacts Parse(string hostName, string scriptOutput, IReadOnlyDictionary<string, string?> files, DateTimeOffset operatorNow)
    {
        var s = Sections(scriptOutput);
        string S(string k) => s.TryGetValue(k, out var v) ? v.Trim() : "";
        var os = ParseOsRelease(hostName, files.TryGetValue("/etc/os-release", out var osr) ? osr : null);
        var sysctls = s.Where(kv => kv.Key.StartsWith("sysctl ", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[7..].Replace('/', '.'), kv => kv.Value.Trim());
        var skew = TimeSpan.Zero;
        if (decimal.TryParse(S("time"), NumberStyles.Float, CultureInfo.InvariantCulture, out var secs))
        {
            skew = DateTimeOffset.UnixEpoch.AddTicks((long)(secs * TimeSpan.TicksPerSecond)) - operatorNow;
        }
        var mem = S("meminfo").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new HostFacts
        {
            HostName = hostName,
            Os = os,
            Arch = S("arch"),
            Systemd = S("systemd") == "yes",
            CgroupV2 = S("cgroupfs") == "cgroup2fs",
            DefaultInterface = ParseDefaultRoute(S("route")),
            DefaultInterfaceV6 = ParseDefaultRoute(S("route6")),
            Interfaces = ParseAddr(S("addr")),
            ActiveSwaps = ParseSwaps(S("swaps")),
            SelinuxMode = ParseSelinux(S("selinux")),
            Hostname = S("hostname"),
            HostnameResolves = S("resolve").Length > 0,
            ProductUuid = S("uuid"),
            Cpus = int.TryParse(S("nproc"), out var n) ? n : 0,
            MemoryMb = mem.Length >= 2 && long.TryParse(mem[1], out var kb) ? kb / 1024 : 0,
            Sysctls = sysctls,
            ListeningPorts = ParseListeningPorts(S("ports")),
            Binaries = S("bins").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2))
                .Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim()),
            LoadedModules = S("modules").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal),
            ActiveServices = S("services").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal),
            FirewalldActive = S("services").Split('\n').Any(l => l.Trim() == "firewalld"),
            ContainerdVersion = ParseContainerdVersion(S("containerd")),
            KubeletVersion = S("kubelet").Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(),
            ClockSkew = skew,
            Files = files.ToDictionary(kv => kv.Key, kv => kv.Value),
        };
    }

    /// <summary>ParseOsRelease reads ID/VERSION_ID/PRETTY_NAME (ID_LIKE as a fallback) and maps the family;
    /// an unsupported or missing os-release is a UserError naming the host and the supported list.</summary>
    public static OsInfo ParseOsRelease(string hostName, string? text)
    {
        var kv = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in (text ?? "").Split('\n'))
        {
            var i = line.IndexOf('=');
            if (i > 0 && !line.TrimStart().StartsWith('#'))
            {
                kv[line[..i].Trim()] = line[(i + 1)..].Trim().Trim('"', '\'');
            }
        }
        var supported = string.Join(", ", SupportedOs.Keys);
        if (!kv.TryGetValue("ID", out var id))
        {
            throw new UserError($"{hostName}: cannot read /etc/os-release (no ID); supported operating systems: {supported}");
        }
        var key = SupportedOs.Keys.FirstOrDefault(k => string.Equals(k, id, StringComparison.OrdinalIgnoreCase));
        if (key is null)
        {
            throw new UserError($"{hostName}: operating system \"{kv.GetValueOrDefault("PRETTY_NAME", id)}\" (ID={id}) is not supported; supported: {supported}");
        }
        return new OsInfo(key, kv.GetValueOrDefault("VERSION_ID", ""), kv.GetValueOrDefault("PRETTY_NAME", id), SupportedOs[key]);
    }

    /// <summary>ParseDefaultRoute returns the device of the default route with the lowest metric (ip -j route show default).</summary>
    public static string? ParseDefaultRoute(string json)
    {
        if (string.IsNullOrWhiteSpace(json) || JsonNode.Parse(json) is not JsonArray routes)
        {
            return null;
        }
        return routes.OfType<JsonObject>()
            .Where(r => r["dev"] is not null)
            .OrderBy(r => r["metric"]?.GetValue<long>() ?? 0)
            .Select(r => r["dev"]!.GetValue<string>())
            .FirstOrDefault();
    }

    /// <summary>ParseAddr turns `ip -j addr` into interfaces (loopback excluded).</summary>
    public static IReadOnlyList<NetInterface> ParseAddr(string json)
    {
        if (string.IsNullOrWhiteSpace(json) || JsonNode.Parse(json) is not JsonArray links)
        {
            return [];
        }
        var list = new List<NetInterface>();
        foreach (var l in links.OfType<JsonObject>())
        {
            if (l["link_type"]?.GetValue<string>() == "loopback")
            {
                continue;
            }
            var flags = (l["flags"] as JsonArray)?.Select(f => f?.GetValue<string>()).ToList() ?? [];
            var addrs = (l["addr_info"] as JsonArray)?.OfType<JsonObject>()
                .Where(a => a["local"] is not null)
                .Select(a => $"{a["local"]!.GetValue<string>()}/{a["prefixlen"]?.GetValue<int>()}").ToList() ?? [];
            list.Add(new NetInterface(l["ifname"]?.GetValue<string>() ?? "", l["address"]?.GetValue<string>() ?? "", flags.Contains("UP"), addrs));
        }
        return list;
    }

    /// <summary>ParseSwaps returns the active swap devices of /proc/swaps (header skipped).</summary>
    public static IReadOnlyList<string> ParseSwaps(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "")
            .Where(d => d.Length > 0).ToList();

    /// <summary>ParseSelinux maps getenforce output (or /sys/fs/selinux/enforce 0/1) to a lower-case mode, null when absent.</summary>
    public static string? ParseSelinux(string text) => text.Trim() switch
    {
        "" => null,
        "1" => "enforcing",
        "0" => "permissive",
        var t => t.ToLowerInvariant(),
    };

    /// <summary>ParseListeningPorts reads the local ports of `ss -ltnH` lines (State Recv-Q Send-Q Local:Port Peer:Port).</summary>
    public static IReadOnlySet<int> ParseListeningPorts(string text)
    {
        var ports = new HashSet<int>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 4)
            {
                var local = f[3];
                var c = local.LastIndexOf(':');
                if (c >= 0 && int.TryParse(local[(c + 1)..], out var p))
                {
                    ports.Add(p);
                }
            }
        }
        return ports;
    }

    /// <summary>ParseContainerdVersion reads "containerd github.com/containerd/containerd 1.6.20~ds1 &lt;commit&gt;" → "1.6.20".</summary>
    public static string? ParseContainerdVersion(string text)
    {
        var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 3)
        {
            return null;
        }
        var v = f[2].TrimStart('v');
        var end = 0;
        while (end < v.Length && (char.IsAsciiDigit(v[end]) || v[end] == '.'))
        {
            end++;
        }
        return v[..end];
    }
}
