using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.ControlPlane;

/// <summary>EtcdPhase is kubeadm's "etcd local" phase: it creates the etcd data folder (0700) and writes the
/// etcd static Pod manifest of a new single-member (init) cluster.</summary>
public static class EtcdPhase
{
    private const string Phase = "etcd";

    /// <summary>RunLocalAsync writes /etc/kubernetes/manifests/etcd.yaml (0600); with an external etcd it only
    /// says so, as kubeadm does.</summary>
    public static async Task RunLocalAsync(PhaseContext ctx, CancellationToken ct = default)
    {
        var local = ctx.Config.Cluster.Etcd.Local;
        if (ctx.Config.Cluster.Etcd.External is not null || local is null)
        {
            ctx.Ui.Info(Phase, "External etcd mode: Skipping the creation of a manifest for local etcd");
            return;
        }
        if (!await ctx.Host.ExistsAsync(local.DataDir, ct).ConfigureAwait(false))
        {
            await ctx.Host.CreateDirectoryAsync(local.DataDir, FileModes.PrivateDir, ct).ConfigureAwait(false);
        }
        ctx.Ui.Info(Phase, $"Creating static Pod manifest for local etcd in \"{NodePaths.ManifestsDir}\"");
        var bytes = StaticPods.ToBytes(StaticPods.Etcd(ctx.Config, initialCluster: null, joining: false));
        await ctx.Host.WriteIfChangedAsync(NodePaths.Manifest(Components.Etcd), bytes, FileModes.Private, FileModes.PrivateDir, ct).ConfigureAwait(false);
    }
}
