using Kubeforge.ClusterObjects;
using Kubeforge.Config;
using Kubeforge.ControlPlane;
using Kubeforge.Discovery;
using Kubeforge.Hosts;
using Kubeforge.KubeConfig;
using Kubeforge.Kubelet;
using Kubeforge.Node;
using Kubeforge.Pki;
using Kubeforge.Versions;

namespace Kubeforge.Phases;

/// <summary>JoinWorkflow is the phase tree of "kubeforge join" (kubeadm's cmd/phases/join, spec §1.2): preflight,
/// control-plane-prepare {download-certs, certs, kubeconfig, control-plane}, kubelet-start, control-plane-join
/// {etcd, update-status, mark-control-plane}. The phases read <see cref="JoinData"/> from the context's Bag.</summary>
public static class JoinWorkflow
{
    /// <summary>DataKey is the Bag key of the <see cref="JoinData"/> of the run.</summary>
    public const string DataKey = "join";

    /// <summary>PreflightDoneKey marks that the CLI already ran the checks before discovery.</summary>
    public const string PreflightDoneKey = "join-preflight-done";

    /// <summary>Data returns the run's JoinData.</summary>
    public static JoinData Data(PhaseContext ctx) => (JoinData)ctx.Bag[DataKey];

    /// <summary>Phases returns the join phases (the same tree for every release; version differences live in the profile).</summary>
    public static IReadOnlyList<Phase> Phases(VersionProfile profile)
    {
        _ = profile;
        var preflight = new Phase("preflight", "Run join pre-flight checks")
        {
            Run = (ctx, ct) => ctx.Bag.ContainsKey(PreflightDoneKey) ? Task.CompletedTask : JoinPreflight.RunAsync(Data(ctx).Join, ctx.Host, ctx.Ui, ctx.DryRun, ct, ctx.Config.Profile, ctx.Time),
        };
        var prepare = new Phase("control-plane-prepare", "Prepare the machine for serving a control plane")
        {
            RunIf = ctx => Data(ctx).ControlPlane,
            Children =
            [
                Phase.All("control-plane-prepare"),
                new Phase("download-certs", "Download certificates shared among control-plane nodes from the kubeadm-certs Secret")
                {
                    Run = (ctx, ct) => DownloadCertsAsync(ctx, ct),
                },
                new Phase("certs", "Generate the certificates for the new control plane components")
                {
                    Run = (ctx, ct) => CertsPhase.RunAsync(ctx, null, ct),
                },
                new Phase("kubeconfig", "Generate the kubeconfig for the new control plane components")
                {
                    Run = async (ctx, ct) =>
                    {
                        foreach (var name in JoinKubeconfigs)
                        {
                            await KubeConfigPhase.RunAsync(ctx, name, ct).ConfigureAwait(false);
                        }
                    },
                },
                new Phase("control-plane", "Generate the manifests for the new control plane components")
                {
                    Run = (ctx, ct) => ControlPlanePhase.RunAsync(ctx, null, ct),
                },
            ],
        };
        var kubeletStart = new Phase("kubelet-start", "Write kubelet settings, certificates and (re)start the kubelet")
        {
            Run = (ctx, ct) => KubeletJoinPhase.RunAsync(ctx, Data(ctx), ct),
        };
        var join = new Phase("control-plane-join", "Join a machine as a control plane instance")
        {
            RunIf = ctx => Data(ctx).ControlPlane,
            Children =
            [
                Phase.All("control-plane-join"),
                new Phase("etcd", "Add a new local etcd member")
                {
                    Run = async (ctx, ct) =>
                    {
                        if (ctx.DryRun)
                        {
                            ctx.Ui.Info("etcd", $"Would add etcd member https://{AltNames.JoinHostPort(ctx.Config.AdvertiseAddress, 2380)}{(ctx.Config.Profile.EtcdLearnerJoin ? " as learner" : "")} and write {NodePaths.Manifest("etcd")} with --initial-cluster-state=existing");
                            return;
                        }
                        var endpoints = await EtcdJoinPhase.EndpointsAsync(await ctx.ApiAsync("admin.conf", ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                        await EtcdJoinPhase.RunAsync(ctx, endpoints, ctx.Config.Init.Timeouts.EtcdApiCall, TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                    },
                    RunIf = ctx => ctx.Config.LocalEtcd,
                },
                new Phase("update-status", "Register the new control-plane node into the ClusterStatus maintained in the kubeadm-config ConfigMap (DEPRECATED)")
                {
                    Run = (ctx, _) => Task.CompletedTask,
                },
                new Phase("mark-control-plane", "Mark a node as a control-plane")
                {
                    Run = async (ctx, ct) => await MarkControlPlanePhase.RunAsync(ctx, await ctx.ApiAsync("admin.conf", ct).ConfigureAwait(false), ct).ConfigureAwait(false),
                },
            ],
        };
        return [preflight, prepare, kubeletStart, join];
    }

    /// <summary>JoinKubeconfigs are the kubeconfigs a joining control-plane node writes (never kubelet.conf or super-admin.conf).</summary>
    public static readonly IReadOnlyList<string> JoinKubeconfigs = ["admin", "controller-manager", "scheduler"];

    private static async Task DownloadCertsAsync(PhaseContext ctx, CancellationToken ct)
    {
        var certs = Data(ctx).Certs;
        if (certs is null)
        {
            ctx.Ui.Info("download-certs", "Skipping: no --certificate-key given; the shared certificates must already be in place");
            return;
        }
        ctx.Ui.Info("download-certs", $"Downloading the certificates in Secret \"{UploadCerts.SecretName}\" in the \"kube-system\" Namespace");
        foreach (var (path, content) in certs)
        {
            var mode = path.EndsWith(".key", StringComparison.Ordinal) ? FileModes.Private : FileModes.Public;
            await ctx.Host.WriteIfChangedAsync(path, content, mode, FileModes.Dir, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Summary is what join prints at the end (kubeadm's joinWorkerNodeDoneMsg / joinControPlaneDoneTemp).</summary>
    public static string Summary(bool controlPlane, bool etcd) => controlPlane
        ? "\nThis node has joined the cluster and a new control plane instance was created:\n\n" +
          "* Certificate signing request was sent to apiserver and approval was received.\n" +
          "* The Kubelet was informed of the new secure connection details.\n" +
          "* Control plane label and taint were applied to the new node.\n" +
          "* The Kubernetes control plane instances scaled up.\n" +
          (etcd ? "* A new etcd member was added to the local/stacked etcd cluster.\n" : "") +
          "\nTo start administering your cluster from this node, you need to run the following as a regular user:\n\n" +
          "\tmkdir -p $HOME/.kube\n\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n\tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n" +
          "Run 'kubectl get nodes' to see this node join the cluster.\n\n"
        : "\nThis node has joined the cluster:\n" +
          "* Certificate signing request was sent to apiserver and a response was received.\n" +
          "* The Kubelet was informed of the new secure connection details.\n\n" +
          "Run 'kubectl get nodes' on the control-plane to see this node join the cluster.\n\n";
}

/// <summary>JoinPreflight holds join's checks (spec §15, join column): the root check; kubelet.conf, bootstrap-kubelet.conf and
/// the CA file must not exist; a control-plane join also needs free manifest paths and an empty etcd data folder; then the host
/// checks of HostPreflight (skipped with a notice on a --rootfs tree).</summary>
public static class JoinPreflight
{
    /// <summary>Options are the node-check options of a join: a worker (port 10250) or a control plane with its endpoint.
    /// Before discovery the cluster's version is unknown, so the newest profile's severities apply (kubeadm uses its own).</summary>
    public static PreflightOptions Options(JoinConfiguration join, VersionProfile? profile = null) => new()
    {
        Profile = profile ?? VersionTable.Newest,
        ControlPlane = join.ControlPlane is not null,
        ApiServerPort = join.ControlPlane?.LocalApiEndpoint.BindPort ?? 6443,
        LocalEtcd = true,
        NodeName = string.IsNullOrEmpty(join.NodeRegistration.Name) ? null : join.NodeRegistration.Name,
        AdvertiseAddress = join.ControlPlane?.LocalApiEndpoint.AdvertiseAddress is { Length: > 0 } a && a is not ("0.0.0.0" or "::") ? a : null,
    };

    /// <summary>RunAsync runs the checks; errors abort unless ignored by --ignore-preflight-errors.</summary>
    public static async Task RunAsync(JoinConfiguration join, IHost host, IUi ui, bool dryRun, CancellationToken ct,
        VersionProfile? profile = null, TimeProvider? time = null)
    {
        ui.Info("preflight", "Running pre-flight checks");
        var results = new List<CheckResult>();
        if (host.ManagesServices && !dryRun && Environment.UserName != "root")
        {
            results.Add(HostPreflight.FileError("IsPrivilegedUser", "user is not running as root"));
        }
        var files = new List<string> { NodePaths.KubeConfig("kubelet.conf"), NodePaths.KubeConfig("bootstrap-kubelet.conf") };
        if (join.ControlPlane is null)
        {
            files.Add(join.CaCertPath);
        }
        else
        {
            files.AddRange(new[] { "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd" }.Select(NodePaths.Manifest));
        }
        foreach (var path in files)
        {
            if (await host.ExistsAsync(path, ct).ConfigureAwait(false))
            {
                results.Add(HostPreflight.FileError("FileAvailable-" + path.Replace('/', '-'), $"{path} already exists"));
            }
        }
        if (join.ControlPlane is not null && (await host.ListAsync("/var/lib/etcd", ct).ConfigureAwait(false)).Count > 0)
        {
            results.Add(HostPreflight.FileError("DirAvailable--var-lib-etcd", "/var/lib/etcd is not empty"));
        }
        results.AddRange(await HostPreflight.RunAsync(host, Options(join, profile), ui, time ?? TimeProvider.System, ct).ConfigureAwait(false));
        HostPreflight.Finish(results, join.NodeRegistration.IgnorePreflightErrors, ui,
            "Fix them, skip a check with --ignore-preflight-errors=<check name>, or run \"kubeforge reset\" on this node first.");
    }
}

/// <summary>KubeletJoinPhase is join's kubelet-start: CA file, bootstrap-kubelet.conf, the cluster's kubelet config.yaml,
/// kubeadm-flags.env, (re)start of the kubelet (when the host manages services), then the wait for the TLS bootstrap
/// (/etc/kubernetes/kubelet.conf appears).</summary>
public static class KubeletJoinPhase
{
    private const string Phase = "kubelet-start";

    /// <summary>BootstrapKubeconfigPath is /etc/kubernetes/bootstrap-kubelet.conf.</summary>
    public static readonly string BootstrapKubeconfigPath = NodePaths.KubeConfig("bootstrap-kubelet.conf");

    /// <summary>RunAsync writes the files, starts the kubelet and waits up to the TLS-bootstrap timeout for kubelet.conf.</summary>
    public static async Task RunAsync(PhaseContext ctx, JoinData data, CancellationToken ct)
    {
        var host = ctx.Host;
        var cfg = ctx.Config;
        if (!await host.ExistsAsync(data.Join.CaCertPath, ct).ConfigureAwait(false))
        {
            ctx.Ui.Info(Phase, $"Writing the cluster CA certificate to \"{data.Join.CaCertPath}\"");
            await host.WriteFileAsync(data.Join.CaCertPath, System.Text.Encoding.UTF8.GetBytes(data.Cluster.CaPem), FileModes.Public, FileModes.Dir, ct).ConfigureAwait(false);
        }
        ctx.Ui.Info(Phase, $"Writing the TLS bootstrap kubeconfig to \"{BootstrapKubeconfigPath}\"");
        await host.WriteIfChangedAsync(BootstrapKubeconfigPath, data.BootstrapKubeconfig, FileModes.Private, FileModes.Dir, ct).ConfigureAwait(false);
        ctx.Ui.Info(Phase, $"Writing kubelet configuration to file \"{NodePaths.KubeletConfigFile}\"");
        await host.WriteIfChangedAsync(NodePaths.KubeletConfigFile, data.KubeletConfig, FileModes.Public, FileModes.PrivateDir, ct).ConfigureAwait(false);
        var osHostname = (await host.ReadTextAsync("/etc/hostname", ct).ConfigureAwait(false))?.Trim();
        ctx.Ui.Info(Phase, $"Writing kubelet environment file with flags to file \"{NodePaths.KubeletEnvFile}\"");
        var env = KubeletFiles.FlagsEnv(cfg, registerTaintsUsingFlags: true, string.IsNullOrEmpty(osHostname) ? cfg.NodeName : osHostname);
        await host.WriteIfChangedAsync(NodePaths.KubeletEnvFile, env, FileModes.Public, FileModes.PrivateDir, ct).ConfigureAwait(false);
        if (host.ManagesServices)
        {
            ctx.Ui.Info(Phase, "Starting the kubelet");
            var reload = await host.RunAsync(["systemctl", "daemon-reload"], ct: ct).ConfigureAwait(false);
            var restart = reload.Ok ? await host.RunAsync(["systemctl", "restart", "kubelet"], ct: ct).ConfigureAwait(false) : reload;
            if (!restart.Ok)
            {
                ctx.Ui.Warn(Phase, $"unable to start the kubelet service: {restart.Stderr.Trim()}");
            }
        }
        else
        {
            ctx.Ui.Info(Phase, $"Not starting the kubelet: {host.Name} does not manage services; start it yourself (it must use {BootstrapKubeconfigPath})");
        }
        if (ctx.DryRun)
        {
            ctx.Ui.Info(Phase, "Would wait for the kubelet to perform the TLS Bootstrap");
            return;
        }
        var timeout = cfg.Init.Timeouts.TlsBootstrap;
        ctx.Ui.Info(Phase, $"Waiting for the kubelet to perform the TLS Bootstrap (up to {timeout.TotalSeconds:0}s)");
        var kubeletConf = NodePaths.KubeConfig("kubelet.conf");
        var deadline = ctx.Time.GetUtcNow() + timeout;
        while (!await host.ExistsAsync(kubeletConf, ct).ConfigureAwait(false))
        {
            if (ctx.Time.GetUtcNow() >= deadline)
            {
                throw new UserError($"the kubelet did not perform the TLS bootstrap within {timeout.TotalSeconds:0}s ({kubeletConf} did not appear); check that the kubelet runs (systemctl status kubelet; journalctl -u kubelet) and that its CSR was approved (kubectl get csr)");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), ctx.Time, ct).ConfigureAwait(false);
        }
    }
}
