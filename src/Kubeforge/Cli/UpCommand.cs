using System.CommandLine;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>UpCommand is the cluster-level entry point. Without a cluster file it means "a single-node
/// cluster on this machine": the init workflow on the local host with the built-in defaults.</summary>
public static class UpCommand
{
    public static Command Build(CliIo io)
    {
        var file = new Option<string?>("--file", "-f") { Description = "Cluster file describing the hosts (default: a single-node cluster on this machine)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show everything that would be done without changing anything" };
        var up = new Command("up", "Create or converge a cluster (default: a single-node cluster on this machine)") { file, dryRun };
        up.SetAction(pr =>
        {
            if (pr.GetValue(file) is { } f)
            {
                throw new UserError($"--file {f}: multi-host cluster files are not supported by this build yet; run \"kubeforge up\" without -f for a single-node cluster on this machine");
            }
            var args = new List<string> { "init" };
            if (pr.GetValue(dryRun))
            {
                args.Add("--dry-run");
            }
            io.Ui.Info("up", "No cluster file given: creating a single-node cluster on this machine");
            return App.Run(args.ToArray(), io.Out, io.Err, io.Env);
        });
        return up;
    }
}
