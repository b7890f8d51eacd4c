using Kubeforge.Hosts;

namespace Kubeforge.Phases;

/// <summary>Preflight holds the node checks init runs before changing anything (spec/kubeadm.md §15).
/// This is the file-level subset; host-level checks (swap, sysctls, runtime) come with the hosts layer.</summary>
public static class Preflight
{
    /// <summary>RunInitAsync runs init's checks; errors abort unless ignored by --ignore-preflight-errors.</summary>
    public static async Task RunInitAsync(PhaseContext ctx, CancellationToken ct)
    {
        ctx.Ui.Info("preflight", "Running pre-flight checks");
        var ignore = ctx.Config.Init.NodeRegistration.IgnorePreflightErrors
            .Select(s => s.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        var errors = new List<string>();

        void Report(string check, string message, bool isError)
        {
            if (isError && !ignore.Contains("all") && !ignore.Contains(check.ToLowerInvariant()))
            {
                errors.Add($"[ERROR {check}]: {message}");
            }
            else
            {
                ctx.Ui.Warn("preflight", $"[{check}]: {message}");
            }
        }

        if (ctx.Host.ManagesServices && !ctx.DryRun && Environment.UserName != "root")
        {
            Report("IsPrivilegedUser", "user is not running as root", true);
        }
        foreach (var component in new[] { "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd" })
        {
            var path = NodePaths.Manifest(component);
            if (await ctx.Host.ExistsAsync(path, ct).ConfigureAwait(false))
            {
                Report("FileAvailable-" + path.Replace('/', '-'), $"{path} already exists", true);
            }
        }
        if (ctx.Config.LocalEtcd)
        {
            var dataDir = ctx.Config.Cluster.Etcd.Local!.DataDir;
            if ((await ctx.Host.ListAsync(dataDir, ct).ConfigureAwait(false)).Count > 0)
            {
                Report("DirAvailable-" + dataDir.Replace('/', '-'), $"{dataDir} is not empty", true);
            }
        }
        if (errors.Count > 0)
        {
            throw new UserError("[preflight] Some fatal errors occurred:\n\t" + string.Join("\n\t", errors) +
                "\nTo see the stack trace of this error execute with -v. Fix the problems above, or skip a check with --ignore-preflight-errors=<check name> (or `reset` the node first).");
        }
    }
}
