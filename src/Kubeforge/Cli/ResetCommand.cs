using System.CommandLine;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>ResetCommand builds "reset" and its "reset phase ..." tree (kubeadm's cmd/reset.go).</summary>
public static class ResetCommand
{
    private sealed class Flags
    {
        public Option<bool> Force { get; } = new("--force", "-f") { Description = "Reset the node without prompting for confirmation" };
        public Option<string?> Rootfs { get; } = new("--rootfs") { Description = "Resolve every host path under this folder (nothing outside it is touched; services are not stopped)" };
        public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Don't apply any changes; just output what would be done" };
        public Option<string> CertDir { get; } = new("--cert-dir") { Description = "The path to the directory where the certificates are stored. If specified, clean this directory", DefaultValueFactory = _ => NodePaths.DefaultCertDir };
        public Option<bool> CleanupTmpDir { get; } = new("--cleanup-tmp-dir") { Description = "Cleanup the \"/etc/kubernetes/tmp\" directory" };
        public Option<string?> Kubeconfig { get; } = new("--kubeconfig") { Description = "The kubeconfig file to use when talking to the cluster (accepted for kubeadm compatibility; reset acts on the node only)" };
        public Option<string[]> IgnorePreflightErrors { get; } = new("--ignore-preflight-errors") { Description = "A list of checks whose errors will be shown as warnings, or 'all'", AllowMultipleArgumentsPerToken = true };
        public Option<string[]> SkipPhases { get; } = new("--skip-phases") { Description = "List of phases to be skipped", AllowMultipleArgumentsPerToken = true };

        public IEnumerable<Option> All => [Force, Rootfs, DryRun, CertDir, CleanupTmpDir, Kubeconfig, IgnorePreflightErrors, SkipPhases];
    }

    /// <summary>Build creates "reset" with one "reset phase NAME" command per phase.</summary>
    public static Command Build(CliIo io)
    {
        var flags = new Flags();
        var help = string.Join("\n", ResetWorkflow.Phases(new ResetOptions()).Select(p => $"  {p.Name,-28}{p.Short}"));
        var reset = new Command("reset", "Performs a best effort revert of changes made to this host by 'kubeadm init' or 'kubeadm join'")
        {
            Description = "Performs a best effort revert of changes made to this host by 'kubeadm init' or 'kubeadm join'.\n" +
                "/etc/kubernetes is first copied to /etc/kubernetes-backup-<time>.\n\nThe \"reset\" command executes the following phases:\n" + help,
        };
        foreach (var o in flags.All)
        {
            reset.Options.Add(o);
        }
        // cluster level: "reset -f cluster.yaml" keeps kubeadm's -f (= --force) and takes the cluster file as an argument
        var clusterFile = new Argument<string?>("cluster-file") { Description = "Reset every host of this cluster file over SSH (workers, then control planes), then check each host is clean", Arity = ArgumentArity.ZeroOrOne };
        var fileOption = new Option<string?>("--file") { Description = "The cluster file (same as the argument)" };
        var hosts = new Option<string[]>("--hosts") { Description = "With a cluster file: only these hosts (comma-separated names)", AllowMultipleArgumentsPerToken = true };
        reset.Arguments.Add(clusterFile);
        reset.Options.Add(fileOption);
        reset.Options.Add(hosts);
        reset.SetAction((pr, ct) =>
        {
            if ((pr.GetValue(clusterFile) ?? pr.GetValue(fileOption)) is { } file)
            {
                var only = pr.GetValue(hosts) is { Length: > 0 } h ? InitFlagSet.Split(h) : null;
                return ClusterCommands.ResetClusterAsync(io, file, only, pr.GetValue(flags.Force), ct);
            }
            if (pr.GetValue(hosts) is { Length: > 0 })
            {
                throw new UserError("--hosts needs a cluster file: kubeforge reset -f cluster.yaml --hosts NAME");
            }
            return RunAsync(io, flags, pr, null, ct);
        });
        var phase = new Command("phase", "Use this command to invoke single phase of the reset workflow");
        foreach (var p in ResetWorkflow.Phases(new ResetOptions()))
        {
            var cmd = new Command(p.Name, p.Short);
            foreach (var o in flags.All)
            {
                cmd.Options.Add(o);
            }
            cmd.SetAction((pr, ct) => RunAsync(io, flags, pr, p.Name, ct));
            phase.Subcommands.Add(cmd);
        }
        reset.Subcommands.Add(phase);
        return reset;
    }

    private static async Task<int> RunAsync(CliIo io, Flags f, ParseResult pr, string? selection, CancellationToken ct)
    {
        var dryRun = pr.GetValue(f.DryRun);
        var realHost = io.Env.HostFactory(pr.GetValue(f.Rootfs));
        var host = dryRun ? new DryRunHost(realHost) : realHost;
        var profile = await ResetWorkflow.DetectProfileAsync(realHost, ct).ConfigureAwait(false);
        var certDir = pr.GetValue(f.CertDir) ?? NodePaths.DefaultCertDir;
        if (!certDir.StartsWith('/'))
        {
            throw new UserError($"--cert-dir: \"{certDir}\" is not an absolute path; pass e.g. /etc/kubernetes/pki");
        }
        var config = new KubeadmConfig { Version = profile.DefaultVersion, Profile = profile };
        config.Cluster.CertificatesDir = certDir;
        var options = new ResetOptions
        {
            Force = pr.GetValue(f.Force),
            CertDir = certDir,
            CleanupTmpDir = pr.GetValue(f.CleanupTmpDir),
            IgnorePreflightErrors = InitFlagSet.Split(pr.GetValue(f.IgnorePreflightErrors)),
            ReadLine = io.Env.ReadLine,
        };
        var ctx = io.Context(config, host, dryRun);
        var runner = new WorkflowRunner(ResetWorkflow.Phases(options));
        var skip = InitFlagSet.Split(pr.GetValue(f.SkipPhases));
        var unknown = runner.UnknownPhases(skip);
        if (unknown.Count > 0)
        {
            throw new UserError($"--skip-phases: unknown phase \"{unknown[0]}\"; valid phases are preflight, remove-etcd-member, cleanup-node");
        }
        var backup = await ResetWorkflow.BackupAsync(ctx, ct).ConfigureAwait(false);
        await runner.RunAsync(ctx, selection, skip, ct).ConfigureAwait(false);
        if (selection is null)
        {
            if (backup is null && ResetWorkflow.Removed(ctx) == 0)
            {
                io.Ui.Info("reset", "Nothing to remove: this node holds no files of kubeadm init or join");
            }
            io.Out.Write(ResetWorkflow.ManualCleanupNotes(profile));
        }
        if (host is DryRunHost dry)
        {
            DryRunReport.Print(io, dry);
        }
        return 0;
    }
}
