using System.Security.Cryptography.X509Certificates;
using Kubeforge.ControlPlane;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Yaml;

namespace Kubeforge.Reset;

/// <summary>EtcdManifest is what reset needs from /etc/kubernetes/manifests/etcd.yaml.</summary>
public sealed record EtcdManifest(string DataDir, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls)
{
    /// <summary>ReadAsync parses the node's etcd.yaml; null when it does not exist (external etcd, or already reset).</summary>
    public static async Task<EtcdManifest?> ReadAsync(IHost host, CancellationToken ct)
    {
        var path = NodePaths.Manifest("etcd");
        var text = await host.ReadTextAsync(path, ct).ConfigureAwait(false);
        if (text is null)
        {
            return null;
        }
        if (YamlReader.ReadAll(text, path).FirstOrDefault() is not YMap pod)
        {
            throw new UserError($"{path} is not a Pod manifest; remove it by hand or restore it from the backup");
        }
        var spec = pod.Map("spec");
        var command = (spec?.Seq("containers")?.OfType<YMap>().FirstOrDefault()?.Seq("command") ?? []).OfType<YScalar>().Select(s => s.Text).ToList();
        string? Flag(string name) => command.FirstOrDefault(a => a.StartsWith($"--{name}=", StringComparison.Ordinal))?[(name.Length + 3)..];
        List<string> Urls(string name) => (Flag(name) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        var dataDir = (spec?.Seq("volumes") ?? []).OfType<YMap>().FirstOrDefault(v => v.Str("name") == "etcd-data")?.Map("hostPath")?.Str("path")
            ?? Flag("data-dir") ?? "/var/lib/etcd";
        return new EtcdManifest(dataDir, Flag("name") ?? "", Urls("initial-advertise-peer-urls"), Urls("listen-client-urls"));
    }

    /// <summary>LocalClientUrl is the loopback client URL the member listens on (https://127.0.0.1:2379 by default).</summary>
    public Uri LocalClientUrl => new(ClientUrls.FirstOrDefault(u => u.Contains("://127.0.0.1", StringComparison.Ordinal)) ?? "https://127.0.0.1:2379");

    /// <summary>EndpointsFrom lists the client URLs to reach this member from where Kubeforge runs: on the node itself the
    /// loopback URL; from an operator's machine (reset over SSH) only the member's non-loopback URLs, since the operator's own
    /// 127.0.0.1 is another machine.</summary>
    public IReadOnlyList<string> EndpointsFrom(bool onTheNode)
    {
        var remote = ClientUrls.Where(u => !u.Contains("://127.0.0.1", StringComparison.Ordinal) && !u.Contains("://[::1]", StringComparison.Ordinal)).ToList();
        return onTheNode || remote.Count == 0 ? [LocalClientUrl.ToString(), .. remote] : remote;
    }
}

/// <summary>ResetPhases are the actions of the reset phases (kubeadm's cmd/phases/reset), acting only through IHost
/// and etcd's JSON gateway.</summary>
public static class ResetPhases
{
    private const string Ph = "reset";

    /// <summary>KubeconfigFiles are the files of /etc/kubernetes reset deletes, for the release.</summary>
    public static IReadOnlyList<string> KubeconfigFiles(Versions.VersionProfile p) =>
        ((string[])["admin.conf", .. p.SuperAdminConf ? ["super-admin.conf"] : Array.Empty<string>(), "kubelet.conf", "bootstrap-kubelet.conf", "controller-manager.conf", "scheduler.conf"])
        .Select(NodePaths.KubeConfig).ToList();

    /// <summary>LegacyStatefulDirs are the extra directories older releases empty.</summary>
    public static readonly IReadOnlyList<string> LegacyStatefulDirs = ["/var/lib/dockershim", "/var/run/kubernetes", "/var/lib/cni"];

    /// <summary>PreflightAsync asks for confirmation (unless --force or --dry-run) and checks for root on a real host.</summary>
    public static Task PreflightAsync(PhaseContext ctx, ResetOptions o)
    {
        if (!o.Force && !ctx.DryRun)
        {
            ctx.Ui.Warn(Ph, "Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.");
            ctx.Ui.Raw("[reset] Are you sure you want to proceed? [y/N]: ");
            var answer = o.ReadLine?.Invoke()
                ?? throw new UserError("reset asks for confirmation but standard input gave no answer; answer \"y\" at the prompt or pass --force");
            if (answer.Trim().ToLowerInvariant() is not ("y" or "yes"))
            {
                throw new UserError("won't proceed; the user didn't answer (Y|y) in order to continue");
            }
        }
        ctx.Ui.Info("preflight", "Running pre-flight checks");
        var ignored = o.IgnorePreflightErrors.Any(e => e.Equals("all", StringComparison.OrdinalIgnoreCase) || e.Equals("IsPrivilegedUser", StringComparison.OrdinalIgnoreCase));
        if (ctx.Host.ManagesServices && !Environment.IsPrivilegedProcess && !ignored)
        {
            throw new UserError("[preflight] IsPrivilegedUser: user is not running as root; run reset with sudo (or --ignore-preflight-errors=IsPrivilegedUser)");
        }
        return Task.CompletedTask;
    }

    /// <summary>RemoveEtcdMemberAsync removes this node's member from a stacked etcd cluster (skipped with a warning when etcd
    /// cannot be reached; skipped when it is the only member) and empties the etcd data directory.</summary>
    public static async Task RemoveEtcdMemberAsync(PhaseContext ctx, ResetOptions o, CancellationToken ct)
    {
        var m = await EtcdManifest.ReadAsync(ctx.Host, ct).ConfigureAwait(false);
        if (m is null)
        {
            ctx.Ui.Info(Ph, "No etcd config found. Assuming external etcd");
            ctx.Ui.Info(Ph, "Please, manually reset etcd to prevent further issues");
            return;
        }
        if (ctx.DryRun)
        {
            ctx.Ui.Info(Ph, "Would remove the etcd member on this node from the etcd cluster");
            ctx.Ui.Info(Ph, $"Would delete contents of the etcd data directory: {m.DataDir}");
            return;
        }
        try
        {
            await RemoveMemberAsync(ctx, o, m, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or UserError or TaskCanceledException or IOException or System.Security.Cryptography.CryptographicException)
        {
            ctx.Ui.Warn(Ph, $"Failed to remove etcd member: {e.Message}, please manually remove this etcd member using etcdctl");
        }
        var n = await ctx.Host.CleanDirAsync(m.DataDir, ct).ConfigureAwait(false);
        if (n > 0)
        {
            ResetWorkflow.CountRemoved(ctx, n);
            ctx.Ui.Info(Ph, $"Deleted contents of the etcd data directory: {m.DataDir}");
        }
    }

    private static async Task RemoveMemberAsync(PhaseContext ctx, ResetOptions o, EtcdManifest m, CancellationToken ct)
    {
        async Task<string> Read(string name) => await ctx.Host.ReadTextAsync(NodePaths.Join(o.CertDir, name), ct).ConfigureAwait(false)
            ?? throw new UserError($"{NodePaths.Join(o.CertDir, name)} does not exist");
        var caPem = await Read("etcd/ca.crt");
        var certPem = await Read("apiserver-etcd-client.crt");
        var keyPem = await Read("apiserver-etcd-client.key");
        using var ca = X509Certificate2.CreateFromPem(caPem);
        using var client = X509Certificate2.CreateFromPem(certPem, keyPem);
        var onTheNode = (ctx.Host is DryRunHost d ? d.Inner : ctx.Host) is not SshHost;
        using var etcd = EtcdGatewayClient.Create(m.EndpointsFrom(onTheNode), ca, client, o.EtcdTimeout, o.EtcdHandler?.Invoke());
        var members = await etcd.ListAsync(ct).ConfigureAwait(false);
        var self = members.FirstOrDefault(x => x.PeerUrls.Any(u => m.PeerUrls.Contains(u))) ?? members.FirstOrDefault(x => m.Name.Length > 0 && x.Name == m.Name);
        if (self is null)
        {
            ctx.Ui.Warn(Ph, $"This node's etcd member (peer URLs {string.Join(',', m.PeerUrls)}) is not in the etcd member list; nothing to remove");
            return;
        }
        if (members.Count == 1)
        {
            ctx.Ui.Info(Ph, "This is the only remaining etcd member in the etcd cluster, skipping its removal");
            return;
        }
        IReadOnlyList<EtcdMember> left;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                left = await etcd.RemoveAsync(self.Id, ct).ConfigureAwait(false);
                break;
            }
            catch (UserError e) when (attempt < 8 && e.Message.Contains("unhealthy cluster", StringComparison.Ordinal))
            {
                // etcd refuses reconfiguration until its peers have been connected for a while (as kubeadm, retry)
                await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            }
        }
        ctx.Ui.Info(Ph, $"Removed etcd member \"{self.Name}\" ({string.Join(',', self.PeerUrls)}); {left.Count} member(s) remain");
    }

    /// <summary>CleanupNodeAsync stops the kubelet (on a real host), unmounts the kubelet's mounts, removes Kubernetes
    /// containers, and deletes the manifests, kubelet state, certificates and kubeconfig files.</summary>
    public static async Task CleanupNodeAsync(PhaseContext ctx, ResetOptions o, CancellationToken ct)
    {
        var host = ctx.Host;
        var dirs = new List<string> { NodePaths.ManifestsDir };
        var kubeletOk = true;
        if (ctx.DryRun)
        {
            ctx.Ui.Info(Ph, "Would stop the kubelet service");
            ctx.Ui.Info(Ph, $"Would unmount mounted directories in \"{NodePaths.KubeletDir}\"");
            ctx.Ui.Info(Ph, "Would remove Kubernetes-managed containers");
        }
        else if (host.ManagesServices)
        {
            ctx.Ui.Info(Ph, "Stopping the kubelet service");
            var stop = await host.RunAsync(["systemctl", "stop", "kubelet"], null, ct).ConfigureAwait(false);
            if (!stop.Ok)
            {
                ctx.Ui.Warn(Ph, $"The kubelet service could not be stopped by kubeadm: [{stop.Stderr.Trim()}]");
                ctx.Ui.Warn(Ph, "Please ensure kubelet is stopped manually");
            }
            ctx.Ui.Info(Ph, $"Unmounting mounted directories in \"{NodePaths.KubeletDir}\"");
            kubeletOk = await UnmountKubeletAsync(ctx, ct).ConfigureAwait(false);
            var rm = await host.RunAsync(["crictl", "rmp", "--all", "--force"], null, ct).ConfigureAwait(false);
            if (!rm.Ok)
            {
                ctx.Ui.Warn(Ph, $"Failed to remove containers: {(rm.Stderr + rm.Stdout).Trim()}");
            }
        }
        else
        {
            ctx.Ui.Info(Ph, $"Services are not managed on {host.Name}: the kubelet is not stopped and no containers are removed");
        }
        if (o.CertDir != NodePaths.DefaultCertDir)
        {
            ctx.Ui.Warn(Ph, $"Cleaning a non-default certificates directory: \"{o.CertDir}\"");
        }
        var legacy = ctx.Config.Profile.ResetLegacyCleanup;
        var stateful = new List<string>();
        if (kubeletOk)
        {
            (legacy ? stateful : dirs).Add(NodePaths.KubeletDir);
        }
        dirs.Add(o.CertDir);
        if (o.CleanupTmpDir)
        {
            dirs.Add(NodePaths.KubernetesDir + "/tmp");
        }
        if (legacy)
        {
            stateful.AddRange(LegacyStatefulDirs);
        }
        var verb = ctx.DryRun ? "Would delete" : "Deleting";
        ctx.Ui.Info(Ph, $"{verb} contents of {(legacy ? "config directories" : "directories")}: [{string.Join(' ', dirs)}]");
        await CleanAsync(ctx, dirs, ct).ConfigureAwait(false);
        var files = KubeconfigFiles(ctx.Config.Profile);
        ctx.Ui.Info(Ph, $"{verb} files: [{string.Join(' ', files)}]");
        foreach (var f in files)
        {
            if (await host.ExistsAsync(f, ct).ConfigureAwait(false))
            {
                await host.DeleteAsync(f, ct).ConfigureAwait(false);
                ResetWorkflow.CountRemoved(ctx, 1);
            }
        }
        if (legacy)
        {
            ctx.Ui.Info(Ph, $"{verb} contents of stateful directories: [{string.Join(' ', stateful)}]");
            await CleanAsync(ctx, stateful, ct).ConfigureAwait(false);
        }
    }

    private static async Task CleanAsync(PhaseContext ctx, IEnumerable<string> dirs, CancellationToken ct)
    {
        foreach (var d in dirs)
        {
            ResetWorkflow.CountRemoved(ctx, await ctx.Host.CleanDirAsync(d, ct).ConfigureAwait(false));
        }
    }

    private static async Task<bool> UnmountKubeletAsync(PhaseContext ctx, CancellationToken ct)
    {
        var mounts = await ctx.Host.ReadTextAsync("/proc/mounts", ct).ConfigureAwait(false) ?? "";
        var points = mounts.Split('\n').Select(l => l.Split(' ')).Where(f => f.Length > 1)
            .Select(f => f[1].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(p => p == NodePaths.KubeletDir || p.StartsWith(NodePaths.KubeletDir + "/", StringComparison.Ordinal))
            .OrderByDescending(p => p.Length).ToList();
        var ok = true;
        foreach (var p in points)
        {
            var r = await ctx.Host.RunAsync(["umount", p], null, ct).ConfigureAwait(false);
            if (!r.Ok)
            {
                ctx.Ui.Warn(Ph, $"Failed to unmount {p}: {r.Stderr.Trim()}");
                ok = false;
            }
        }
        if (!ok)
        {
            ctx.Ui.Warn(Ph, $"Failed to unmount mounted directories in {NodePaths.KubeletDir}; its contents are kept");
        }
        return ok;
    }
}
