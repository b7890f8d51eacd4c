using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Kubeforge.KubeConfig;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kubeforge.LabNode;

/// <summary>Kubelet is the kubelet stand-in: started by kubelet.service with the real kubelet's flags. It fails while
/// --config is missing (systemd restarts it, like the real kubelet before kubeadm ran), serves http healthz, runs the static
/// pods as processes (<see cref="PodSupervisor"/>), performs the TLS bootstrap when only the bootstrap kubeconfig exists,
/// registers its Node, keeps its status (Ready only with a CNI config) and node Lease fresh, installs flannel's CNI config
/// when the cluster runs kube-flannel, and mirrors its static pods into the API.</summary>
public sealed class Kubelet
{
    /// <summary>RunDir holds the static pod pid files (tmpfs: gone at reboot, like the containers).</summary>
    public const string RunDir = "/run/kubeforge-labnode";

    /// <summary>CniDir is where CNI configurations live.</summary>
    public const string CniDir = "/etc/cni/net.d";

    /// <summary>PemPath is the kubelet's rotating client certificate + key.</summary>
    public const string PemPath = "/var/lib/kubelet/pki/kubelet-client-current.pem";

    private readonly Dictionary<string, string> flags;
    private readonly string nodeName;
    private readonly string version;
    private string address = "";
    private PodSupervisor? pods;

    private Kubelet(Dictionary<string, string> flags, string nodeName, string version)
    {
        this.flags = flags;
        this.nodeName = nodeName;
        this.version = version;
    }

    private static void Log(string m) => Console.Out.WriteLine($"kubelet (kubeforge-labnode stand-in): {m}");

    /// <summary>Version is what `kubelet --version` and nodeInfo.kubeletVersion report ($KUBEFORGE_LABNODE_VERSION, default v1.29.0).</summary>
    public static string Version => Environment.GetEnvironmentVariable("KUBEFORGE_LABNODE_VERSION") is { Length: > 0 } v ? v : "v1.29.0";

    /// <summary>MainAsync runs the stand-in until SIGTERM; exit 1 when config.yaml is missing or unreadable.</summary>
    public static async Task<int> MainAsync(string[] args)
    {
        var flags = Flags.Parse(args);
        if (flags.ContainsKey("version")) { Console.Out.WriteLine($"Kubernetes {Version}"); return 0; }
        var configPath = flags.GetValueOrDefault("config", "/var/lib/kubelet/config.yaml");
        if (!File.Exists(configPath))
        {
            Console.Error.WriteLine($"kubelet (kubeforge-labnode stand-in): failed to load kubelet config file, path: {configPath}, error: open {configPath}: no such file or directory");
            return 1;
        }
        KubeletConfig config;
        try { config = KubeletConfig.Parse(File.ReadAllText(configPath), configPath); }
        catch (Exception e) when (e is FormatException or IOException)
        {
            Console.Error.WriteLine($"kubelet (kubeforge-labnode stand-in): failed to load kubelet config file {configPath}: {e.Message}");
            return 1;
        }
        var name = flags.GetValueOrDefault("hostname-override") is { Length: > 0 } o ? o : Dns.GetHostName().ToLowerInvariant();
        var k = new Kubelet(flags, name.ToLowerInvariant(), Version);
        return await k.RunAsync(config);
    }

    private async Task<int> RunAsync(KubeletConfig config)
    {
        address = flags.GetValueOrDefault("node-ip") is { Length: > 0 } ip ? ip : DefaultRouteAddress() ?? "127.0.0.1";
        Log($"node {nodeName}, address {address}, static pods from \"{config.StaticPodPath}\"");
        using var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(config.HealthzBindAddress), config.HealthzPort));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            var ok = ctx.Request.Path.StartsWithSegments("/healthz");
            ctx.Response.StatusCode = ok ? 200 : 404;
            await ctx.Response.WriteAsync(ok ? "ok" : "404 page not found\n");
        });
        await app.StartAsync();

        var tasks = new List<Task>();
        if (config.StaticPodPath.Length > 0)
        {
            pods = new PodSupervisor(config.StaticPodPath, RunDir, "/var/log/pods", Environment.ProcessPath ?? "/opt/kubeforge-standins/kubeforge-labnode", Log);
            tasks.Add(pods.RunAsync(stop.Token));
        }
        tasks.Add(ApiLoopAsync(stop.Token));
        try { await Task.Delay(Timeout.Infinite, stop.Token); }
        catch (OperationCanceledException) { }
        Log("terminating; static pod processes keep running (adopted by the next start)");
        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await app.StopAsync();
        return 0;
    }

    private async Task ApiLoopAsync(CancellationToken ct)
    {
        ApiClient? api = null;
        var registered = false;
        var lastError = "";
        while (!ct.IsCancellationRequested)
        {
            try
            {
                api ??= await ClientAsync(ct);
                if (api is not null)
                {
                    if (!registered) registered = await RegisterAsync(api, ct);
                    if (registered)
                    {
                        await InstallFlannelCniAsync(api, ct);
                        await UpdateStatusAsync(api, ct);
                        await RenewLeaseAsync(api, ct);
                        await MirrorPodsAsync(api, ct);
                    }
                }
                lastError = "";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (e.Message != lastError) Log($"API: {e.Message}");
                lastError = e.Message;
            }
            try { await Task.Delay(registered ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(2), ct); }
            catch (OperationCanceledException) { break; }
        }
        api?.Dispose();
    }

    // ClientAsync: kubelet.conf when it exists; otherwise the TLS bootstrap with the bootstrap kubeconfig (writes the PEM and
    // kubelet.conf); null when neither file exists yet (standalone: static pods only).
    private async Task<ApiClient?> ClientAsync(CancellationToken ct)
    {
        var kubeconfig = flags.GetValueOrDefault("kubeconfig", "/etc/kubernetes/kubelet.conf");
        var bootstrap = flags.GetValueOrDefault("bootstrap-kubeconfig");
        if (File.Exists(kubeconfig))
        {
            var bytes = await File.ReadAllBytesAsync(kubeconfig, ct);
            var api = ApiClient.FromKubeconfig(bytes, kubeconfig);
            var view = KubeConfigFile.Read(bytes, kubeconfig);
            if (view.ClientCertPem is not null && !File.Exists(PemPath) && bootstrap is not null)
            {
                // the real kubelet's certificate manager starts from the embedded (init-written) certificate and requests
                // its own through a CSR with the node credentials (selfnodeclient), stored as kubelet-client-current.pem
                _ = Task.Run(async () =>
                {
                    var last = "";
                    while (!ct.IsCancellationRequested && !File.Exists(PemPath))
                    {
                        try
                        {
                            var (cert, key, csr) = await TlsBootstrap.RequestAsync(api, nodeName, TimeSpan.FromMinutes(5), ct);
                            TlsBootstrap.WritePem(PemPath, cert, key);
                            Log($"client certificate rotated through CSR {csr}: wrote {PemPath}");
                        }
                        catch (Exception e) when (e is ApiError or TimeoutException or IOException)
                        {
                            if (e.Message != last) Log($"client certificate rotation: {e.Message}");
                            last = e.Message;
                            await Task.Delay(TimeSpan.FromSeconds(2), ct);
                        }
                    }
                }, ct);
            }
            return api;
        }
        if (bootstrap is null || !File.Exists(bootstrap)) return null;
        var bootBytes = await File.ReadAllBytesAsync(bootstrap, ct);
        var bootView = KubeConfigFile.Read(bootBytes, bootstrap);
        using (var boot = ApiClient.FromKubeconfig(bootBytes, bootstrap))
        {
            Log($"TLS bootstrap with {bootstrap} against {bootView.Server}");
            var (cert, key, csr) = await TlsBootstrap.RequestAsync(boot, nodeName, TimeSpan.FromMinutes(5), ct);
            TlsBootstrap.WritePem(PemPath, cert, key);
            Directory.CreateDirectory(Path.GetDirectoryName(kubeconfig)!);
            var conf = TlsBootstrap.KubeletConf(bootView.Server!, bootView.Cluster.Str("certificate-authority-data") ?? "", PemPath);
            await File.WriteAllTextAsync(kubeconfig + ".tmp", conf, ct);
            File.SetUnixFileMode(kubeconfig + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(kubeconfig + ".tmp", kubeconfig, true);
            Log($"TLS bootstrap done: CSR {csr} approved and signed; wrote {PemPath} and {kubeconfig}");
        }
        return ApiClient.FromKubeconfig(await File.ReadAllBytesAsync(kubeconfig, ct), kubeconfig);
    }

    private async Task<bool> RegisterAsync(ApiClient api, CancellationToken ct)
    {
        var node = NodeObjects.Node(nodeName, address, NodeObjects.Taints(flags.GetValueOrDefault("register-with-taints")), version, CniReady(), DateTimeOffset.UtcNow);
        var (status, body) = await api.SendAsync(HttpMethod.Post, "api/v1/nodes", node, ct: ct);
        if (status == 201 || status == 200) { Log($"registered node {nodeName}"); return true; }
        if (status == 409) { Log($"node {nodeName} already registered"); return true; }
        throw new ApiError(status, $"registering node {nodeName}: {status} {(string?)body?["message"]}");
    }

    private async Task UpdateStatusAsync(ApiClient api, CancellationToken ct)
    {
        var path = "api/v1/nodes/" + nodeName;
        var node = await api.GetAsync(path, ct);
        if (node is null) { await RegisterAsync(api, ct); return; }
        var ready = CniReady();
        var wasReady = (node["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") == true;
        node["status"] = NodeObjects.Status(node["status"] as JsonObject, nodeName, address, version, ready, DateTimeOffset.UtcNow);
        await api.PutAsync(path + "/status", node, ct);
        if (ready != wasReady) Log($"node {nodeName} is {(ready ? "Ready" : "NotReady (no CNI config in " + CniDir + ")")}");
    }

    private async Task RenewLeaseAsync(ApiClient api, CancellationToken ct)
    {
        var path = "apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + nodeName;
        var lease = await api.GetAsync(path, ct);
        if (lease is null) await api.PostAsync("apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", NodeObjects.Lease(nodeName, DateTimeOffset.UtcNow, null), ct);
        else await api.PutAsync(path, NodeObjects.Lease(nodeName, DateTimeOffset.UtcNow, (string?)lease["metadata"]?["resourceVersion"]), ct);
    }

    // InstallFlannelCniAsync emulates kube-flannel-ds's install-cni init container: copy cni-conf.json of kube-flannel-cfg to
    // /etc/cni/net.d/10-flannel.conflist once the DaemonSet exists (a 403 on the DaemonSet — kubelets may not read them — counts
    // as present when the ConfigMap is there).
    private async Task InstallFlannelCniAsync(ApiClient api, CancellationToken ct)
    {
        if (CniReady()) return;
        foreach (var ns in new[] { "kube-flannel", "kube-system" })
        {
            var cm = await api.GetAsync($"api/v1/namespaces/{ns}/configmaps/kube-flannel-cfg", ct);
            if ((string?)cm?["data"]?["cni-conf.json"] is not { Length: > 0 } conf) continue;
            var (status, _) = await api.SendAsync(HttpMethod.Get, $"apis/apps/v1/namespaces/{ns}/daemonsets/kube-flannel-ds", ct: ct);
            if (status == 404) continue;
            Directory.CreateDirectory(CniDir);
            await File.WriteAllTextAsync(Path.Join(CniDir, "10-flannel.conflist"), conf, ct);
            Log($"install-cni (flannel emulation): wrote {CniDir}/10-flannel.conflist from {ns}/kube-flannel-cfg");
            return;
        }
    }

    private readonly Dictionary<string, string> mirrored = new(StringComparer.Ordinal);

    private async Task MirrorPodsAsync(ApiClient api, CancellationToken ct)
    {
        if (pods is null) return;
        var current = pods.Running.Where(p => p.Plan is not null).ToDictionary(p => p.Name);
        foreach (var (name, pod) in current)
        {
            var key = pod.Hash + "/" + pod.Pid;
            if (mirrored.GetValueOrDefault(name) == key) continue;
            var obj = NodeObjects.MirrorPod(pod.Plan!, nodeName, address, pod.Started);
            var ns = (string)obj["metadata"]!["namespace"]!;
            var podName = (string)obj["metadata"]!["name"]!;
            var path = $"api/v1/namespaces/{ns}/pods/{podName}";
            var existing = await api.GetAsync(path, ct);
            if (existing is not null && (string?)existing["metadata"]?["annotations"]?["kubernetes.io/config.mirror"] != pod.Hash)
            {
                await api.DeleteAsync(path, ct);
                existing = null;
            }
            if (existing is null) existing = await api.PostAsync($"api/v1/namespaces/{ns}/pods", obj, ct);
            existing["status"] = obj["status"]!.DeepClone();
            await api.PutAsync(path + "/status", existing, ct);
            mirrored[name] = key;
        }
        foreach (var gone in mirrored.Keys.Where(n => !current.ContainsKey(n)).ToList())
        {
            await api.DeleteAsync($"api/v1/namespaces/kube-system/pods/{gone}-{nodeName}", ct);
            mirrored.Remove(gone);
        }
    }

    private static bool CniReady() =>
        Directory.Exists(CniDir) && Directory.EnumerateFiles(CniDir).Any(f => f.EndsWith(".conf") || f.EndsWith(".conflist") || f.EndsWith(".json"));

    /// <summary>DefaultRouteAddress is the IPv4 address of the interface holding the default route (/proc/net/route).</summary>
    public static string? DefaultRouteAddress()
    {
        try
        {
            var iface = File.ReadAllLines("/proc/net/route").Skip(1).Select(l => l.Split('\t', StringSplitOptions.TrimEntries))
                .FirstOrDefault(f => f.Length > 2 && f[1] == "00000000")?[0];
            var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == iface);
            return nic?.GetIPProperties().UnicastAddresses.FirstOrDefault(a => a.Address.AddressFamily == AddressFamily.InterNetwork)?.Address.ToString();
        }
        catch (IOException) { return null; }
    }
}
