using System.CommandLine;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>UpCommand is the cluster-level entry point. Without a cluster file it means "a single-node
/// cluster on this machine": prepare this host (kernel modules, sysctls, swap, SELinux, containerd config), then
/// run the init workflow with the built-in defaults (newest Kubernetes, pod network 10.244.0.0/16, flannel).
/// Multi-host cluster files are planned with "kubeforge plan -f"; running them is not in this build yet.</summary>
public static class UpCommand
{
    /// <summary>DefaultPodNetwork is the pod CIDR of the built-in single-node cluster (flannel's default, as in the guide).</summary>
    public const string DefaultPodNetwork = "10.244.0.0/16";

    public static Command Build(CliIo io)
    {
        var file = new Option<string?>("--file", "-f") { Description = "Cluster file describing the hosts (default: a single-node cluster on this machine)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show everything that would be done without changing anything" };
        var ignore = new Option<string[]>("--ignore-preflight-errors") { Description = "init's preflight checks whose errors become warnings, comma-separated, or 'all'", AllowMultipleArgumentsPerToken = true };
        var up = new Command("up", "Create or converge a cluster (default: a single-node cluster on this machine)") { file, dryRun, ignore };
        up.SetAction(pr =>
        {
            if (pr.GetValue(file) is { } f)
            {
                throw new UserError($"--file {f}: running multi-host cluster files is not in this build yet; see the plan with \"kubeforge plan -f {f}\", or run \"kubeforge up\" without -f for a single-node cluster on this machine");
            }
            var dry = pr.GetValue(dryRun) ? new[] { "--dry-run" } : [];
            io.Ui.Info("up", "No cluster file given: creating a single-node cluster on this machine");
            io.Ui.Info("up", "Step 1/2: prepare this host");
            var code = App.Run(["prepare", .. dry], io.Out, io.Err, io.Env);
            if (code != 0)
            {
                return code;
            }
            io.Ui.Info("up", $"Step 2/2: init (pod network {DefaultPodNetwork}, CNI flannel)");
            var ignored = InitFlagSet.Split(pr.GetValue(ignore)).ToList();
            if (dry.Length > 0)
            {
                // a dry run of step 1 changed nothing, so init's checks would still see what step 1 fixes
                io.Ui.Info("up", $"Dry run: init's preflight does not stop on what step 1 fixes ({string.Join(", ", Node.NodePreflight.PrepareFixes)})");
                ignored.AddRange(Node.NodePreflight.PrepareFixes);
            }
            string[] ign = ignored.Count > 0 ? ["--ignore-preflight-errors", string.Join(',', ignored)] : [];
            return App.Run(["init", "--pod-network-cidr", DefaultPodNetwork, "--cni", "flannel", .. dry, .. ign], io.Out, io.Err, io.Env);
        });
        return up;
    }
}
