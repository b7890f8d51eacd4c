using System.Text;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;

namespace Kubeforge.Cluster.Ha;

/// <summary>HaService describes one HA daemon: its unit, packages per distro family and the argv that validates a config
/// file without touching the running daemon.</summary>
public sealed record HaService(string Unit, IReadOnlyList<string> DebPackages, IReadOnlyList<string> RpmPackages, Func<string, IReadOnlyList<string>> Validate)
{
    /// <summary>Haproxy is the haproxy service (validated with haproxy -c -f).</summary>
    public static readonly HaService Haproxy = new("haproxy", ["haproxy"], ["haproxy"], p => ["haproxy", "-c", "-f", p]);

    /// <summary>Nginx is nginx with its stream module (a separate package on Debian and RPM distros; nginx -t -c).</summary>
    public static readonly HaService Nginx = new("nginx", ["nginx", "libnginx-mod-stream"], ["nginx", "nginx-mod-stream"], p => ["nginx", "-t", "-c", p]);

    /// <summary>Keepalived is keepalived plus curl for its check script (RPM distros always have curl or curl-minimal).</summary>
    public static readonly HaService Keepalived = new("keepalived", ["keepalived", "curl"], ["keepalived"], p => ["keepalived", "-t", "-f", p]);

    /// <summary>Packages returns the packages of a family.</summary>
    public IReadOnlyList<string> Packages(OsFamily family) => family == OsFamily.Rpm ? RpmPackages : DebPackages;
}

/// <summary>HaSteps are the load-balancer and vip steps of the cluster plan, run on every control plane: install the
/// daemon's package when missing, write its config (the distro's own file is backed up once), validate it before it
/// replaces the active one, enable the service and reload it only when the config changed, and check it is active.
/// On a host that does not manage services (a --rootfs tree, a dry run) only the files are written.</summary>
public static class HaSteps
{
    /// <summary>LoadBalancerAsync renders and runs the API load balancer (haproxy or nginx, spec.ha.loadBalancer) on a
    /// control-plane host: listening on *:spec.ha.port, forwarding to every control plane's API server.</summary>
    public static Task<StepResult> LoadBalancerAsync(StepContext ctx, CancellationToken ct) => LoadBalancerAsync(ctx, null, ct);

    /// <summary>LoadBalancerAsync with explicit paths (null: the host's distro defaults).</summary>
    public static async Task<StepResult> LoadBalancerAsync(StepContext ctx, HaPaths? paths, CancellationToken ct)
    {
        var ha = HaLayout.Ha(ctx.File);
        HaLayout.Priority(ctx.File, ctx.Host); // control planes only
        var nginx = ha.LoadBalancer == "nginx";
        var svc = nginx ? HaService.Nginx : HaService.Haproxy;
        var family = await FamilyAsync(ctx.Node, ct).ConfigureAwait(false);
        paths ??= HaPaths.For(family ?? OsFamily.Deb);
        var file = nginx
            ? new ManagedFile(paths.NginxConfig, NginxConfig.Render(ctx.File, ctx.Host, paths), FileModes.Public)
            : new ManagedFile(paths.HaproxyConfig, HaproxyConfig.Render(ctx.File, ctx.Host, paths), FileModes.Public);
        return await ApplyAsync(ctx.Node, svc, family, [await CaCopyAsync(ctx, paths, ct).ConfigureAwait(false)], file, ct).ConfigureAwait(false);
    }

    /// <summary>VipAsync renders and runs keepalived holding the VIP on a control-plane host, with the check script that
    /// tracks the local API server's /readyz.</summary>
    public static Task<StepResult> VipAsync(StepContext ctx, CancellationToken ct) => VipAsync(ctx, null, ct);

    /// <summary>VipAsync with explicit paths (null: the host's distro defaults).</summary>
    public static async Task<StepResult> VipAsync(StepContext ctx, HaPaths? paths, CancellationToken ct)
    {
        var ha = HaLayout.Ha(ctx.File);
        HaLayout.Priority(ctx.File, ctx.Host);
        var family = await FamilyAsync(ctx.Node, ct).ConfigureAwait(false);
        paths ??= HaPaths.For(family ?? OsFamily.Deb);
        string? defaultIface = null;
        if (ha.Keepalived.Interface is null && ctx.Host.Interface is null)
        {
            var r = await ctx.Node.RunAsync(["ip", "-j", "route", "show", "default"], null, ct).ConfigureAwait(false);
            defaultIface = r.Ok ? HostFacts.ParseDefaultRoute(r.Stdout) : null;
        }
        var script = new ManagedFile(paths.CheckScript, KeepalivedConfig.RenderCheckScript(ctx.File, ctx.Host, paths), FileModes.Dir);
        var ca = await CaCopyAsync(ctx, paths, ct).ConfigureAwait(false);
        var conf = new ManagedFile(paths.KeepalivedConfig, KeepalivedConfig.Render(ctx.File, ctx.Host, paths, defaultIface), FileModes.Public);
        return await ApplyAsync(ctx.Node, HaService.Keepalived, family, [ca, script], conf, ct).ConfigureAwait(false);
    }

    /// <summary>CaCopyAsync reads the cluster CA certificate (public) from the first control plane that has one — the
    /// cluster-ca step creates it on the first control plane before the load balancers start — as the health checks' CA file.</summary>
    private static async Task<ManagedFile> CaCopyAsync(StepContext ctx, HaPaths paths, CancellationToken ct)
    {
        const string caPath = "/etc/kubernetes/pki/ca.crt";
        foreach (var cp in ctx.File.ControlPlanes)
        {
            try
            {
                if (await ctx.HostOf(cp).ReadFileAsync(caPath, ct).ConfigureAwait(false) is { } pem)
                {
                    return new ManagedFile(paths.CaFile, pem, FileModes.Public);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ctx.Ui.Warn("load-balancer", $"{cp.Name}: {e.Message.Split('\n')[0]}; trying the next control plane for the cluster CA");
            }
        }
        throw new UserError($"no control plane has {caPath} yet: the cluster-ca step makes it on {ctx.File.FirstControlPlane.Name} (kubeforge up -f {ctx.File.Source} --from-step cluster-ca)");
    }

    private sealed record ManagedFile(string Path, byte[] Content, int Mode);

    /// <summary>FamilyAsync reads the distro family from /etc/os-release (null when the host does not manage services).</summary>
    private static async Task<OsFamily?> FamilyAsync(IHost node, CancellationToken ct)
    {
        if (!node.ManagesServices)
        {
            return null;
        }
        return HostFacts.ParseOsRelease(node.Name, await node.ReadTextAsync("/etc/os-release", ct).ConfigureAwait(false)).Family;
    }

    private static async Task<StepResult> ApplyAsync(IHost node, HaService svc, OsFamily? family, IReadOnlyList<ManagedFile> helpers, ManagedFile config, CancellationToken ct)
    {
        var details = new List<string>();
        var changed = false;
        if (family is { } fam)
        {
            changed |= await EnsurePackagesAsync(node, svc.Packages(fam), fam, details, ct).ConfigureAwait(false);
        }
        var helperChanged = false;
        foreach (var h in helpers)
        {
            if (await node.WriteIfChangedAsync(h.Path, h.Content, h.Mode, ct: ct).ConfigureAwait(false))
            {
                changed = helperChanged = true;
                details.Add($"wrote {h.Path}");
            }
        }
        var configChanged = !await SameAsync(node, config, ct).ConfigureAwait(false);
        if (configChanged)
        {
            changed = true;
            var old = await node.ReadFileAsync(config.Path, ct).ConfigureAwait(false);
            var backup = config.Path + HaPaths.BackupSuffix;
            if (old is not null && !Encoding.UTF8.GetString(old).Contains(HaLayout.Marker, StringComparison.Ordinal) && !await node.ExistsAsync(backup, ct).ConfigureAwait(false))
            {
                var mode = (await node.StatAsync(config.Path, ct).ConfigureAwait(false)).Mode & 0xFFF;
                await node.WriteFileAsync(backup, old, mode, ct: ct).ConfigureAwait(false);
                details.Add($"saved the distro's {config.Path} as {backup}");
            }
            if (node.ManagesServices)
            {
                await ValidateAsync(node, svc, config, ct).ConfigureAwait(false);
                details.Add($"validated with {ShellQuote.Join(svc.Validate(config.Path + HaPaths.CandidateSuffix))}");
            }
            await node.WriteFileAsync(config.Path, config.Content, config.Mode, ct: ct).ConfigureAwait(false);
            details.Add($"wrote {config.Path}");
        }
        if (!node.ManagesServices)
        {
            return StepResult.Of(changed, $"{svc.Unit}: {(changed ? "config written" : "config up to date")} (services not managed on {node.Name})", details);
        }

        var actions = new List<string>();
        if (!(await node.RunAsync(["systemctl", "is-enabled", svc.Unit], null, ct).ConfigureAwait(false)).Ok)
        {
            await MustRunAsync(node, ["systemctl", "enable", svc.Unit], details, ct).ConfigureAwait(false);
            actions.Add("enabled");
        }
        if (!(await node.RunAsync(["systemctl", "is-active", svc.Unit], null, ct).ConfigureAwait(false)).Ok)
        {
            await MustRunAsync(node, ["systemctl", "restart", svc.Unit], details, ct).ConfigureAwait(false);
            actions.Add("started");
        }
        else if (configChanged || helperChanged)
        {
            await MustRunAsync(node, ["systemctl", "reload-or-restart", svc.Unit], details, ct).ConfigureAwait(false);
            actions.Add("reloaded");
        }
        changed |= actions.Count > 0;
        await VerifyActiveAsync(node, svc, ct).ConfigureAwait(false);
        var what = configChanged ? "config updated" : "config up to date";
        return StepResult.Of(changed, $"{svc.Unit}: {what}{(actions.Count > 0 ? ", " + string.Join(", ", actions) : "")}; active", details);
    }

    private static async Task<bool> SameAsync(IHost node, ManagedFile f, CancellationToken ct)
    {
        var st = await node.StatAsync(f.Path, ct).ConfigureAwait(false);
        if (!st.Exists || st.IsDirectory || (st.Mode & 0xFFF) != f.Mode)
        {
            return false;
        }
        var old = await node.ReadFileAsync(f.Path, ct).ConfigureAwait(false);
        return old is not null && old.AsSpan().SequenceEqual(f.Content);
    }

    /// <summary>ValidateAsync writes the new config next to the active one, runs the validator on it and removes it; on
    /// failure the active config stays and the validator's message is the error.</summary>
    private static async Task ValidateAsync(IHost node, HaService svc, ManagedFile config, CancellationToken ct)
    {
        var candidate = config.Path + HaPaths.CandidateSuffix;
        await node.WriteFileAsync(candidate, config.Content, config.Mode, ct: ct).ConfigureAwait(false);
        CommandResult r;
        try
        {
            r = await node.RunAsync(svc.Validate(candidate), null, ct).ConfigureAwait(false);
        }
        finally
        {
            await node.DeleteAsync(candidate, ct).ConfigureAwait(false);
        }
        if (!r.Ok)
        {
            throw new UserError($"{node.Name}: the new {svc.Unit} config does not validate ({ShellQuote.Join(svc.Validate(candidate))}, exit {r.ExitCode}): {Gist(r)}; {config.Path} was left as it was; check spec.ha and the installed {svc.Unit} version");
        }
    }

    /// <summary>Gist picks the validator's telling lines (alerts and errors first), at most three.</summary>
    internal static string Gist(CommandResult r)
    {
        var lines = (r.Stderr + "\n" + r.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var telling = lines.Where(l => l.Contains("ALERT", StringComparison.Ordinal) || l.Contains("emerg", StringComparison.Ordinal)
            || l.Contains("rror", StringComparison.Ordinal) || l.Contains("unknown", StringComparison.OrdinalIgnoreCase) || l.Contains("invalid", StringComparison.OrdinalIgnoreCase)).ToList();
        var pick = (telling.Count > 0 ? telling : lines.ToList()).Take(3);
        var text = string.Join(" | ", pick);
        return text.Length == 0 ? "no output" : text.Length > 600 ? text[..600] + "..." : text;
    }

    private static async Task<bool> EnsurePackagesAsync(IHost node, IReadOnlyList<string> pkgs, OsFamily family, List<string> details, CancellationToken ct)
    {
        if (family == OsFamily.Rpm)
        {
            if ((await node.RunAsync(["rpm", "-q", .. pkgs], null, ct).ConfigureAwait(false)).Ok)
            {
                return false;
            }
            await MustRunAsync(node, ["dnf", "install", "-y", .. pkgs], details, ct).ConfigureAwait(false);
            return true;
        }
        var q = await node.RunAsync(["dpkg-query", "-W", "-f=${db:Status-Abbrev}\\n", .. pkgs], null, ct).ConfigureAwait(false);
        var states = q.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (q.Ok && states.Length == pkgs.Count && states.All(s => s.StartsWith("ii", StringComparison.Ordinal)))
        {
            return false;
        }
        string[] install = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", .. pkgs];
        if (!(await node.RunAsync(install, null, ct).ConfigureAwait(false)).Ok)
        {
            await MustRunAsync(node, ["apt-get", "update", "-q"], details, ct).ConfigureAwait(false);
        }
        else
        {
            details.Add(ShellQuote.Join(install));
            return true;
        }
        await MustRunAsync(node, install, details, ct).ConfigureAwait(false);
        return true;
    }

    private static async Task MustRunAsync(IHost node, IReadOnlyList<string> argv, List<string> details, CancellationToken ct)
    {
        var r = await node.RunAsync(argv, null, ct).ConfigureAwait(false);
        if (!r.Ok)
        {
            throw new UserError($"{node.Name}: {ShellQuote.Join(argv)} failed (exit {r.ExitCode}): {Gist(r)}");
        }
        details.Add(ShellQuote.Join(argv));
    }

    /// <summary>VerifyActiveAsync waits up to ~5 s for the unit to be active; else the error carries its last journal lines.</summary>
    private static async Task VerifyActiveAsync(IHost node, HaService svc, CancellationToken ct)
    {
        for (var i = 0; i < 17; i++)
        {
            if ((await node.RunAsync(["systemctl", "is-active", svc.Unit], null, ct).ConfigureAwait(false)).Ok)
            {
                return;
            }
            await Task.Delay(300, ct).ConfigureAwait(false);
        }
        var log = await node.RunAsync(["journalctl", "-u", svc.Unit, "-n", "5", "--no-pager", "-o", "cat"], null, ct).ConfigureAwait(false);
        throw new UserError($"{node.Name}: {svc.Unit} is not active after its config was applied: {Gist(log)}; see journalctl -u {svc.Unit}");
    }
}
