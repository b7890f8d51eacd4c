using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.ControlPlane;

/// <summary>ControlPlanePhase is kubeadm's "control-plane" phase: it writes the static Pod manifests of the
/// API server, controller-manager and scheduler into /etc/kubernetes/manifests (files 0600, folder 0700).</summary>
public static class ControlPlanePhase
{
    private const string Phase = "control-plane";

    /// <summary>RunAsync writes one component's manifest ("apiserver", "controller-manager", "scheduler", or
    /// the kube-* names), or all three when component is null. Unchanged files are not rewritten.</summary>
    public static async Task RunAsync(PhaseContext ctx, string? component, CancellationToken ct = default)
    {
        var components = component is null ? Components.ControlPlane : [Resolve(component)];
        if (component is null)
        {
            ctx.Ui.Info(Phase, $"Using manifest folder \"{NodePaths.ManifestsDir}\"");
        }
        var caTrust = await ExistingCaTrustPathsAsync(ctx, ct).ConfigureAwait(false);
        var externalCa = await IsExternalCaAsync(ctx, ct).ConfigureAwait(false);
        foreach (var c in components)
        {
            ctx.Ui.Info(Phase, $"Creating static Pod manifest for \"{c}\"");
            var bytes = StaticPods.ToBytes(StaticPods.Render(c, ctx.Config, caTrust, externalCa));
            await ctx.Host.WriteIfChangedAsync(NodePaths.Manifest(c), bytes, FileModes.Private, FileModes.PrivateDir, ct).ConfigureAwait(false);
        }
    }

    /// <summary>ExistingCaTrustPathsAsync asks the host which of the version's CA-trust folders exist.</summary>
    public static async Task<HashSet<string>> ExistingCaTrustPathsAsync(PhaseContext ctx, CancellationToken ct = default)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in ctx.Config.Profile.CaTrustPaths)
        {
            if ((await ctx.Host.StatAsync(p, ct).ConfigureAwait(false)).Exists)
            {
                found.Add(p);
            }
        }
        return found;
    }

    /// <summary>IsExternalCaAsync is kubeadm's external-CA test as far as the controller-manager cares:
    /// ca.crt is present but ca.key is not.</summary>
    public static async Task<bool> IsExternalCaAsync(PhaseContext ctx, CancellationToken ct = default)
    {
        var dir = ctx.Config.CertDir;
        return await ctx.Host.ExistsAsync(NodePaths.Join(dir, "ca.crt"), ct).ConfigureAwait(false)
            && !await ctx.Host.ExistsAsync(NodePaths.Join(dir, "ca.key"), ct).ConfigureAwait(false);
    }

    private static string Resolve(string component) => component switch
    {
        "apiserver" or Components.KubeApiServer => Components.KubeApiServer,
        "controller-manager" or Components.KubeControllerManager => Components.KubeControllerManager,
        "scheduler" or Components.KubeScheduler => Components.KubeScheduler,
        _ => throw new UserError($"control-plane component \"{component}\" is unknown: use apiserver, controller-manager or scheduler"),
    };
}
