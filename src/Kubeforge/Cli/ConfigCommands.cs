using System.CommandLine;
using Kubeforge.Config;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Cli;

/// <summary>ConfigCommands builds "config print init-defaults", "config print cluster" and "config images list".</summary>
public static class ConfigCommands
{
    public static Command Build(CliIo io)
    {
        var config = new Command("config", "Manage configuration for a kubeadm-compatible cluster");

        var print = new Command("print", "Print configuration");
        var version = new Option<string?>("--kubernetes-version") { Description = "Kubernetes version the defaults are for" };
        var initDefaults = new Command("init-defaults", "Print default init configuration, that can be used for 'kubeforge init'") { version };
        initDefaults.SetAction(pr =>
        {
            var profile = Profile(pr.GetValue(version));
            io.Out.Write(KubeadmConfigWriter.InitDefaults(profile));
            return 0;
        });
        print.Subcommands.Add(initDefaults);
        var cluster = new Command("cluster", "Print a commented example cluster file for 'kubeforge up -f' / 'kubeforge plan -f'");
        cluster.SetAction(_ =>
        {
            io.Out.Write(Cluster.ClusterExample.Text.ReplaceLineEndings("\n") + "\n");
            return 0;
        });
        print.Subcommands.Add(cluster);
        config.Subcommands.Add(print);

        var images = new Command("images", "Interact with container images used by Kubernetes");
        var cfgFile = new Option<string?>("--config") { Description = "Path to a kubeadm configuration file" };
        var kv = new Option<string?>("--kubernetes-version") { Description = "Kubernetes version (default: the newest supported)" };
        var repo = new Option<string?>("--image-repository") { Description = "Container registry to pull control plane images from" };
        var list = new Command("list", "Print a list of images kubeadm will use") { cfgFile, kv, repo };
        list.SetAction(pr =>
        {
            var text = ConfigResolver.ReadConfigFile(pr.GetValue(cfgFile));
            var flags = new InitFlags { KubernetesVersion = pr.GetValue(kv), ImageRepository = pr.GetValue(repo) };
            var cfg = KubeadmConfigLoader.Load(text, pr.GetValue(cfgFile) ?? "flags", flags, NodeIdentity.Detect());
            foreach (var image in ImageList.For(cfg))
            {
                io.Out.WriteLine(image);
            }
            return 0;
        });
        images.Subcommands.Add(list);
        images.Subcommands.Add(ImagesCommands.BuildPull(io));
        config.Subcommands.Add(images);
        return config;
    }

    private static VersionProfile Profile(string? version)
    {
        if (version is null)
        {
            return VersionTable.Newest;
        }
        if (!KubeVersion.TryParse(version, out var v) || !VersionTable.TryGet(v, out var p))
        {
            throw new UserError($"--kubernetes-version: \"{version}\" is not a supported version; use one from {VersionTable.SupportedRange}, e.g. v1.22.3");
        }
        return p;
    }
}
