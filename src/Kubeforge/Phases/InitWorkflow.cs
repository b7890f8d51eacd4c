using Kubeforge.ClusterObjects;
using Kubeforge.Config;
using Kubeforge.ControlPlane;
using Kubeforge.Hosts;
using Kubeforge.KubeConfig;
using Kubeforge.Kubelet;
using Kubeforge.Pki;
using Kubeforge.Versions;

namespace Kubeforge.Phases;

/// <summary>InitWorkflow is the phase tree of "kubeforge init", as data (kubeadm's cmd/phases/init).
/// The order of the top-level phases follows the target version (v1.22 writes kubelet files before the
/// manifests; newer releases after them), so the tree is built for a version profile.</summary>
public static class InitWorkflow
{
    /// <summary>Phases returns the init phases in the order the given release runs them.</summary>
    public static IReadOnlyList<Phase> Phases(VersionProfile profile)
    {
        var preflight = new Phase("preflight", "Run pre-flight checks")
        {
            Run = (ctx, ct) => Preflight.RunInitAsync(ctx, ct),
        };
        var certs = new Phase("certs", "Certificate generation")
        {
            Run = (ctx, _) => Info(ctx, "certs", $"Using certificateDir folder \"{ctx.Config.CertDir}\""),
            Children = [Phase.All("certificate"), .. CertTable.Names.Select(n => new Phase(n, CertHelp(n))
            {
                Run = (ctx, ct) => CertsPhase.RunAsync(ctx, n, ct),
            })],
        };
        var kubeconfig = new Phase("kubeconfig", "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file")
        {
            Run = (ctx, _) => Info(ctx, "kubeconfig", $"Using kubeconfig folder \"{NodePaths.KubernetesDir}\""),
            Children = [Phase.All("kubeconfig"), .. KubeConfigTable.Rows.Select(r => new Phase(r.Name, $"Generate the {r.LongName}")
            {
                Run = (ctx, ct) => KubeConfigPhase.RunAsync(ctx, r.Name, ct),
                RunIf = ctx => r.Applies(ctx.Config),
            })],
        };
        var etcd = new Phase("etcd", "Generate static Pod manifest file for local etcd")
        {
            Children =
            [
                new Phase("local", "Generate the static Pod manifest file for a local, single-node local etcd instance")
                {
                    Run = (ctx, ct) => EtcdPhase.RunLocalAsync(ctx, ct),
                    RunIf = ctx => ctx.Config.LocalEtcd,
                },
            ],
        };
        var controlPlane = new Phase("control-plane", "Generate all static Pod manifest files necessary to establish the control plane")
        {
            Run = (ctx, _) => Info(ctx, "control-plane", $"Using manifest folder \"{NodePaths.ManifestsDir}\""),
            Children =
            [
                Phase.All("control plane"),
                new Phase("apiserver", "Generates the kube-apiserver static Pod manifest") { Run = (ctx, ct) => ControlPlanePhase.RunAsync(ctx, "apiserver", ct) },
                new Phase("controller-manager", "Generates the kube-controller-manager static Pod manifest") { Run = (ctx, ct) => ControlPlanePhase.RunAsync(ctx, "controller-manager", ct) },
                new Phase("scheduler", "Generates the kube-scheduler static Pod manifest") { Run = (ctx, ct) => ControlPlanePhase.RunAsync(ctx, "scheduler", ct) },
            ],
        };
        var kubeletStart = new Phase("kubelet-start", "Write kubelet settings and (re)start the kubelet")
        {
            Run = (ctx, ct) => KubeletStartPhase.RunAsync(ctx, false, ct),
        };
        var waitControlPlane = new Phase("wait-control-plane", "Wait for the control plane to start")
        {
            Run = async (ctx, ct) => await WaitControlPlane.RunAsync(ctx, await ctx.ApiAsync("admin.conf", ct), ctx.Config.Cluster.ApiServer.TimeoutForControlPlane, ct),
        };
        var uploadConfig = new Phase("upload-config", "Upload the kubeadm and kubelet configuration to a ConfigMap")
        {
            Children =
            [
                Phase.All("upload-config"),
                new Phase("kubeadm", "Upload the kubeadm ClusterConfiguration to a ConfigMap")
                {
                    Run = async (ctx, ct) => await UploadConfigPhase.RunKubeadmAsync(ctx, await AdminApiAsync(ctx, ct), KubeadmConfigWriter.ClusterConfigurationYaml(ctx.Config), ct),
                },
                new Phase("kubelet", "Upload the kubelet component config to a ConfigMap")
                {
                    Run = async (ctx, ct) => await UploadConfigPhase.RunKubeletAsync(ctx, await AdminApiAsync(ctx, ct), await KubeletConfigTextAsync(ctx, ct), ct),
                },
            ],
        };
        var uploadCerts = new Phase("upload-certs", "Upload certificates to kubeadm-certs")
        {
            RunIf = ctx => ctx.Config.Init.UploadCerts,
            Run = async (ctx, ct) =>
            {
                var key = CertificateKeyOf(ctx);
                await UploadCertsPhase.RunAsync(ctx, await AdminApiAsync(ctx, ct), data => CertificateKey.Encrypt(data, key), key, skipCertificateKeyPrint: false, ct);
            },
        };
        var markControlPlane = new Phase("mark-control-plane", "Mark a node as a control-plane")
        {
            Run = async (ctx, ct) => await MarkControlPlanePhase.RunAsync(ctx, await AdminApiAsync(ctx, ct), ct),
        };
        var bootstrapToken = new Phase("bootstrap-token", "Generates bootstrap tokens used to join a node to a cluster")
        {
            Run = async (ctx, ct) =>
            {
                var ca = await CaPemAsync(ctx, ct);
                await BootstrapTokenPhase.RunAsync(ctx, await AdminApiAsync(ctx, ct), KubeConfigTable.ControlPlaneEndpointUrl(ctx.Config), ca, ct);
            },
        };
        var kubeletFinalize = new Phase("kubelet-finalize", "Updates settings relevant to the kubelet after TLS bootstrap")
        {
            Children =
            [
                Phase.All("kubelet-finalize"),
                new Phase(profile.KubeletFinalizeCertRotationPhase, "Enable kubelet client certificate rotation")
                {
                    Run = (ctx, ct) => KubeletFinalize.RunAsync(ctx, ct),
                },
            ],
        };
        var addon = new Phase("addon", "Install required addons for passing conformance tests")
        {
            Children =
            [
                Phase.All("addon"),
                new Phase("coredns", "Install the CoreDNS addon to a Kubernetes cluster")
                {
                    Run = async (ctx, ct) => await AddonPhase.RunCoreDnsAsync(ctx, await AdminApiAsync(ctx, ct), ct),
                },
                new Phase("kube-proxy", "Install the kube-proxy addon to a Kubernetes cluster")
                {
                    Run = async (ctx, ct) => await AddonPhase.RunKubeProxyAsync(ctx, await AdminApiAsync(ctx, ct), ct),
                },
                new Phase("cni", "Install the pod network addon chosen with --cni (flannel; beyond kubeadm)")
                {
                    RunIf = ctx => ctx.Config.Cni.Enabled,
                    Run = async (ctx, ct) => await CniPhase.RunAsync(ctx, await AdminApiAsync(ctx, ct), ct),
                },
            ],
        };
        var showJoinCommand = new Phase("show-join-command", "Show the join command for control-plane and worker node")
        {
            Run = (ctx, ct) => ShowJoinCommandAsync(ctx, ct),
        };

        List<Phase> files = profile.KubeletStartAfterControlPlane
            ? [preflight, certs, kubeconfig, etcd, controlPlane, kubeletStart]
            : [preflight, certs, kubeconfig, kubeletStart, controlPlane, etcd];
        return [.. files, waitControlPlane, uploadConfig, uploadCerts, markControlPlane, bootstrapToken, kubeletFinalize, addon, showJoinCommand];
    }

    private static Task Info(PhaseContext ctx, string phase, string message)
    {
        ctx.Ui.Info(phase, message);
        return Task.CompletedTask;
    }

    private static string CertHelp(string name) =>
        name == CertTable.SaName ? $"Generate a private key for signing service account tokens along with its public key"
        : $"Generate the {CertTable.Get(name)?.LongName ?? name}";

    /// <summary>AdminApiAsync is the admin.conf API port; on releases with super-admin.conf it first makes sure the
    /// kubeadm:cluster-admins binding exists (created with super-admin.conf when admin.conf is not yet allowed).</summary>
    public static async Task<IKubeApi> AdminApiAsync(PhaseContext ctx, CancellationToken ct)
    {
        var admin = await ctx.ApiAsync("admin.conf", ct).ConfigureAwait(false);
        if (ctx.Config.Profile.SuperAdminConf && !ctx.Bag.ContainsKey("cluster-admins"))
        {
            var used = await ClusterAdmins.EnsureAsync(admin, new LazyApi(() => ctx.ApiAsync("super-admin.conf", ct)), ct).ConfigureAwait(false);
            ctx.Bag["cluster-admins"] = used;
        }
        return admin;
    }

    private static async Task<string> KubeletConfigTextAsync(PhaseContext ctx, CancellationToken ct)
    {
        var resolved = ctx.Host.ManagesServices && await KubeletStartPhase.IsServiceActiveAsync(ctx.Host, "systemd-resolved", ct).ConfigureAwait(false);
        return System.Text.Encoding.UTF8.GetString(KubeletFiles.ConfigYaml(ctx.Config, resolved));
    }

    private static async Task<byte[]> CaPemAsync(PhaseContext ctx, CancellationToken ct)
    {
        var path = PkiStore.CertPath(ctx.Config.CertDir, "ca");
        return await ctx.Host.ReadFileAsync(path, ct).ConfigureAwait(false)
            ?? throw new UserError($"{path} does not exist; run \"kubeforge init phase certs ca\" first");
    }

    private static string CertificateKeyOf(PhaseContext ctx)
    {
        if (string.IsNullOrEmpty(ctx.Config.Init.CertificateKey))
        {
            ctx.Config.Init.CertificateKey = CertificateKey.Generate();
        }
        return ctx.Config.Init.CertificateKey;
    }

    private static async Task ShowJoinCommandAsync(PhaseContext ctx, CancellationToken ct)
    {
        var adminPath = NodePaths.KubeConfig("admin.conf");
        var adminBytes = await ctx.Host.ReadFileAsync(adminPath, ct).ConfigureAwait(false)
            ?? throw new UserError($"{adminPath} does not exist; run \"kubeforge init phase kubeconfig admin\" first");
        var admin = KubeConfigFile.Read(adminBytes, adminPath);
        var ca = Pem.LoadCert(admin.CaPem ?? "", adminPath);
        var pins = new[] { PubKeyPin.Hash(ca) };
        var server = admin.Server ?? "";
        foreach (var t in ctx.Config.Init.BootstrapTokens)
        {
            var token = string.IsNullOrEmpty(t.Token) ? JoinCommand.Withheld : t.Token;
            var worker = JoinCommand.Worker(server, token, pins);
            string? controlPlane = null;
            if (!string.IsNullOrEmpty(ctx.Config.Cluster.ControlPlaneEndpoint))
            {
                controlPlane = JoinCommand.ControlPlane(server, token, pins, ctx.Config.Init.UploadCerts ? CertificateKeyOf(ctx) : null);
            }
            ctx.Ui.Raw(JoinCommand.InitSummary(adminPath, controlPlane, ctx.Config.Init.UploadCerts, worker));
        }
    }

    /// <summary>LazyApi defers building an API port until it is first used.</summary>
    private sealed class LazyApi(Func<Task<IKubeApi>> make) : IKubeApi
    {
        private IKubeApi? _api;

        private async Task<IKubeApi> Api() => _api ??= await make().ConfigureAwait(false);

        public async Task<System.Text.Json.Nodes.JsonObject?> GetAsync(ApiResource r, string? ns, string name, CancellationToken ct = default) => await (await Api()).GetAsync(r, ns, name, ct);
        public async Task<IReadOnlyList<System.Text.Json.Nodes.JsonObject>> ListAsync(ApiResource r, string? ns, string? labelSelector = null, CancellationToken ct = default) => await (await Api()).ListAsync(r, ns, labelSelector, ct);
        public async Task<System.Text.Json.Nodes.JsonObject> CreateAsync(ApiResource r, System.Text.Json.Nodes.JsonObject obj, CancellationToken ct = default) => await (await Api()).CreateAsync(r, obj, ct);
        public async Task<System.Text.Json.Nodes.JsonObject> UpdateAsync(ApiResource r, System.Text.Json.Nodes.JsonObject obj, CancellationToken ct = default) => await (await Api()).UpdateAsync(r, obj, ct);
        public async Task<System.Text.Json.Nodes.JsonObject> PatchAsync(ApiResource r, string? ns, string name, string patch, string contentType, CancellationToken ct = default) => await (await Api()).PatchAsync(r, ns, name, patch, contentType, ct);
        public async Task<bool> DeleteAsync(ApiResource r, string? ns, string name, CancellationToken ct = default) => await (await Api()).DeleteAsync(r, ns, name, ct);
        public async Task<(int Status, string Body)> GetRawAsync(string path, CancellationToken ct = default) => await (await Api()).GetRawAsync(path, ct);
    }
}
