using System.CommandLine;
using System.Text.Json;
using Kubeforge.Cluster;
using Kubeforge.Node;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>PlanCommand is "kubeforge plan": read the cluster file (or take the built-in single-node cluster) and
/// print the stages "up" would run, per stage and host, without executing anything.</summary>
public static class PlanCommand
{
    /// <summary>Build creates the plan command.</summary>
    public static Command Build(CliIo io)
    {
        var file = new Option<string?>("--file", "-f") { Description = "Cluster file describing the hosts (default: a single-node cluster on this machine)" };
        var output = new Option<string>("--output", "-o") { Description = "Output format: table or json", DefaultValueFactory = _ => "table" };
        var plan = new Command("plan", "Show what \"up\" would do, stage by stage and host by host, without changing anything") { file, output };
        plan.SetAction(pr =>
        {
            var format = pr.GetValue(output);
            if (format is not ("table" or "json"))
            {
                throw new UserError($"--output: \"{format}\" is not a format; use table or json");
            }
            var cluster = Read(pr.GetValue(file));
            var stages = ClusterPlan.Build(cluster);
            foreach (var w in cluster.Warnings)
            {
                io.Err.WriteLine($"warning: {w}");
            }
            if (format == "json")
            {
                io.Out.WriteLine(ClusterPlan.ToJson(cluster, stages).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            io.Out.Write(ClusterPlan.ToTable(cluster, stages));
            return 0;
        });
        return plan;
    }

    /// <summary>Read loads the cluster file at path, or the built-in single-node cluster when path is null.</summary>
    public static ClusterFile Read(string? path)
    {
        if (path is null)
        {
            return ClusterFile.Default(NodeIdentity.Detect());
        }
        if (!File.Exists(path))
        {
            throw new UserError($"--file: cluster file \"{path}\" does not exist; write one (kubeforge config print cluster > cluster.yaml) or omit -f for a single-node cluster on this machine");
        }
        var file = ClusterFile.Parse(File.ReadAllText(path), path);
        file.LoadKeys(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return file;
    }
}
