using System.Text;
using System.Text.RegularExpressions;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Node;

/// <summary>PrepStep is the outcome of one preparation step: whether it changed the host, and what it did or why not.</summary>
public sealed record PrepStep(string Name, bool Changed, string Detail, bool Warning = false);

/// <summary>FirewallChoice says what OS preparation does with an active firewalld.</summary>
public enum FirewallChoice { Leave, Open, Disable }

/// <summary>OsPrepOptions are the choices of OS preparation.</summary>
public sealed record OsPrepOptions
{
    /// <summary>Firewall: open the Kubernetes ports (default), disable firewalld, or leave it.</summary>
    public FirewallChoice Firewall { get; init; } = FirewallChoice.Open;
    /// <summary>ControlPlane opens the control-plane ports too (else only the worker ports).</summary>
    public bool ControlPlane { get; init; } = true;
    /// <summary>ApiServerPort is the API server bind port to open.</summary>
    public int ApiServerPort { get; init; } = 6443;
    /// <summary>Timestamp names backups (/etc/fstab.kubeforge-backup-&lt;ts&gt;).</summary>
    public required DateTimeOffset Timestamp { get; init; }
}

/// <summary>OsPrep is the guide's §1 made persistent and idempotent: kernel modules, sysctls, SELinux permissive, swap off,
/// firewalld. Renders are pure; applying goes through IHost only and reports changed/unchanged per step.</summary>
public static partial class OsPrep
{
    public const string ModulesFile = "/etc/modules-load.d/k8s.conf";
    public const string SysctlFile = "/etc/sysctl.d/99-kubernetes.conf";
    public const string SelinuxConfig = "/etc/selinux/config";
    public const string Fstab = "/etc/fstab";

    /// <summary>Modules are the kernel modules Kubernetes networking needs.</summary>
    public static readonly IReadOnlyList<string> Modules = ["overlay", "br_netfilter"];

    /// <summary>Sysctls are the kernel settings written to 99-kubernetes.conf.</summary>
    public static readonly IReadOnlyList<(string Key, string Value)> Sysctls =
    [
        ("net.bridge.bridge-nf-call-iptables", "1"), ("net.bridge.bridge-nf-call-ip6tables", "1"), ("net.ipv4.ip_forward", "1"),
    ];

    /// <summary>ModulesConf renders modules-load.d/k8s.conf.</summary>
    public static string ModulesConf() => "# Written by kubeforge: kernel modules Kubernetes needs\n" + string.Join("", Modules.Select(m => m + "\n"));

    /// <summary>SysctlConf renders sysctl.d/99-kubernetes.conf.</summary>
    public static string SysctlConf() => "# Written by kubeforge: kernel settings Kubernetes needs\n" + string.Join("", Sysctls.Select(s => $"{s.Key} = {s.Value}\n"));

    /// <summary>CommentSwapLines comments out every active fstab entry whose type is swap (keeps all other bytes).</summary>
    public static string CommentSwapLines(string fstab)
    {
        var lines = fstab.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (IsSwapLine(lines[i]))
            {
                lines[i] = "#" + lines[i] + " # disabled by kubeforge (Kubernetes needs swap off)";
            }
        }
        return string.Join('\n', lines);
    }

    /// <summary>IsSwapLine tells whether an fstab line is an active swap entry (third field "swap").</summary>
    public static bool IsSwapLine(string line)
    {
        var t = line.Trim();
        if (t.Length == 0 || t.StartsWith('#'))
        {
            return false;
        }
        var f = t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return f.Length >= 3 && f[2] == "swap";
    }

    /// <summary>SelinuxPermissive sets SELINUX=enforcing to permissive in /etc/selinux/config (other values unchanged).</summary>
    public static string SelinuxPermissive(string config) => SelinuxLine().Replace(config, "SELINUX=permissive");

    [GeneratedRegex(@"^SELINUX=enforcing[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex SelinuxLine();

    /// <summary>FirewallPorts are the TCP ports kubeadm nodes listen on (control plane or worker).</summary>
    public static IReadOnlyList<string> FirewallPorts(bool controlPlane, int apiPort) => controlPlane
        ? [$"{apiPort}/tcp", "2379-2380/tcp", "10250/tcp", "10257/tcp", "10259/tcp"]
        : ["10250/tcp", "30000-32767/tcp"];

    /// <summary>BackupPath names the backup of a file taken before kubeforge edits it.</summary>
    public static string BackupPath(string path, DateTimeOffset ts) => $"{path}.kubeforge-backup-{ts.UtcDateTime:yyyyMMddHHmmss}";

    /// <summary>RunAsync applies every step in order and returns what each did. facts are the host's current facts.</summary>
    public static async Task<IReadOnlyList<PrepStep>> RunAsync(IHost host, HostFacts facts, OsPrepOptions o, CancellationToken ct = default)
    {
        var steps = new List<PrepStep>
        {
            await ModulesAsync(host, facts, ct).ConfigureAwait(false),
            await SysctlAsync(host, facts, ct).ConfigureAwait(false),
            await SwapAsync(host, facts, o, ct).ConfigureAwait(false),
            await SelinuxAsync(host, facts, o, ct).ConfigureAwait(false),
            await FirewalldAsync(host, facts, o, ct).ConfigureAwait(false),
        };
        return steps;
    }

    private static async Task<CommandResult> Run(IHost host, IReadOnlyList<string> argv, CancellationToken ct) =>
        await host.RunAsync(argv, null, ct).ConfigureAwait(false);

    /// <summary>ModulesAsync writes modules-load.d/k8s.conf and loads missing modules now (a warning when modprobe is absent or fails).</summary>
    public static async Task<PrepStep> ModulesAsync(IHost host, HostFacts facts, CancellationToken ct)
    {
        var wrote = await host.WriteIfChangedAsync(ModulesFile, Encoding.UTF8.GetBytes(ModulesConf()), FileModes.Public, ct: ct).ConfigureAwait(false);
        var missing = Modules.Where(m => !facts.LoadedModules.Contains(m) && !(m == "br_netfilter" && facts.Sysctls.ContainsKey("net.bridge.bridge-nf-call-iptables"))).ToList();
        var notes = new List<string> { wrote ? $"wrote {ModulesFile}" : $"{ModulesFile} up to date" };
        var warn = false;
        var loaded = false;
        foreach (var m in missing)
        {
            if (!facts.Binaries.ContainsKey("modprobe"))
            {
                notes.Add($"modprobe not found, {m} not loaded now (it loads at boot; install kmod)");
                warn = true;
                continue;
            }
            var r = await Run(host, ["modprobe", "--", m], ct).ConfigureAwait(false);
            if (r.Ok)
            {
                notes.Add($"loaded {m}");
                loaded = true;
            }
            else
            {
                notes.Add($"modprobe {m} failed ({FirstLine(r.Stderr)}); in a container the module must be loaded on the machine");
                warn = true;
            }
        }
        return new PrepStep("modules", wrote || loaded, string.Join("; ", notes), warn);
    }

    /// <summary>SysctlAsync writes sysctl.d/99-kubernetes.conf and runs `sysctl --system` when the file changed or a live value differs.</summary>
    public static async Task<PrepStep> SysctlAsync(IHost host, HostFacts facts, CancellationToken ct)
    {
        var wrote = await host.WriteIfChangedAsync(SysctlFile, Encoding.UTF8.GetBytes(SysctlConf()), FileModes.Public, ct: ct).ConfigureAwait(false);
        var stale = Sysctls.Where(s => facts.Sysctls.GetValueOrDefault(s.Key) != s.Value).Select(s => s.Key).ToList();
        if (!wrote && stale.Count == 0)
        {
            return new PrepStep("sysctl", false, $"{SysctlFile} up to date; live values match");
        }
        var r = await Run(host, ["sysctl", "--system"], ct).ConfigureAwait(false);
        var detail = (wrote ? $"wrote {SysctlFile}; " : "") + "ran sysctl --system" + (stale.Count > 0 ? $" (was off: {string.Join(", ", stale)})" : "");
        return r.Ok ? new PrepStep("sysctl", true, detail)
            : new PrepStep("sysctl", wrote, detail + $"; it reported: {FirstLine(r.Stderr)}", Warning: true);
    }

    /// <summary>SwapAsync runs swapoff -a when swap is on, and comments out fstab swap lines (backing fstab up first).</summary>
    public static async Task<PrepStep> SwapAsync(IHost host, HostFacts facts, OsPrepOptions o, CancellationToken ct)
    {
        var notes = new List<string>();
        var changed = false;
        var warn = false;
        if (facts.ActiveSwaps.Count > 0)
        {
            var r = await Run(host, ["swapoff", "-a"], ct).ConfigureAwait(false);
            changed |= r.Ok;
            warn |= !r.Ok;
            notes.Add(r.Ok ? $"swapoff -a ({string.Join(", ", facts.ActiveSwaps)})" : $"swapoff -a failed: {FirstLine(r.Stderr)}");
        }
        var fstab = await host.ReadTextAsync(Fstab, ct).ConfigureAwait(false);
        if (fstab is not null)
        {
            var edited = CommentSwapLines(fstab);
            if (edited != fstab)
            {
                var st = await host.StatAsync(Fstab, ct).ConfigureAwait(false);
                var mode = st.Mode & 0xFFF;
                var backup = BackupPath(Fstab, o.Timestamp);
                await host.WriteFileAsync(backup, Encoding.UTF8.GetBytes(fstab), mode, ct: ct).ConfigureAwait(false);
                await host.WriteFileAsync(Fstab, Encoding.UTF8.GetBytes(edited), mode, ct: ct).ConfigureAwait(false);
                changed = true;
                notes.Add($"commented out swap lines in {Fstab} (backup {backup})");
            }
        }
        if (notes.Count == 0)
        {
            notes.Add("swap is off and not in /etc/fstab");
        }
        return new PrepStep("swap", changed, string.Join("; ", notes), warn);
    }

    /// <summary>SelinuxAsync sets SELinux permissive now (setenforce 0) and in /etc/selinux/config (backed up first).</summary>
    public static async Task<PrepStep> SelinuxAsync(IHost host, HostFacts facts, OsPrepOptions o, CancellationToken ct)
    {
        var notes = new List<string>();
        var changed = false;
        if (facts.SelinuxMode == "enforcing")
        {
            var r = await Run(host, ["setenforce", "0"], ct).ConfigureAwait(false);
            changed |= r.Ok;
            notes.Add(r.Ok ? "setenforce 0" : $"setenforce 0 failed: {FirstLine(r.Stderr)}");
        }
        var cfg = await host.ReadTextAsync(SelinuxConfig, ct).ConfigureAwait(false);
        if (cfg is not null && SelinuxPermissive(cfg) is var edited && edited != cfg)
        {
            var mode = (await host.StatAsync(SelinuxConfig, ct).ConfigureAwait(false)).Mode & 0xFFF;
            var backup = BackupPath(SelinuxConfig, o.Timestamp);
            await host.WriteFileAsync(backup, Encoding.UTF8.GetBytes(cfg), mode, ct: ct).ConfigureAwait(false);
            await host.WriteFileAsync(SelinuxConfig, Encoding.UTF8.GetBytes(edited), mode, ct: ct).ConfigureAwait(false);
            changed = true;
            notes.Add($"SELINUX=permissive in {SelinuxConfig} (backup {backup})");
        }
        return new PrepStep("selinux", changed, notes.Count == 0 ? (facts.SelinuxMode is null ? "no SELinux" : $"SELinux is {facts.SelinuxMode}") : string.Join("; ", notes));
    }

    /// <summary>FirewalldAsync opens the node's ports permanently (and reloads) or stops and disables firewalld.</summary>
    public static async Task<PrepStep> FirewalldAsync(IHost host, HostFacts facts, OsPrepOptions o, CancellationToken ct)
    {
        if (!facts.FirewalldActive || o.Firewall == FirewallChoice.Leave)
        {
            return new PrepStep("firewalld", false, facts.FirewalldActive ? "firewalld active; left as chosen" : "firewalld not active");
        }
        if (o.Firewall == FirewallChoice.Disable)
        {
            var r = await Run(host, ["systemctl", "disable", "--now", "firewalld"], ct).ConfigureAwait(false);
            return new PrepStep("firewalld", r.Ok, r.Ok ? "stopped and disabled firewalld" : $"disabling firewalld failed: {FirstLine(r.Stderr)}", !r.Ok);
        }
        var list = await Run(host, ["firewall-cmd", "--permanent", "--list-ports"], ct).ConfigureAwait(false);
        var open = list.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var missing = FirewallPorts(o.ControlPlane, o.ApiServerPort).Where(p => !open.Contains(p)).ToList();
        if (missing.Count == 0)
        {
            return new PrepStep("firewalld", false, "Kubernetes ports already open");
        }
        foreach (var p in missing)
        {
            await Run(host, ["firewall-cmd", "--permanent", "--add-port=" + p], ct).ConfigureAwait(false);
        }
        var reload = await Run(host, ["firewall-cmd", "--reload"], ct).ConfigureAwait(false);
        return new PrepStep("firewalld", true, $"opened {string.Join(", ", missing)}", !reload.Ok);
    }

    internal static string FirstLine(string s) => s.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
}
