using Kubeforge.Hosts;
using Kubeforge.KubeConfig;
using Kubeforge.Phases;
using Kubeforge.Yaml;

namespace Kubeforge.Kubelet;

/// <summary>KubeletFinalize points kubelet.conf at the rotating client certificate once the kubelet has one
/// (spec/kubeadm.md §3 last bullet, §5.4), and restarts the kubelet.</summary>
public static class KubeletFinalize
{
    /// <summary>RunAsync rewrites the kubelet.conf user to use /var/lib/kubelet/pki/kubelet-client-current.pem when it exists.</summary>
    public static async Task RunAsync(PhaseContext ctx, CancellationToken ct)
    {
        var pem = NodePaths.KubeletClientCurrentPem;
        if (!await ctx.Host.ExistsAsync(pem, ct).ConfigureAwait(false))
        {
            ctx.Ui.Info("kubelet-finalize", $"Skipping: the kubelet client certificate \"{pem}\" does not exist yet");
            return;
        }
        var path = NodePaths.KubeConfig("kubelet.conf");
        var bytes = await ctx.Host.ReadFileAsync(path, ct).ConfigureAwait(false)
            ?? throw new UserError($"{path} does not exist; run \"kubeforge init phase kubeconfig kubelet\" first");
        var rewritten = Rewrite(bytes, path, pem);
        ctx.Ui.Info("kubelet-finalize", $"Updating \"{path}\" to point to a rotatable kubelet client certificate and key");
        await ctx.Host.WriteIfChangedAsync(path, rewritten, FileModes.Private, ct: ct).ConfigureAwait(false);
        if (ctx.Host.ManagesServices)
        {
            await ctx.Host.RunAsync(["systemctl", "restart", "kubelet"], ct: ct).ConfigureAwait(false);
        }
    }

    /// <summary>Rewrite replaces the embedded client credentials of the current user with file references.</summary>
    public static byte[] Rewrite(byte[] kubeconfig, string source, string pemPath)
    {
        var view = KubeConfigFile.Read(kubeconfig, source);
        view.User.Remove("client-certificate-data");
        view.User.Remove("client-key-data");
        view.User["client-certificate"] = pemPath;
        view.User["client-key"] = pemPath;
        return GoYamlWriter.WriteBytes(view.Document);
    }
}
