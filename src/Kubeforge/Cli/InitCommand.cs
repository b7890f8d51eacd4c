using System.CommandLine;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Cli;

/// <summary>InitFlagSet holds the kubeadm init flags; one instance is attached to "init" and to every
/// generated "init phase ..." command.</summary>
public sealed class InitFlagSet
{
    public Option<string?> Config { get; } = new("--config") { Description = "Path to a kubeadm configuration file (InitConfiguration, ClusterConfiguration, KubeletConfiguration, KubeProxyConfiguration)" };
    public Option<string?> KubernetesVersion { get; } = new("--kubernetes-version") { Description = $"Kubernetes version for the control plane ({VersionTable.SupportedRange}; default {VersionTable.Newest.DefaultVersion})" };
    public Option<string?> ImageRepository { get; } = new("--image-repository") { Description = "Container registry to pull control plane images from (e.g. registry.aliyuncs.com/google_containers)" };
    public Option<string?> PodNetworkCidr { get; } = new("--pod-network-cidr") { Description = "IP address range for the pod network (e.g. 10.244.0.0/16 for flannel)" };
    public Option<string?> ServiceCidr { get; } = new("--service-cidr") { Description = "IP address range for service VIPs (default 10.96.0.0/12)" };
    public Option<string?> ServiceDnsDomain { get; } = new("--service-dns-domain") { Description = "DNS domain for services (default cluster.local)" };
    public Option<string?> AdvertiseAddress { get; } = new("--apiserver-advertise-address") { Description = "IP address the API server advertises (default: the address of the default-route interface)" };
    public Option<int?> BindPort { get; } = new("--apiserver-bind-port") { Description = "Port the API server binds to (default 6443)" };
    public Option<string[]> CertExtraSans { get; } = new("--apiserver-cert-extra-sans") { Description = "Extra Subject Alternative Names (IPs or DNS names) for the API server certificate, comma-separated", AllowMultipleArgumentsPerToken = true };
    public Option<string?> ControlPlaneEndpoint { get; } = new("--control-plane-endpoint") { Description = "A stable IP address or DNS name (with optional port) for the control plane, e.g. a VIP" };
    public Option<string?> NodeName { get; } = new("--node-name") { Description = "Node name (default: the host name, lower-cased)" };
    public Option<string?> CertDir { get; } = new("--cert-dir") { Description = "Where certificates are stored (default /etc/kubernetes/pki)" };
    public Option<string[]> SkipPhases { get; } = new("--skip-phases") { Description = "Phases to skip, comma-separated (e.g. addon/kube-proxy)", AllowMultipleArgumentsPerToken = true };
    public Option<string[]> IgnorePreflightErrors { get; } = new("--ignore-preflight-errors") { Description = "Preflight checks whose errors become warnings, comma-separated, or 'all'", AllowMultipleArgumentsPerToken = true };
    public Option<string?> CriSocket { get; } = new("--cri-socket") { Description = "Path to the CRI socket" };
    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Do not change anything; print what would be done" };
    public Option<string?> Rootfs { get; } = new("--rootfs") { Description = "Resolve every host path under this folder (nothing outside it is touched; services are not restarted)" };
    public Option<bool> UploadCerts { get; } = new("--upload-certs") { Description = "Upload control-plane certificates to the kubeadm-certs Secret" };
    public Option<string?> CertificateKey { get; } = new("--certificate-key") { Description = "Key used to encrypt the control-plane certificates in the kubeadm-certs Secret (64 hex characters)" };
    public Option<string?> Token { get; } = new("--token") { Description = "The bootstrap token to use (format [a-z0-9]{6}.[a-z0-9]{16})" };
    public Option<string?> TokenTtl { get; } = new("--token-ttl") { Description = "How long the bootstrap token is valid (e.g. 24h0m0s; 0 = never expires)" };
    public Option<string?> Cni { get; } = new("--cni") { Description = "Pod network addon to install: none (default) or flannel (needs --pod-network-cidr; beyond kubeadm)" };
    public Option<string?> CniBackend { get; } = new("--cni-backend") { Description = "Flannel backend: vxlan (default) or host-gw (all nodes on one L2 network)" };
    public Option<string?> CniIface { get; } = new("--cni-iface") { Description = "Node interface flannel uses between nodes (default: the default-route interface)" };
    public Option<string?> CniImageRepository { get; } = new("--cni-image-repository") { Description = "Registry/organisation to pull the CNI images from instead of the release's (e.g. registry.example.com/flannel)" };

    public IEnumerable<Option> All =>
    [
        Config, KubernetesVersion, ImageRepository, PodNetworkCidr, ServiceCidr, ServiceDnsDomain, AdvertiseAddress, BindPort,
        CertExtraSans, ControlPlaneEndpoint, NodeName, CertDir, SkipPhases, IgnorePreflightErrors, CriSocket, DryRun, Rootfs,
        UploadCerts, CertificateKey, Token, TokenTtl, Cni, CniBackend, CniIface, CniImageRepository,
    ];

    /// <summary>Split flattens comma-separated multi-value flags.</summary>
    public static List<string> Split(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
}

/// <summary>InitCommand builds "init" and its generated "init phase ..." tree.</summary>
public static class InitCommand
{
    public static Command Build(CliIo io)
    {
        var flags = new InitFlagSet();
        var init = new Command("init", "Run this command in order to set up the Kubernetes control plane")
        {
            Description = "Run this command in order to set up the Kubernetes control plane.\n\nThe \"init\" command executes the following phases:\n" + PhaseHelp(),
        };
        foreach (var o in flags.All)
        {
            init.Options.Add(o);
        }
        init.SetAction((pr, ct) => RunAsync(io, flags, pr, selection: null, ct));

        var phase = new Command("phase", "Use this command to invoke single phase of the init workflow");
        foreach (var p in InitWorkflow.Phases(VersionTable.Newest))
        {
            phase.Subcommands.Add(Bind(io, flags, p, p.Name));
        }
        init.Subcommands.Add(phase);
        return init;
    }

    private static Command Bind(CliIo io, InitFlagSet flags, Phase p, string path)
    {
        var cmd = new Command(p.Name, p.Short);
        if (p.Children.Count > 0)
        {
            cmd.Description = p.Short + "\n\nSub-phases:\n" + string.Join("\n", p.Children.Select(c => $"  {c.Name,-28}{c.Short}"));
        }
        foreach (var o in flags.All)
        {
            cmd.Options.Add(o);
        }
        foreach (var c in p.Children)
        {
            cmd.Subcommands.Add(Bind(io, flags, c, path + "/" + c.Name));
        }
        cmd.SetAction((pr, ct) => RunAsync(io, flags, pr, path, ct));
        return cmd;
    }

    private static string PhaseHelp()
    {
        var lines = new List<string>();
        foreach (var pp in new WorkflowRunner(InitWorkflow.Phases(VersionTable.Newest)).Flatten())
        {
            lines.Add(new string(' ', 2 * pp.Depth) + (pp.Depth == 0 ? pp.Phase.Name : "/" + pp.Phase.Name).PadRight(30 - 2 * pp.Depth) + pp.Phase.Short);
        }
        return string.Join("\n", lines);
    }

    private static async Task<int> RunAsync(CliIo io, InitFlagSet flags, ParseResult pr, string? selection, CancellationToken ct)
    {
        var dryRun = pr.GetValue(flags.DryRun);
        var rootfs = pr.GetValue(flags.Rootfs);
        var realHost = io.Env.HostFactory(rootfs);
        var config = await ConfigResolver.ResolveInitAsync(flags, pr, realHost, ct).ConfigureAwait(false);
        var host = dryRun ? new DryRunHost(realHost) : realHost;
        var ctx = io.Context(config, host, dryRun);
        var runner = new WorkflowRunner(InitWorkflow.Phases(config.Profile));
        var skip = InitFlagSet.Split(pr.GetValue(flags.SkipPhases)).Concat(config.Init.SkipPhases).ToList();
        var unknown = runner.UnknownPhases(skip);
        if (unknown.Count > 0)
        {
            throw new UserError($"--skip-phases: unknown phase \"{unknown[0]}\"; valid phases are listed by \"kubeforge init --help\"");
        }
        if (selection is null)
        {
            io.Ui.Info("init", $"Using Kubernetes version: {config.Version}");
        }
        if (rootfs is not null && !realHost.ManagesServices)
        {
            io.Ui.Info("init", $"Using root filesystem \"{rootfs}\": host paths are resolved under it and services are not managed");
        }
        await runner.RunAsync(ctx, selection, skip, ct).ConfigureAwait(false);
        if (host is DryRunHost dry)
        {
            DryRunReport.Print(io, dry);
        }
        return 0;
    }
}
