using System.CommandLine;
using System.Reflection;
using Kubeforge.Versions;

namespace Kubeforge.Cli;

/// <summary>VersionCommand prints the Kubeforge version and the Kubernetes range it supports.</summary>
public static class VersionCommand
{
    public static string Version =>
        typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static Command Build(CliIo io)
    {
        var output = new Option<string>("--output", "-o") { Description = "Output format: short or text" };
        var cmd = new Command("version", "Print the version of Kubeforge") { output };
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(output) == "short")
            {
                io.Out.WriteLine($"v{Version}");
            }
            else
            {
                io.Out.WriteLine($"kubeforge version: v{Version} (Kubernetes {VersionTable.SupportedRange}, default {VersionTable.Newest.DefaultVersion})");
            }
            return 0;
        });
        return cmd;
    }
}
