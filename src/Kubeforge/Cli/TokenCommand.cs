using System.CommandLine;
using Kubeforge.ClusterObjects;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Tokens;

namespace Kubeforge.Cli;

/// <summary>TokenCommand builds "token create|list|delete|generate" (kubeadm's cmd/token.go).</summary>
public static class TokenCommand
{
    /// <summary>Build creates the "token" command tree; --kubeconfig, --rootfs and --dry-run apply to every sub-command.</summary>
    public static Command Build(CliIo io)
    {
        var kubeconfig = new Option<string>("--kubeconfig") { Description = "The kubeconfig file to use when talking to the cluster", DefaultValueFactory = _ => NodePaths.KubeConfig("admin.conf"), Recursive = true };
        var rootfs = new Option<string?>("--rootfs") { Description = "Resolve the kubeconfig path under this folder", Recursive = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Whether to enable dry-run mode or not", Recursive = true };
        var token = new Command("token", "Manage bootstrap tokens") { kubeconfig, rootfs, dryRun };

        var ttl = new Option<string>("--ttl") { Description = "The duration before the token is automatically deleted (e.g. 1s, 2m, 3h). If set to '0', the token will never expire", DefaultValueFactory = _ => "24h0m0s" };
        var usages = new Option<string[]>("--usages") { Description = "Describes the ways in which this token can be used (signing, authentication), comma-separated", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["signing", "authentication"] };
        var groups = new Option<string[]>("--groups") { Description = "Extra groups that this token will authenticate as when used for authentication. Must match \"\\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\\z\"", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [K8sObjects.BootstrapGroup] };
        var description = new Option<string?>("--description") { Description = "A human friendly description of how this token is used" };
        var printJoin = new Option<bool>("--print-join-command") { Description = "Instead of printing only the token, print the full 'kubeadm join' flag needed to join the cluster using the token" };
        var certKey = new Option<string?>("--certificate-key") { Description = "When used together with '--print-join-command', print the full 'kubeadm join' flag needed to join the cluster as a control-plane" };
        var tokenArg = new Argument<string?>("token") { Description = "The token to write ([a-z0-9]{6}.[a-z0-9]{16}); generated when omitted", Arity = ArgumentArity.ZeroOrOne };
        var create = new Command("create", "Create bootstrap tokens on the server") { tokenArg, ttl, usages, groups, description, printJoin, certKey };
        create.SetAction(async (pr, ct) =>
        {
            var spec = TokenOps.BuildSpec(pr.GetValue(tokenArg), pr.GetValue(ttl), pr.GetValue(usages), pr.GetValue(groups), pr.GetValue(description));
            var key = pr.GetValue(certKey);
            if (!string.IsNullOrEmpty(key) && (key.Length != 64 || !key.All(char.IsAsciiHexDigit)))
            {
                throw new UserError("--certificate-key must be 64 hex characters (the key printed by \"kubeforge init phase upload-certs --upload-certs\")");
            }
            var (host, path) = KubeconfigLocation(io, pr.GetValue(rootfs), pr.GetValue(kubeconfig)!);
            var bytes = await ReadKubeconfigAsync(host, path, pr.GetValue(dryRun), ct);
            var api = Api(io, bytes, pr.GetValue(dryRun));
            var t = await TokenOps.CreateAsync(api, spec, io.Env.Time.GetUtcNow(), ct);
            io.Out.WriteLine(pr.GetValue(printJoin)
                ? TokenOps.JoinCommandLine(bytes ?? throw new UserError($"{path} does not exist; --print-join-command needs the cluster's kubeconfig"), path, t.ToString(), key)
                : t.ToString());
            return 0;
        });

        var list = new Command("list", "List bootstrap tokens on the server");
        list.SetAction(async (pr, ct) =>
        {
            var (host, path) = KubeconfigLocation(io, pr.GetValue(rootfs), pr.GetValue(kubeconfig)!);
            var api = Api(io, await ReadKubeconfigAsync(host, path, pr.GetValue(dryRun), ct), pr.GetValue(dryRun));
            var tokens = await TokenOps.ListAsync(api, io.Err.WriteLine, ct);
            io.Out.Write(JoinCommand.TokenTable(tokens, io.Env.Time.GetUtcNow()));
            return 0;
        });

        var ids = new Argument<string[]>("token-value") { Description = "Token ids ([a-z0-9]{6}) or whole tokens to delete", Arity = ArgumentArity.ZeroOrMore };
        var delete = new Command("delete", "Delete bootstrap tokens on the server") { ids };
        delete.SetAction(async (pr, ct) =>
        {
            var values = pr.GetValue(ids) ?? [];
            if (values.Length == 0)
            {
                throw new UserError("missing subcommand; 'token delete' is missing token of form \"[a-z0-9]{6}\"; pass a token id (see \"kubeforge token list\")");
            }
            var (host, path) = KubeconfigLocation(io, pr.GetValue(rootfs), pr.GetValue(kubeconfig)!);
            var api = Api(io, await ReadKubeconfigAsync(host, path, pr.GetValue(dryRun), ct), pr.GetValue(dryRun));
            await TokenOps.DeleteAsync(api, values, io.Out.WriteLine, ct);
            return 0;
        });

        var generate = new Command("generate", "Generate and print a bootstrap token, but do not create it on the server");
        generate.SetAction(_ =>
        {
            io.Out.WriteLine(BootstrapToken.Generate().ToString());
            return 0;
        });
        token.Subcommands.Add(create);
        token.Subcommands.Add(generate);
        token.Subcommands.Add(list);
        token.Subcommands.Add(delete);
        return token;
    }

    private static (IHost Host, string Path) KubeconfigLocation(CliIo io, string? rootfs, string path) =>
        (io.Env.HostFactory(rootfs), path.StartsWith('/') ? path : Path.GetFullPath(path));

    private static async Task<byte[]?> ReadKubeconfigAsync(IHost host, string path, bool dryRun, CancellationToken ct)
    {
        var bytes = await host.ReadFileAsync(path, ct).ConfigureAwait(false);
        if (bytes is null && !dryRun)
        {
            throw new UserError($"kubeconfig {path} does not exist; pass --kubeconfig with the cluster's admin kubeconfig (default /etc/kubernetes/admin.conf)");
        }
        return bytes;
    }

    private static IKubeApi Api(CliIo io, byte[]? kubeconfig, bool dryRun) =>
        dryRun ? new DryRunKubeApi(io.Ui) : HttpKubeApi.FromKubeConfig(kubeconfig!);
}
