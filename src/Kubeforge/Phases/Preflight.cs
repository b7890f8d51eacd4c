using Kubeforge.Hosts;
using Kubeforge.Node;

namespace Kubeforge.Phases;

/// <summary>Preflight holds the checks init runs before changing anything (spec/kubeadm.md §15): the root check, the file-level
/// checks (manifests, etcd data folder) and the host checks of HostPreflight (skipped with a notice on a --rootfs tree).</summary>
public static class Preflight
{
    /// <summary>InitOptions are the node-check options of an init: a control plane with the config's port, etcd, name and address.</summary>
    public static PreflightOptions InitOptions(Config.KubeadmConfig c) => new()
    {
        Profile = c.Profile,
        ControlPlane = true,
        ApiServerPort = c.BindPort,
        LocalEtcd = c.LocalEtcd,
        NodeName = string.IsNullOrEmpty(c.NodeName) ? null : c.NodeName,
        AdvertiseAddress = string.IsNullOrEmpty(c.AdvertiseAddress) || c.AdvertiseAddress is "0.0.0.0" or "::" ? null : c.AdvertiseAddress,
    };

    /// <summary>RunInitAsync runs init's checks; errors abort unless ignored by --ignore-preflight-errors.</summary>
    public static async Task RunInitAsync(PhaseContext ctx, CancellationToken ct)
    {
        ctx.Ui.Info("preflight", "Running pre-flight checks");
        var results = new List<CheckResult>();
        if (ctx.Host.ManagesServices && !ctx.DryRun && Environment.UserName != "root")
        {
            results.Add(HostPreflight.FileError("IsPrivilegedUser", "user is not running as root"));
        }
        foreach (var component in new[] { "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd" })
        {
            var path = NodePaths.Manifest(component);
            if (await ctx.Host.ExistsAsync(path, ct).ConfigureAwait(false))
            {
                results.Add(HostPreflight.FileError("FileAvailable-" + path.Replace('/', '-'), $"{path} already exists"));
            }
        }
        if (ctx.Config.LocalEtcd)
        {
            var dataDir = ctx.Config.Cluster.Etcd.Local!.DataDir;
            if ((await ctx.Host.ListAsync(dataDir, ct).ConfigureAwait(false)).Count > 0)
            {
                results.Add(HostPreflight.FileError("DirAvailable-" + dataDir.Replace('/', '-'), $"{dataDir} is not empty"));
            }
        }
        results.AddRange(await HostPreflight.RunAsync(ctx.Host, InitOptions(ctx.Config), ctx.Ui, ctx.Time, ct).ConfigureAwait(false));
        HostPreflight.Finish(results, ctx.Config.Init.NodeRegistration.IgnorePreflightErrors, ctx.Ui,
            "To see the stack trace of this error execute with -v. Fix the problems above, or skip a check with --ignore-preflight-errors=<check name> (or `reset` the node first).");
    }
}
