using System.CommandLine;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>ImagesCommands builds "images check" (ask the registry before installing) and "config images pull" (pull on a host).</summary>
public static class ImagesCommands
{
    private static (Option<string?> Cfg, Option<string?> Kv, Option<string?> Repo) PlanOptions() => (
        new Option<string?>("--config") { Description = "Path to a kubeadm configuration file" },
        new Option<string?>("--kubernetes-version") { Description = "Kubernetes version (default: the newest supported)" },
        new Option<string?>("--image-repository") { Description = "Container registry to pull control plane images from" });

    private static IReadOnlyList<string> Plan(ParseResult pr, Option<string?> cfg, Option<string?> kv, Option<string?> repo)
    {
        var text = ConfigResolver.ReadConfigFile(pr.GetValue(cfg));
        var flags = new InitFlags { KubernetesVersion = pr.GetValue(kv), ImageRepository = pr.GetValue(repo) };
        var config = KubeadmConfigLoader.Load(text, pr.GetValue(cfg) ?? "flags", flags, new NodeIdentity("node", "10.0.0.1"));
        return ImageList.For(config);
    }

    /// <summary>BuildCheck returns "images" with its "check" subcommand.</summary>
    public static Command BuildCheck(CliIo io)
    {
        var (cfg, kv, repo) = PlanOptions();
        var ca = new Option<string?>("--ca-file") { Description = "PEM CA file to trust for the registry (e.g. the mirror CA of `kubeforge ca create`)" };
        var user = new Option<string?>("--username") { Description = "Registry user (basic auth, also for token requests)" };
        var pwFile = new Option<string?>("--password-file") { Description = "File holding the registry password" };
        var plain = new Option<bool>("--plain-http") { Description = "Talk HTTP instead of HTTPS (lab registries only)" };
        var extra = new Option<string[]>("--image") { Description = "More images to check (e.g. the CNI's)", AllowMultipleArgumentsPerToken = true };
        var check = new Command("check", "Ask the registry whether every image of the plan exists, before installing anything") { cfg, kv, repo, ca, user, pwFile, plain, extra };
        check.SetAction(async (pr, ct) =>
        {
            var images = Plan(pr, cfg, kv, repo).Concat(pr.GetValue(extra) ?? []).ToList();
            string? password = null;
            if (pr.GetValue(pwFile) is { } pf)
            {
                password = File.Exists(pf) ? File.ReadAllText(pf).TrimEnd('\r', '\n') : throw new UserError($"--password-file: {pf} does not exist");
            }
            using var client = new RegistryClient(new RegistryClientOptions
            {
                CaFile = pr.GetValue(ca), Username = pr.GetValue(user), Password = password, PlainHttp = pr.GetValue(plain),
            });
            var results = await client.CheckAllAsync(images, ct).ConfigureAwait(false);
            foreach (var r in results)
            {
                io.Out.WriteLine($"{(r.Exists ? "OK     " : "MISSING")} {r.Image}{(r.Exists ? "" : "  (" + r.Detail + ")")}");
            }
            var missing = results.Where(r => !r.Exists).ToList();
            if (missing.Count > 0)
            {
                throw new UserError($"{missing.Count} of {results.Count} images are not available: {string.Join(", ", missing.Select(m => m.Image))}; " +
                    "sync them to the registry or choose another --image-repository");
            }
            io.Ui.Info("images", $"all {results.Count} images exist");
            return 0;
        });
        var images = new Command("images", "Check container images of a plan against their registry");
        images.Subcommands.Add(check);
        return images;
    }

    /// <summary>BuildPull returns "pull" for "config images": pulls the plan's images into containerd on a host.</summary>
    public static Command BuildPull(CliIo io)
    {
        var (cfg, kv, repo) = PlanOptions();
        var hostOpts = new HostOptions();
        var pull = new Command("pull", "Pull images used by kubeadm into containerd (namespace k8s.io) on a host") { cfg, kv, repo };
        hostOpts.AddTo(pull);
        pull.SetAction(async (pr, ct) =>
        {
            var images = Plan(pr, cfg, kv, repo);
            var real = hostOpts.BuildReal(pr, io);
            try
            {
                var host = hostOpts.Wrap(pr, real);
                await ImagePull.PullAllAsync(host, images, io.Ui, ct).ConfigureAwait(false);
                if (host is DryRunHost dry)
                {
                    await HostOptions.PrintDryRunAsync(io, dry, ct).ConfigureAwait(false);
                }
                return 0;
            }
            finally
            {
                (real as IDisposable)?.Dispose();
            }
        });
        return pull;
    }
}
