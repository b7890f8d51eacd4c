using Kubeforge.Hosts;
using Kubeforge.Node;

namespace Kubeforge.Phases;

/// <summary>HostPreflight runs the host-level checks of spec §15 (NodePreflight over HostFacts: CPUs, memory, swap, sysctls,
/// ports, binaries, container runtime, node name...) inside init's and join's preflight phase, next to their file-level checks,
/// and turns the combined results into kubeadm's verdict: warnings printed, errors fatal unless --ignore-preflight-errors names
/// them (or 'all').</summary>
public static class HostPreflight
{
    /// <summary>RealHost is the host whose facts are read: a dry run reads the host it wraps.</summary>
    public static IHost RealHost(IHost host) => host is DryRunHost d ? d.Inner : host;

    /// <summary>IsRunningHost tells whether the host is a running machine whose kernel, services and ports can be checked;
    /// a --rootfs tree is only files (LocalHost with a rootfs does not manage services).</summary>
    public static bool IsRunningHost(IHost host) => RealHost(host).ManagesServices;

    /// <summary>RunAsync gathers the host's facts and runs the node checks (ignores not applied yet). On a --rootfs tree it
    /// prints a notice and returns no results: that machine is not the node.</summary>
    public static async Task<IReadOnlyList<CheckResult>> RunAsync(IHost host, PreflightOptions options, IUi ui, TimeProvider time, CancellationToken ct)
    {
        var real = RealHost(host);
        if (!real.ManagesServices)
        {
            ui.Info("preflight", $"Skipping the host checks (CPU, memory, swap, kernel settings, ports, binaries, container runtime): {real.Name} is a root filesystem, not a running host");
            return [];
        }
        var facts = await HostFacts.GatherAsync(real, time, ct).ConfigureAwait(false);
        return NodePreflight.Run(facts, options with { IgnoreErrors = [] });
    }

    /// <summary>Finish applies the ignore list, prints every warning (with its fix) and throws the kubeadm-style fatal error
    /// listing the remaining errors; hint ends that error's message.</summary>
    public static void Finish(IReadOnlyList<CheckResult> results, IReadOnlyCollection<string> ignore, IUi ui, string hint)
    {
        var final = NodePreflight.Apply(results, ignore);
        foreach (var c in final.Where(c => c.Level == CheckLevel.Warning))
        {
            ui.Warn("preflight", $"[{c.Name}]: {c.Message}{(c.Ignored ? " (error ignored)" : "")}{(c.Fix is null ? "" : $"; fix: {c.Fix}")}");
        }
        var errors = final.Where(c => c.Level == CheckLevel.Error).ToList();
        if (errors.Count > 0)
        {
            throw new UserError("[preflight] Some fatal errors occurred:\n\t" +
                string.Join("\n\t", errors.Select(e => $"[ERROR {e.Name}]: {e.Message}{(e.Fix is null ? "" : $" (fix: {e.Fix})")}")) + "\n" + hint);
        }
    }

    /// <summary>FileError is a file-level check's error result (FileAvailable-…, DirAvailable-…, IsPrivilegedUser).</summary>
    public static CheckResult FileError(string check, string message) => new(check, CheckLevel.Error, message);
}
