using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Kubelet;

/// <summary>KubeletStartPhase is kubeadm's "kubelet-start" phase: it writes kubeadm-flags.env and config.yaml
/// into /var/lib/kubelet (files 0644, folder 0700 when created) and (re)starts the kubelet service.</summary>
public static class KubeletStartPhase
{
    private const string Phase = "kubelet-start";

    /// <summary>RunAsync writes both files and restarts the kubelet when the host manages services
    /// (systemctl daemon-reload, systemctl restart kubelet); otherwise it says the start was skipped.
    /// registerTaintsUsingFlags is true on join, where taints go through --register-with-taints.</summary>
    public static async Task RunAsync(PhaseContext ctx, bool registerTaintsUsingFlags = false, CancellationToken ct = default)
    {
        var host = ctx.Host;
        var cfg = ctx.Config;
        var osHostname = (await host.ReadTextAsync("/etc/hostname", ct).ConfigureAwait(false))?.Trim();
        if (string.IsNullOrEmpty(osHostname))
        {
            osHostname = cfg.NodeName;
        }
        var resolved = host.ManagesServices && await IsServiceActiveAsync(host, "systemd-resolved", ct).ConfigureAwait(false);

        ctx.Ui.Info(Phase, $"Writing kubelet environment file with flags to file \"{NodePaths.KubeletEnvFile}\"");
        var env = KubeletFiles.FlagsEnv(cfg, registerTaintsUsingFlags, osHostname);
        await host.WriteIfChangedAsync(NodePaths.KubeletEnvFile, env, FileModes.Public, FileModes.PrivateDir, ct).ConfigureAwait(false);

        ctx.Ui.Info(Phase, $"Writing kubelet configuration to file \"{NodePaths.KubeletConfigFile}\"");
        var config = KubeletFiles.ConfigYaml(cfg, resolved);
        await host.WriteIfChangedAsync(NodePaths.KubeletConfigFile, config, FileModes.Public, FileModes.PrivateDir, ct).ConfigureAwait(false);

        if (!host.ManagesServices)
        {
            ctx.Ui.Info(Phase, $"Not starting the kubelet: {host.Name} does not manage services; start it yourself once the files are in place");
            return;
        }
        ctx.Ui.Info(Phase, "Starting the kubelet");
        var reload = await host.RunAsync(["systemctl", "daemon-reload"], ct: ct).ConfigureAwait(false);
        var restart = reload.Ok ? await host.RunAsync(["systemctl", "restart", "kubelet"], ct: ct).ConfigureAwait(false) : reload;
        if (!restart.Ok)
        {
            ctx.Ui.Warn(Phase, $"unable to start the kubelet service: {restart.Stderr.Trim()}");
            ctx.Ui.Info(Phase, "Please ensure kubelet is reloaded and running manually.");
        }
    }

    /// <summary>IsServiceActiveAsync runs "systemctl is-active name" and reports whether it printed "active".</summary>
    public static async Task<bool> IsServiceActiveAsync(IHost host, string name, CancellationToken ct = default)
    {
        var r = await host.RunAsync(["systemctl", "is-active", name], ct: ct).ConfigureAwait(false);
        return r.Ok && r.Stdout.Trim() == "active";
    }
}
