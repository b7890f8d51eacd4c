using System.Globalization;
using Kubeforge.Hosts;
using Kubeforge.Reset;
using Kubeforge.Versions;

namespace Kubeforge.Phases;

/// <summary>ResetOptions are the "kubeforge reset" settings the phases read.</summary>
public sealed class ResetOptions
{
    /// <summary>Force skips the confirmation question.</summary>
    public bool Force { get; init; }

    public string CertDir { get; init; } = NodePaths.DefaultCertDir;

    /// <summary>CleanupTmpDir also empties /etc/kubernetes/tmp.</summary>
    public bool CleanupTmpDir { get; init; }

    public IReadOnlyCollection<string> IgnorePreflightErrors { get; init; } = [];

    /// <summary>ReadLine returns the operator's answer to the confirmation question, or null when there is no input.</summary>
    public Func<string?>? ReadLine { get; init; }

    /// <summary>EtcdHandler builds the connection handler of the etcd client (tests reach etcd in a network namespace).</summary>
    public Func<SocketsHttpHandler>? EtcdHandler { get; init; }

    public TimeSpan EtcdTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>ResetWorkflow is the phase tree of "kubeforge reset" (kubeadm's cmd/phases/reset: preflight,
/// remove-etcd-member, cleanup-node), plus the backup of /etc/kubernetes that runs before it and the closing notes.</summary>
public static class ResetWorkflow
{
    /// <summary>RemovedKey is the Bag entry counting what the phases removed (for the "nothing to remove" line).</summary>
    public const string RemovedKey = "reset-removed";

    /// <summary>Phases returns the reset phases in kubeadm's order.</summary>
    public static IReadOnlyList<Phase> Phases(ResetOptions o) =>
    [
        new Phase("preflight", "Run reset pre-flight checks") { Run = (ctx, _) => ResetPhases.PreflightAsync(ctx, o) },
        new Phase("remove-etcd-member", "Remove a local etcd member.") { Run = (ctx, ct) => ResetPhases.RemoveEtcdMemberAsync(ctx, o, ct) },
        new Phase("cleanup-node", "Run cleanup node.") { Run = (ctx, ct) => ResetPhases.CleanupNodeAsync(ctx, o, ct) },
    ];

    /// <summary>BackupDir is the timestamped folder the backup goes to ("/etc/kubernetes-backup-20261126T010203Z").</summary>
    public static string BackupDir(DateTimeOffset now) =>
        $"{NodePaths.KubernetesDir}-backup-{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";

    /// <summary>BackupAsync copies /etc/kubernetes (not moves) to BackupDir(now) when it holds any file; returns the folder or null.</summary>
    public static async Task<string?> BackupAsync(PhaseContext ctx, CancellationToken ct)
    {
        if (await ctx.Host.CountFilesAsync(NodePaths.KubernetesDir, ct).ConfigureAwait(false) == 0)
        {
            return null;
        }
        var dir = BackupDir(ctx.Time.GetUtcNow());
        for (var i = 1; await ctx.Host.ExistsAsync(dir, ct).ConfigureAwait(false); i++)
        {
            dir = $"{BackupDir(ctx.Time.GetUtcNow())}-{i}";
        }
        var n = await ctx.Host.CopyTreeAsync(NodePaths.KubernetesDir, dir, ct).ConfigureAwait(false);
        ctx.Ui.Info("reset", $"{(ctx.DryRun ? "Would back up" : "Backed up")} {n} files of \"{NodePaths.KubernetesDir}\" to \"{dir}\"");
        return dir;
    }

    /// <summary>DetectProfileAsync picks the release the node runs from the kube-apiserver manifest's image tag, else the newest.</summary>
    public static async Task<VersionProfile> DetectProfileAsync(IHost host, CancellationToken ct)
    {
        var text = await host.ReadTextAsync(NodePaths.Manifest("kube-apiserver"), ct).ConfigureAwait(false);
        var image = text?.Split('\n').Select(l => l.Trim().TrimStart('-', ' ')).FirstOrDefault(l => l.StartsWith("image:", StringComparison.Ordinal));
        var tag = image is null ? null : image[(image.LastIndexOf(':') + 1)..].Trim();
        return KubeVersion.TryParse(tag, out var v) && VersionTable.TryGet(v, out var p) ? p : VersionTable.Newest;
    }

    /// <summary>ManualCleanupNotes is what kubeadm prints at the end of reset for the release, followed by the commands
    /// that do that cleanup by hand.</summary>
    public static string ManualCleanupNotes(VersionProfile profile)
    {
        var kubeadm = profile.ResetLegacyCleanup
            ? "\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d\n" +
              "\nThe reset process does not reset or clean up iptables rules or IPVS tables.\n" +
              "If you wish to reset iptables, you must do so manually by using the \"iptables\" command.\n\n" +
              "If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)\nto reset your system's IPVS tables.\n\n" +
              "The reset process does not clean your kubeconfig files and you must remove them manually.\n" +
              "Please, check the contents of the $HOME/.kube/config file.\n"
            : "\nThe reset process does not perform cleanup of CNI plugin configuration,\nnetwork filtering rules and kubeconfig files.\n\n" +
              "For information on how to perform this cleanup manually, please see:\n    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/\n\n";
        return kubeadm +
            "\nTo do that cleanup by hand, run as root:\n" +
            "  rm -rf /etc/cni/net.d\n" +
            "  iptables -F && iptables -t nat -F && iptables -t mangle -F && iptables -X\n" +
            "  ipvsadm --clear\n" +
            "  rm -f $HOME/.kube/config\n";
    }

    /// <summary>CountRemoved adds to the run's count of removed files and entries.</summary>
    public static void CountRemoved(PhaseContext ctx, int n) =>
        ctx.Bag[RemovedKey] = (ctx.Bag.TryGetValue(RemovedKey, out var v) ? (int)v : 0) + n;

    /// <summary>Removed is the run's count of removed files and entries.</summary>
    public static int Removed(PhaseContext ctx) => ctx.Bag.TryGetValue(RemovedKey, out var v) ? (int)v : 0;
}
