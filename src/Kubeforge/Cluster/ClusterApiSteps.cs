using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.Config;
using Kubeforge.ControlPlane;
using Kubeforge.Discovery;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Pki;
using Kubeforge.Tokens;

namespace Kubeforge.Cluster;

/// <summary>ClusterApiSteps are the steps that make and grow the cluster: init on the first control plane, the joins, the CNI,
/// node labels and the final checks. Node work runs against ctx.Node through the same init/join phase trees as
/// "kubeforge init/join"; the Kubernetes API is reached from the operator's machine with the admin.conf read from the first
/// control plane. Join material is made fresh for every run and kept only in memory: a bootstrap token created through the
/// API, the CA hash computed from the first control plane's ca.crt, and for control planes a new certificate key with the
/// certificates re-uploaded (as "kubeadm init phase upload-certs --upload-certs" does).</summary>
public static class ClusterApiSteps
{
    private const string MaterialKey = "join-material";
    private const string MaterialLockKey = "join-material-lock";
    private const string ProxyConfigMap = "kube-proxy";

    /// <summary>Endpoint is where nodes join: the VIP endpoint with HA, else the first control plane's address and port 6443.</summary>
    public static string Endpoint(ClusterFile f) => f.ControlPlaneEndpoint.Length > 0 ? f.ControlPlaneEndpoint
        : AltNames.JoinHostPort(f.FirstControlPlane.ClusterAddress, 6443);

    private static List<string> Ignore(ClusterFile f) =>
        // the init/join checks look at the operator's user for a local node; over SSH the node's user is what counts
        [.. f.IgnorePreflightErrors, "IsPrivilegedUser"];

    private static PhaseContext Phases(StepContext ctx, KubeadmConfig cfg, IHost host) => new()
    {
        Config = cfg,
        Host = host,
        Ui = ctx.Ui,
        Time = ctx.Time,
        StartTime = ctx.Time.GetUtcNow(),
        DryRun = ctx.DryRun,
    };

    /// <summary>ClusterCaAsync creates the cluster CA (ca.crt/ca.key) on the first control plane with init's own certs code
    /// and the cluster's settings, before anything else of init: init then reuses it, as kubeadm reuses an existing CA, and the
    /// load balancers' health checks can verify the API servers from the start. An existing CA is kept.</summary>
    public static async Task<StepResult> ClusterCaAsync(StepContext ctx, CancellationToken ct)
    {
        const string path = "/etc/kubernetes/pki/ca.crt";
        if (await ctx.Node.ExistsAsync(path, ct).ConfigureAwait(false))
        {
            return new StepResult(StepStatus.Unchanged, $"cluster CA present ({path})");
        }
        var pctx = Phases(ctx, ctx.File.ToKubeadmConfig(ctx.Host), ctx.Node);
        await Pki.CertsPhase.RunAsync(pctx, "ca", ct).ConfigureAwait(false);
        return new StepResult(StepStatus.Done, $"cluster CA created ({path}); init reuses it");
    }

    /// <summary>SourceAsync returns the first control plane (in file order) that answers and holds admin.conf: the first
    /// control plane normally, another one when it is down (add-node must work with one control plane down).</summary>
    public static async Task<(ClusterHost Host, IHost Node, byte[] AdminConf)> SourceAsync(StepContext ctx, CancellationToken ct)
    {
        var path = NodePaths.KubeConfig("admin.conf");
        Exception? last = null;
        foreach (var cp in ctx.File.ControlPlanes)
        {
            try
            {
                var node = ctx.HostOf(cp);
                if (await node.ReadFileAsync(path, ct).ConfigureAwait(false) is { } bytes)
                {
                    return (cp, node, bytes);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested) // unreachable (SSH errors are UserErrors too): try the next
            {
                last = e;
                ctx.Ui.Warn("cluster", $"{cp.Name} is unreachable ({e.Message.Split('\n')[0]}); trying the next control plane");
            }
        }
        var first = ctx.File.FirstControlPlane;
        throw new UserError(last is null
            ? $"{first.Label}: {path} does not exist; the init step must run first (kubeforge up -f {ctx.File.Source} --from-step init)"
            : $"no control plane is reachable with {path}: {last.Message.Split('\n')[0]}");
    }

    /// <summary>AdminApiAsync builds the API port from a control plane's admin.conf (read over its IHost; see SourceAsync).</summary>
    public static async Task<HttpKubeApi> AdminApiAsync(StepContext ctx, CancellationToken ct)
    {
        var (cp, _, bytes) = await SourceAsync(ctx, ct).ConfigureAwait(false);
        return HttpKubeApi.FromKubeConfig(bytes, TimeSpan.FromSeconds(15), $"{cp.Name}:{NodePaths.KubeConfig("admin.conf")}");
    }

    /// <summary>InitializedAsync tells whether init already finished on host: admin.conf present, the API ready, and the
    /// objects of init's last phases (kubeadm-config, cluster-info, kube-proxy) in place.</summary>
    public static async Task<bool> InitializedAsync(IHost node, CancellationToken ct)
    {
        var bytes = await node.ReadFileAsync(NodePaths.KubeConfig("admin.conf"), ct).ConfigureAwait(false);
        if (bytes is null)
        {
            return false;
        }
        try
        {
            using var api = HttpKubeApi.FromKubeConfig(bytes, TimeSpan.FromSeconds(10));
            return (await api.GetRawAsync("/readyz", ct).ConfigureAwait(false)).Status == 200
                && await api.GetAsync(ApiResource.ConfigMap, "kube-system", UploadConfig.KubeadmConfigMapName, ct).ConfigureAwait(false) is not null
                && await api.GetAsync(ApiResource.ConfigMap, "kube-public", ClusterInfo.ConfigMapName, ct).ConfigureAwait(false) is not null
                && await api.GetAsync(ApiResource.ConfigMap, "kube-system", ProxyConfigMap, ct).ConfigureAwait(false) is not null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>InitAsync runs the init workflow on the first control plane (with HA: --upload-certs behaviour and the VIP
    /// endpoint). A working control plane is left alone (Unchanged); an interrupted init (manifests written, init not
    /// finished) is resumed by running the phases again without init's preflight (every phase reuses what exists).</summary>
    public static async Task<StepResult> InitAsync(StepContext ctx, CancellationToken ct)
    {
        var cfg = ctx.File.ToKubeadmConfig(ctx.Host);
        cfg.Init.NodeRegistration.IgnorePreflightErrors = Ignore(ctx.File);
        if (ctx.File.Ha is not null)
        {
            cfg.Init.UploadCerts = true;
            cfg.Init.CertificateKey = CertificateKey.Generate();
            ctx.Secrets.Add(cfg.Init.CertificateKey);
        }
        if (!ctx.DryRun && await InitializedAsync(ctx.Node, ct).ConfigureAwait(false))
        {
            return new StepResult(StepStatus.Unchanged, $"control plane already initialized on {ctx.Host.Name}; the API is ready");
        }
        var resuming = await ctx.Node.ExistsAsync(NodePaths.Manifest("kube-apiserver"), ct).ConfigureAwait(false);
        List<string> skip = ["show-join-command"];
        if (resuming)
        {
            skip.Add("preflight");
            ctx.Ui.Info("init", "Resuming an interrupted init: the manifests exist, so init's preflight is skipped and every phase reuses what is there");
        }
        var pctx = Phases(ctx, cfg, ctx.Node);
        await new WorkflowRunner(InitWorkflow.Phases(cfg.Profile)).RunAsync(pctx, null, skip, ct).ConfigureAwait(false);
        foreach (var t in cfg.Init.BootstrapTokens)
        {
            ctx.Secrets.Add(t.Token);
        }
        return new StepResult(StepStatus.Done, $"{(resuming ? "resumed and finished" : "ran")} init on {ctx.Host.Name}: Kubernetes {cfg.Version}, endpoint {Endpoint(ctx.File)}{(cfg.Init.UploadCerts ? ", certificates uploaded" : "")}");
    }

    /// <summary>JoinControlPlaneAsync joins a control plane (certificates downloaded with a fresh certificate key, stacked etcd
    /// grows by one member); the plan runs them one at a time.</summary>
    public static Task<StepResult> JoinControlPlaneAsync(StepContext ctx, CancellationToken ct) => JoinAsync(ctx, controlPlane: true, ct);

    /// <summary>JoinWorkerAsync joins a worker.</summary>
    public static Task<StepResult> JoinWorkerAsync(StepContext ctx, CancellationToken ct) => JoinAsync(ctx, controlPlane: false, ct);

    /// <summary>JoinMaterial is what joining needs, made once per run and never written anywhere.</summary>
    public sealed record JoinMaterial(string Token, string CaCertHash, string? CertificateKey);

    /// <summary>MaterialAsync creates (once per run) a bootstrap token through the API and the CA hash from the first control
    /// plane's ca.crt; for a control-plane join also a new certificate key with the certificates re-uploaded.</summary>
    public static async Task<JoinMaterial> MaterialAsync(StepContext ctx, bool controlPlane, CancellationToken ct)
    {
        var gate = (SemaphoreSlim)ctx.Shared.GetOrAdd(MaterialLockKey, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var (first, firstHost, _) = await SourceAsync(ctx, ct).ConfigureAwait(false);
            using var api = await AdminApiAsync(ctx, ct).ConfigureAwait(false);
            if (ctx.Shared.TryGetValue(MaterialKey, out var o) is false || o is not JoinMaterial m)
            {
                var caPath = PkiStore.CertPath("/etc/kubernetes/pki", "ca");
                var caPem = await firstHost.ReadTextAsync(caPath, ct).ConfigureAwait(false)
                    ?? throw new UserError($"{first.Label}: {caPath} does not exist; the init step must run first");
                var hash = PubKeyPin.Hash(Pem.LoadCert(caPem, $"{first.Name}:{caPath}"));
                var spec = TokenOps.BuildSpec(null, "2h", null, null, "kubeforge up: joining nodes");
                ctx.Secrets.Add(spec.Token);
                var token = await TokenOps.CreateAsync(api, spec, ctx.Time.GetUtcNow(), ct).ConfigureAwait(false);
                ctx.Ui.Info("join", $"Created bootstrap token {token.Id} (expires in 2h) for this run's joins");
                m = new JoinMaterial(token.ToString(), hash, null);
            }
            if (controlPlane && m.CertificateKey is null)
            {
                var key = CertificateKey.Generate();
                ctx.Secrets.Add(key);
                var pctx = Phases(ctx, ctx.File.ToKubeadmConfig(first), firstHost);
                await UploadCertsPhase.RunAsync(pctx, api, data => CertificateKey.Encrypt(data, key), key, skipCertificateKeyPrint: true, ct).ConfigureAwait(false);
                m = m with { CertificateKey = key };
            }
            ctx.Shared[MaterialKey] = m;
            return m;
        }
        finally
        {
            gate.Release();
        }
    }

    private static async Task<StepResult> JoinAsync(StepContext ctx, bool controlPlane, CancellationToken ct)
    {
        var host = ctx.Host;
        var node = ctx.Node;
        var kind = controlPlane ? "control plane" : "worker";
        var kubeletConf = NodePaths.KubeConfig("kubelet.conf");
        var joined = await node.ExistsAsync(kubeletConf, ct).ConfigureAwait(false) &&
            (!controlPlane || await node.ExistsAsync(NodePaths.Manifest("etcd"), ct).ConfigureAwait(false));
        if (joined && controlPlane && !ctx.DryRun)
        {
            // the files alone do not prove a finished control-plane join: a run killed after etcd.yaml was written but before
            // the learner was promoted leaves a learner behind; such a join is resumed below (the member add is then skipped)
            var peerUrl = "https://" + Pki.AltNames.JoinHostPort(host.ClusterAddress, 2380);
            var endpoints = ctx.File.ControlPlanes.Select(cp => "https://" + Pki.AltNames.JoinHostPort(cp.ClusterAddress, 2379)).ToList();
            if (!await EtcdJoinPhase.FinishedAsync(node, "/etc/kubernetes/pki", endpoints, peerUrl, ct).ConfigureAwait(false))
            {
                joined = false;
                ctx.Ui.Warn("join", $"{host.Name}'s etcd member {peerUrl} has not finished joining (not started or still a learner); resuming the join");
            }
        }
        if (joined)
        {
            return new StepResult(StepStatus.Unchanged, $"{host.Name} already joined ({kubeletConf} exists)");
        }
        var endpoint = Endpoint(ctx.File);
        if (ctx.DryRun)
        {
            return new StepResult(StepStatus.Done, $"would join {host.Name} as a {kind} through {endpoint} with a fresh bootstrap token{(controlPlane ? " and re-uploaded certificates" : "")}");
        }
        var material = await MaterialAsync(ctx, controlPlane, ct).ConfigureAwait(false);
        var leftovers = await node.ExistsAsync(KubeletJoinPhase.BootstrapKubeconfigPath, ct).ConfigureAwait(false)
            || (controlPlane ? await node.ExistsAsync(NodePaths.Manifest("kube-apiserver"), ct).ConfigureAwait(false) || (await node.ListAsync("/var/lib/etcd", ct).ConfigureAwait(false)).Count > 0
                : await node.ExistsAsync("/etc/kubernetes/pki/ca.crt", ct).ConfigureAwait(false));
        var ignore = Ignore(ctx.File);
        if (leftovers)
        {
            ctx.Ui.Warn("join", "Resuming an interrupted join: files of an earlier attempt exist, so join's file checks are skipped");
            ignore.Add("all");
        }
        var join = JoinConfigurationLoader.Load(null, $"{ctx.File.Source}: join of {host.Label}", new JoinFlags
        {
            ApiServerEndpoint = endpoint,
            Token = material.Token,
            CaCertHashes = [material.CaCertHash],
            NodeName = host.Name,
            ControlPlane = controlPlane,
            CertificateKey = controlPlane ? material.CertificateKey : null,
            AdvertiseAddress = controlPlane ? host.ClusterAddress : null,
            BindPort = controlPlane ? 6443 : null,
            IgnorePreflightErrors = ignore,
        });
        join.NodeRegistration.Taints = host.Taints?.ToList() ?? (host.IsControlPlane && host.IsWorker ? [] : null);
        if (host.NodeIp is { } ip)
        {
            join.NodeRegistration.KubeletExtraArgs = [new Arg("node-ip", ip)];
        }
        var v6 = host.ClusterAddress.Contains(':');
        var identity = new Node.NodeIdentity(host.Name, v6 ? null : host.ClusterAddress, v6 ? host.ClusterAddress : null);
        var (cfg, data) = await JoinPreparation.PrepareAsync(join, node, ctx.Ui, new DiscoveryOptions(join.DiscoveryTimeout, TimeSpan.FromSeconds(2), ctx.Time),
            identity, b => HttpKubeApi.FromKubeConfig(b), ct).ConfigureAwait(false);
        var undo = new UndoHost(node);
        var pctx = Phases(ctx, cfg, undo);
        pctx.Bag[JoinWorkflow.DataKey] = data;
        try
        {
            await new WorkflowRunner(JoinWorkflow.Phases(cfg.Profile)).RunAsync(pctx, null, [], ct).ConfigureAwait(false);
        }
        catch when (undo.Changed)
        {
            ctx.Ui.Info("join", "Removing the files this attempt wrote");
            await undo.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return new StepResult(StepStatus.Done, $"joined {host.Name} as a {kind} through {endpoint}{(controlPlane && cfg.LocalEtcd ? "; etcd member added" : "")}");
    }

    /// <summary>CniAsync applies the flannel objects for the cluster's pod CIDR unless they are already there with the same
    /// configuration (init applies them when spec.network.cni is flannel).</summary>
    public static async Task<StepResult> CniAsync(StepContext ctx, CancellationToken ct)
    {
        var cfg = ctx.File.ToKubeadmConfig(ctx.File.FirstControlPlane);
        if (!cfg.Cni.Enabled)
        {
            return new StepResult(StepStatus.Unchanged, "no CNI (spec.network.cni: none)");
        }
        if (ctx.DryRun)
        {
            return new StepResult(StepStatus.Done, $"would apply flannel for {cfg.Cluster.Networking.PodSubnet} unless present");
        }
        using var api = await AdminApiAsync(ctx, ct).ConfigureAwait(false);
        var want = Flannel.ConfigMap(cfg);
        var have = await api.GetAsync(ApiResource.ConfigMap, want.Namespace(), want.Name(), ct).ConfigureAwait(false);
        var ds = Flannel.DaemonSet(cfg);
        var dsHave = await api.GetAsync(ApiResource.DaemonSet, ds.Namespace(), ds.Name(), ct).ConfigureAwait(false);
        if (have is not null && dsHave is not null && JsonNode.DeepEquals(have["data"], want["data"]))
        {
            return new StepResult(StepStatus.Unchanged, $"flannel already applied for {cfg.Cluster.Networking.PodSubnet}");
        }
        await CniPhase.RunAsync(Phases(ctx, cfg, ctx.Node), api, ct).ConfigureAwait(false);
        return new StepResult(StepStatus.Done, $"applied flannel ({cfg.Cni.Backend}) for pod network {cfg.Cluster.Networking.PodSubnet}");
    }

    /// <summary>WorkerRoleLabel is the role label given to nodes that are only workers (kubectl shows it under ROLES).</summary>
    public const string WorkerRoleLabel = "node-role.kubernetes.io/worker";

    /// <summary>LabelNodesAsync puts every host's labels (and the worker role label on worker-only nodes) on its Node.</summary>
    public static async Task<StepResult> LabelNodesAsync(StepContext ctx, CancellationToken ct)
    {
        if (ctx.DryRun)
        {
            return new StepResult(StepStatus.Done, "would label the nodes of the cluster file");
        }
        using var api = await AdminApiAsync(ctx, ct).ConfigureAwait(false);
        var changed = new List<string>();
        foreach (var h in ctx.File.Hosts)
        {
            var want = new Dictionary<string, string>(h.Labels, StringComparer.Ordinal);
            if (h.IsWorker && !h.IsControlPlane)
            {
                want[WorkerRoleLabel] = "";
            }
            if (want.Count == 0)
            {
                continue;
            }
            var n = await api.GetAsync(ApiResource.Node, null, h.Name, ct).ConfigureAwait(false)
                ?? throw new UserError($"{h.Label}: node \"{h.Name}\" is not registered in the cluster; check its kubelet (journalctl -u kubelet)");
            var have = n["metadata"]?["labels"] as JsonObject;
            var missing = want.Where(kv => have?[kv.Key]?.GetValue<string>() != kv.Value).ToList();
            if (missing.Count == 0)
            {
                continue;
            }
            var labels = new JsonObject();
            foreach (var (k, v) in missing)
            {
                labels[k] = v;
            }
            var patch = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = labels } }.ToJsonString();
            await api.PatchAsync(ApiResource.Node, null, h.Name, patch, "application/merge-patch+json", ct).ConfigureAwait(false);
            changed.Add($"{h.Name}: {string.Join(", ", missing.Select(kv => kv.Key))}");
        }
        return StepResult.Of(changed.Count > 0, changed.Count > 0 ? $"labelled {changed.Count} node(s)" : "all node labels in place", changed);
    }

    /// <summary>ReadyTimeout is how long checks waits for every node to be Ready.</summary>
    public static TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>ChecksAsync waits until every host's Node is Ready, checks /readyz through the endpoint, and checks that etcd
    /// has one started voting member per control plane, answering on every control plane.</summary>
    public static async Task<StepResult> ChecksAsync(StepContext ctx, CancellationToken ct)
    {
        if (ctx.DryRun)
        {
            return new StepResult(StepStatus.Unchanged, "would check nodes Ready, /readyz and etcd members");
        }
        var f = ctx.File;
        using var api = await AdminApiAsync(ctx, ct).ConfigureAwait(false);
        var (status, _) = await api.GetRawAsync("/readyz", ct).ConfigureAwait(false);
        if (status != 200)
        {
            throw new UserError($"/readyz through {Endpoint(f)} answered {status}; check the API servers{(f.Ha is null ? "" : " and the load balancer behind the VIP")}");
        }
        var deadline = ctx.Time.GetUtcNow() + ReadyTimeout;
        List<string> notReady;
        while (true)
        {
            var nodes = (await api.ListAsync(ApiResource.Node, null, null, ct).ConfigureAwait(false)).ToDictionary(n => n.Name(), StringComparer.Ordinal);
            notReady = f.Hosts.Where(h => !nodes.TryGetValue(h.Name, out var n) || !IsReady(n)).Select(h => h.Name).ToList();
            if (notReady.Count == 0 || ctx.Time.GetUtcNow() >= deadline)
            {
                break;
            }
            await Task.Delay(TimeSpan.FromSeconds(2), ctx.Time, ct).ConfigureAwait(false);
        }
        if (notReady.Count > 0)
        {
            throw new UserError($"nodes not Ready after {ReadyTimeout.TotalSeconds:0}s: {string.Join(", ", notReady)}; check their kubelet (journalctl -u kubelet) and the CNI pods (kubectl -n kube-flannel get pods)");
        }
        var members = await EtcdMembersAsync(ctx, ct).ConfigureAwait(false);
        return new StepResult(StepStatus.Unchanged, $"{f.Hosts.Count} nodes Ready; /readyz ok through {Endpoint(f)}; etcd: {members}");
    }

    private static bool IsReady(JsonObject node) => (node["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
        .Any(c => c["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True") == true;

    private static async Task<string> EtcdMembersAsync(StepContext ctx, CancellationToken ct)
    {
        var (source, first, _) = await SourceAsync(ctx, ct).ConfigureAwait(false);
        const string dir = "/etc/kubernetes/pki";
        var ca = await PkiStore.LoadCertAsync(first, PkiStore.CertPath(dir, "etcd/ca"), ct).ConfigureAwait(false)
            ?? throw new UserError($"{source.Label}: {PkiStore.CertPath(dir, "etcd/ca")} does not exist; is etcd external?");
        var crt = await first.ReadTextAsync(PkiStore.CertPath(dir, "apiserver-etcd-client"), ct).ConfigureAwait(false);
        var key = await first.ReadTextAsync(PkiStore.KeyPath(dir, "apiserver-etcd-client"), ct).ConfigureAwait(false);
        if (crt is null || key is null)
        {
            throw new UserError($"{source.Label}: the apiserver-etcd-client certificate is missing");
        }
        using var client = X509Certificate2.CreateFromPem(crt, key);
        var cps = ctx.File.ControlPlanes.ToList();
        IReadOnlyList<EtcdMember>? list = null;
        foreach (var cp in cps)
        {
            using var etcd = EtcdGatewayClient.Create([$"https://{AltNames.JoinHostPort(cp.ClusterAddress, 2379)}"], ca, client, TimeSpan.FromSeconds(10));
            list = await etcd.ListAsync(ct).ConfigureAwait(false);
        }
        var bad = list!.Where(m => m.IsLearner || m.Name.Length == 0).Select(m => m.Name.Length > 0 ? m.Name : m.HexId).ToList();
        if (list!.Count != cps.Count || bad.Count > 0)
        {
            throw new UserError($"etcd has {list.Count} member(s) for {cps.Count} control plane(s){(bad.Count > 0 ? $"; not started or still learners: {string.Join(", ", bad)}" : "")}; check etcd on the control planes (crictl logs of etcd)");
        }
        return $"{list.Count} members healthy, answering on every control plane";
    }
}
