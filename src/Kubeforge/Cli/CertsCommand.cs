using System.CommandLine;
using Kubeforge.Config;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.Cli;

/// <summary>CertsCommand builds "certs check-expiration", "certs renew NAME|all" and "certs certificate-key".</summary>
public static class CertsCommand
{
    public static Command Build(CliIo io)
    {
        var certs = new Command("certs", "Commands related to handling kubernetes certificates");

        var keyCmd = new Command("certificate-key", "Generate certificate keys (for upload-certs / join --control-plane)");
        keyCmd.SetAction(_ =>
        {
            io.Out.WriteLine(CertificateKey.Generate());
            return 0;
        });
        certs.Subcommands.Add(keyCmd);

        var check = new Command("check-expiration", "Check certificates expiration for a Kubernetes cluster");
        var checkOpts = new NodeOptions(check);
        check.SetAction(async (pr, ct) =>
        {
            var ctx = checkOpts.Context(io, pr);
            io.Out.Write(await CertsCommands.CheckExpirationAsync(ctx, ct).ConfigureAwait(false));
            return 0;
        });
        certs.Subcommands.Add(check);

        var renew = new Command("renew", "Renew certificates for a Kubernetes cluster");
        foreach (var name in CertsCommands.Names.Prepend("all"))
        {
            var cmd = new Command(name, name == "all" ? "Renew all available certificates" : $"Renew the certificate {name}");
            var opts = new NodeOptions(cmd);
            cmd.SetAction(async (pr, ct) =>
            {
                var ctx = opts.Context(io, pr);
                await CertsCommands.RenewAsync(ctx, name, ct).ConfigureAwait(false);
                return 0;
            });
            renew.Subcommands.Add(cmd);
        }
        certs.Subcommands.Add(renew);
        return certs;
    }

    /// <summary>NodeOptions are the options that locate a node's files: --config, --cert-dir, --kubernetes-version, --rootfs.</summary>
    private sealed class NodeOptions
    {
        private readonly Option<string?> _config = new("--config") { Description = "Path to a kubeadm configuration file" };
        private readonly Option<string?> _certDir = new("--cert-dir") { Description = "Where certificates are stored (default /etc/kubernetes/pki)" };
        private readonly Option<string?> _version = new("--kubernetes-version") { Description = "Kubernetes version of the cluster (decides subjects and validity rules)" };
        private readonly Option<string?> _rootfs = new("--rootfs") { Description = "Resolve every host path under this folder" };

        public NodeOptions(Command cmd)
        {
            cmd.Options.Add(_config);
            cmd.Options.Add(_certDir);
            cmd.Options.Add(_version);
            cmd.Options.Add(_rootfs);
        }

        public PhaseContext Context(CliIo io, ParseResult pr)
        {
            var path = pr.GetValue(_config);
            var flags = path is null
                ? new InitFlags { KubernetesVersion = pr.GetValue(_version), CertDir = pr.GetValue(_certDir) }
                : new InitFlags();
            var cfg = KubeadmConfigLoader.Load(ConfigResolver.ReadConfigFile(path), path ?? "flags", flags, NodeIdentity.Detect());
            return io.Context(cfg, io.Env.HostFactory(pr.GetValue(_rootfs)));
        }
    }
}
