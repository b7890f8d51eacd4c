using System.CommandLine;
using Kubeforge.ClusterObjects;
using Kubeforge.Config;
using Kubeforge.Discovery;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Cli;

/// <summary>JoinFlagSet holds the kubeadm join flags; one instance is attached to "join" and every "join phase ..." command.</summary>
public sealed class JoinFlagSet
{
    public Argument<string?> Endpoint { get; } = new("api-server-endpoint") { Description = "host:port of the API server (token discovery)", Arity = ArgumentArity.ZeroOrOne };
    public Option<string?> Token { get; } = new("--token") { Description = "Use this token for both discovery-token and tls-bootstrap-token when those values are not provided" };
    public Option<string?> DiscoveryToken { get; } = new("--discovery-token") { Description = "For token-based discovery, the token used to validate cluster information fetched from the API server" };
    public Option<string?> TlsBootstrapToken { get; } = new("--tls-bootstrap-token") { Description = "The token used to temporarily authenticate with the control plane while joining the node" };
    public Option<string[]> CaCertHashes { get; } = new("--discovery-token-ca-cert-hash") { Description = "For token-based discovery, validate that the root CA public key matches this hash (format: \"<type>:<value>\"); repeatable", AllowMultipleArgumentsPerToken = false };
    public Option<bool> UnsafeSkipCa { get; } = new("--discovery-token-unsafe-skip-ca-verification") { Description = "For token-based discovery, allow joining without --discovery-token-ca-cert-hash pinning" };
    public Option<string?> DiscoveryFile { get; } = new("--discovery-file") { Description = "For file-based discovery, a kubeconfig file from which to load cluster information" };
    public Option<string?> NodeName { get; } = new("--node-name") { Description = "Specify the node name" };
    public Option<string?> CriSocket { get; } = new("--cri-socket") { Description = "Path to the CRI socket to connect" };
    public Option<bool> ControlPlane { get; } = new("--control-plane") { Description = "Create a new control plane instance on this node" };
    public Option<string?> CertificateKey { get; } = new("--certificate-key") { Description = "Use this key to decrypt the certificate secrets uploaded by init (64 hex characters)" };
    public Option<string?> AdvertiseAddress { get; } = new("--apiserver-advertise-address") { Description = "If the node should host a new control plane instance, the IP address the API server will advertise" };
    public Option<int?> BindPort { get; } = new("--apiserver-bind-port") { Description = "If the node should host a new control plane instance, the port for the API server to bind to (default 6443)" };
    public Option<string?> Config { get; } = new("--config") { Description = "Path to a kubeadm configuration file (JoinConfiguration)" };
    public Option<string[]> IgnorePreflightErrors { get; } = new("--ignore-preflight-errors") { Description = "Checks whose errors become warnings, comma-separated, or 'all'", AllowMultipleArgumentsPerToken = true };
    public Option<string[]> SkipPhases { get; } = new("--skip-phases") { Description = "Phases to skip, comma-separated", AllowMultipleArgumentsPerToken = true };
    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Do not change anything; print what would be done" };
    public Option<string?> Rootfs { get; } = new("--rootfs") { Description = "Resolve every host path under this folder (services are not managed)" };

    public IEnumerable<Option> All =>
    [
        Token, DiscoveryToken, TlsBootstrapToken, CaCertHashes, UnsafeSkipCa, DiscoveryFile, NodeName, CriSocket, ControlPlane,
        CertificateKey, AdvertiseAddress, BindPort, Config, IgnorePreflightErrors, SkipPhases, DryRun, Rootfs,
    ];
}

/// <summary>JoinCli builds "join" and its generated "join phase ..." tree (same binder as init).</summary>
public static class JoinCli
{
    /// <summary>Build creates the join command.</summary>
    public static Command Build(CliIo io)
    {
        var flags = new JoinFlagSet();
        var join = new Command("join", "Run this on any machine you wish to join an existing cluster")
        {
            Description = "Run this on any machine you wish to join an existing cluster.\n\nThe \"join\" command executes the following phases:\n" + PhaseHelp(),
        };
        Attach(join, flags);
        join.SetAction((pr, ct) => RunAsync(io, flags, pr, null, ct));
        var phase = new Command("phase", "Use this command to invoke single phase of the join workflow");
        foreach (var p in JoinWorkflow.Phases(VersionTable.Newest))
        {
            phase.Subcommands.Add(Bind(io, flags, p, p.Name));
        }
        join.Subcommands.Add(phase);
        return join;
    }

    private static void Attach(Command cmd, JoinFlagSet flags)
    {
        cmd.Arguments.Add(flags.Endpoint);
        foreach (var o in flags.All)
        {
            cmd.Options.Add(o);
        }
    }

    private static Command Bind(CliIo io, JoinFlagSet flags, Phase p, string path)
    {
        var cmd = new Command(p.Name, p.Short);
        if (p.Children.Count > 0)
        {
            cmd.Description = p.Short + "\n\nSub-phases:\n" + string.Join("\n", p.Children.Select(c => $"  {c.Name,-28}{c.Short}"));
        }
        Attach(cmd, flags);
        foreach (var c in p.Children)
        {
            cmd.Subcommands.Add(Bind(io, flags, c, path + "/" + c.Name));
        }
        cmd.SetAction((pr, ct) => RunAsync(io, flags, pr, path, ct));
        return cmd;
    }

    private static string PhaseHelp() => string.Join("\n", new WorkflowRunner(JoinWorkflow.Phases(VersionTable.Newest)).Flatten()
        .Select(pp => new string(' ', 2 * pp.Depth) + (pp.Depth == 0 ? pp.Phase.Name : "/" + pp.Phase.Name).PadRight(30 - 2 * pp.Depth) + pp.Phase.Short));

    private static async Task<int> RunAsync(CliIo io, JoinFlagSet f, ParseResult pr, string? selection, CancellationToken ct)
    {
        var rootfs = pr.GetValue(f.Rootfs);
        var dryRun = pr.GetValue(f.DryRun);
        var realHost = io.Env.HostFactory(rootfs);
        var configPath = pr.GetValue(f.Config);
        var join = JoinConfigurationLoader.Load(ConfigResolver.ReadConfigFile(configPath), configPath ?? "flags", new JoinFlags
        {
            ApiServerEndpoint = pr.GetValue(f.Endpoint),
            Token = pr.GetValue(f.Token),
            DiscoveryToken = pr.GetValue(f.DiscoveryToken),
            TlsBootstrapToken = pr.GetValue(f.TlsBootstrapToken),
            CaCertHashes = InitFlagSet.Split(pr.GetValue(f.CaCertHashes)),
            UnsafeSkipCaVerification = pr.GetValue(f.UnsafeSkipCa),
            DiscoveryFile = pr.GetValue(f.DiscoveryFile),
            NodeName = pr.GetValue(f.NodeName),
            CriSocket = pr.GetValue(f.CriSocket),
            ControlPlane = pr.GetValue(f.ControlPlane),
            CertificateKey = pr.GetValue(f.CertificateKey),
            AdvertiseAddress = pr.GetValue(f.AdvertiseAddress),
            BindPort = pr.GetValue(f.BindPort),
            IgnorePreflightErrors = InitFlagSet.Split(pr.GetValue(f.IgnorePreflightErrors)),
            SkipPhases = InitFlagSet.Split(pr.GetValue(f.SkipPhases)),
            DryRun = dryRun,
        });
        if (io.Env.DiscoveryTimeout is { } dt) join.DiscoveryTimeout = dt;
        if (io.Env.TlsBootstrapTimeout is { } tt) join.TlsBootstrapTimeout = tt;

        var probe = new WorkflowRunner(JoinWorkflow.Phases(VersionTable.Newest));
        var skip = join.SkipPhases;
        var unknown = probe.UnknownPhases(skip);
        if (unknown.Count > 0)
        {
            throw new UserError($"--skip-phases: unknown phase \"{unknown[0]}\"; valid phases are listed by \"kubeforge join --help\"");
        }
        if (rootfs is not null && !realHost.ManagesServices)
        {
            io.Ui.Info("join", $"Using root filesystem \"{rootfs}\": host paths are resolved under it and services are not managed");
        }
        var runsPreflight = (selection is null || selection.Trim('/') == "preflight") && !skip.Contains("preflight");
        if (runsPreflight)
        {
            await JoinPreflight.RunAsync(join, realHost, io.Ui, dryRun, ct, time: io.Env.Time).ConfigureAwait(false);
        }
        var options = new DiscoveryOptions(join.DiscoveryTimeout, io.Env.DiscoveryRetryInterval, io.Env.Time);
        var (config, data) = await JoinPreparation.PrepareAsync(join, realHost, io.Ui, options, NodeIdentity.Detect(),
            bytes => HttpKubeApi.FromKubeConfig(bytes), ct).ConfigureAwait(false);

        var undo = new UndoHost(realHost);
        IHost host = dryRun ? new DryRunHost(realHost) : undo;
        var ctx = io.Context(config, host, dryRun);
        ctx.Bag[JoinWorkflow.DataKey] = data;
        if (runsPreflight)
        {
            ctx.Bag[JoinWorkflow.PreflightDoneKey] = true;
        }
        try
        {
            await new WorkflowRunner(JoinWorkflow.Phases(config.Profile)).RunAsync(ctx, selection, skip, ct).ConfigureAwait(false);
        }
        catch when (undo.Changed)
        {
            io.Ui.Info("join", "Removing the files this run wrote");
            await undo.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        if (host is DryRunHost dry)
        {
            DryRunReport.Print(io, dry);
        }
        else if (selection is null)
        {
            io.Ui.Raw(JoinWorkflow.Summary(data.ControlPlane, config.LocalEtcd));
        }
        return 0;
    }
}
