using Kubeforge.Cluster;
using Kubeforge.ClusterObjects;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>ClusterReset resets hosts of a cluster file over SSH with the node reset workflow (the same phases as
/// <c>kubeforge reset</c> on the node: the control plane's etcd member is removed first, then its files) and checks what
/// remains on each host afterwards.</summary>
internal static class ClusterReset
{
    /// <summary>Leftover paths: what init/join wrote that reset must have removed.</summary>
    internal static readonly IReadOnlyList<string> ManagedPaths =
    [
        "/etc/kubernetes/manifests/kube-apiserver.yaml", "/etc/kubernetes/manifests/etcd.yaml",
        "/etc/kubernetes/manifests/kube-scheduler.yaml", "/etc/kubernetes/manifests/kube-controller-manager.yaml",
        "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/controller-manager.conf", "/etc/kubernetes/scheduler.conf",
        "/var/lib/kubelet/config.yaml", "/var/lib/kubelet/pki/kubelet-client-current.pem", "/var/lib/etcd/member",
    ];

    /// <summary>ResetHostAsync runs the reset workflow on host and returns what remains (empty: clean; "note: …" entries are
    /// things kubeadm's reset also leaves for the operator, such as CNI configuration).</summary>
    public static async Task<IReadOnlyList<string>> ResetHostAsync(CliIo io, ClusterCommands.Session s, ClusterHost h, CancellationToken ct)
    {
        var host = s.Pool.Get(h);
        io.Ui.Info("reset", $"Resetting {h.Name} ({h.Address})");
        var profile = await ResetWorkflow.DetectProfileAsync(host, ct).ConfigureAwait(false);
        var config = new KubeadmConfig { Version = profile.DefaultVersion, Profile = profile };
        var ctx = new PhaseContext { Config = config, Host = host, Ui = new PrefixUi(io.Ui, h.Name), Time = io.Env.Time };
        await ResetWorkflow.BackupAsync(ctx, ct).ConfigureAwait(false);
        await new WorkflowRunner(ResetWorkflow.Phases(new ResetOptions { Force = true })).RunAsync(ctx, null, [], ct).ConfigureAwait(false);
        return await LeftoversAsync(host, ct).ConfigureAwait(false);
    }

    /// <summary>LeftoversAsync lists what init/join left on a host after reset: managed files, kube-related network
    /// interfaces, processes still listening on the control-plane ports, and (as notes) CNI configuration.</summary>
    public static async Task<IReadOnlyList<string>> LeftoversAsync(IHost host, CancellationToken ct)
    {
        var left = new List<string>();
        foreach (var p in ManagedPaths)
        {
            if (await host.ExistsAsync(p, ct).ConfigureAwait(false))
            {
                left.Add(p);
            }
        }
        var links = await host.RunAsync(["ip", "-o", "link", "show"], null, ct).ConfigureAwait(false);
        foreach (var ifc in new[] { "cni0", "flannel.1", "kube-ipvs0" })
        {
            if (links.Stdout.Contains($": {ifc}:", StringComparison.Ordinal) || links.Stdout.Contains($": {ifc}@", StringComparison.Ordinal))
            {
                left.Add($"network interface {ifc} (ip link delete {ifc})");
            }
        }
        var listening = await host.RunAsync(["ss", "-Htln"], null, ct).ConfigureAwait(false);
        if (listening.Ok)
        {
            foreach (var port in new[] { 6443, 2379, 2380, 10250, 10257, 10259 })
            {
                if (listening.Stdout.Split('\n').Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(3)?.EndsWith($":{port}", StringComparison.Ordinal) == true))
                {
                    left.Add($"a process still listens on port {port}");
                }
            }
        }
        foreach (var f in await host.ListAsync("/etc/cni/net.d", ct).ConfigureAwait(false))
        {
            left.Add($"note: /etc/cni/net.d/{f} (CNI configuration; kubeadm reset leaves it too: delete it by hand)");
        }
        return left;
    }

    /// <summary>DeleteNodeAsync deletes the host's Node object through the API of another control plane (absent is fine).</summary>
    public static async Task DeleteNodeAsync(CliIo io, ClusterCommands.Session s, ClusterHost h, CancellationToken ct)
    {
        foreach (var cp in s.File.ControlPlanes.Where(cp => cp != h))
        {
            try
            {
                var bytes = await s.Pool.Get(cp).ReadFileAsync(NodePaths.KubeConfig("admin.conf"), ct).ConfigureAwait(false);
                if (bytes is null)
                {
                    continue;
                }
                using var api = HttpKubeApi.FromKubeConfig(bytes, TimeSpan.FromSeconds(15), $"{cp.Name}:admin.conf");
                var deleted = await api.DeleteAsync(ApiResource.Node, null, h.Name, ct).ConfigureAwait(false);
                io.Ui.Info("remove-node", deleted ? $"Deleted Node {h.Name}" : $"Node {h.Name} was not registered");
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                io.Ui.Warn("remove-node", $"{cp.Name}: {e.Message.Split('\n')[0]}; trying the next control plane");
            }
        }
        throw new UserError($"could not delete Node {h.Name}: no other control plane answered; run kubectl delete node {h.Name} when the API is back");
    }

    /// <summary>StopLoadBalancerAsync stops and disables keepalived and the load balancer on a control plane of a reset cluster.</summary>
    public static async Task StopLoadBalancerAsync(IHost host, ClusterFile file, CancellationToken ct)
    {
        var lb = file.Ha?.LoadBalancer == "nginx" ? "nginx" : "haproxy";
        await host.RunAsync(["systemctl", "disable", "--now", "keepalived", lb], null, ct).ConfigureAwait(false);
    }

    /// <summary>PrefixUi prefixes every line with the host name.</summary>
    private sealed class PrefixUi(IUi inner, string host) : IUi
    {
        public void Info(string phase, string message) => inner.Info(phase, $"{host}: {message}");

        public void Warn(string phase, string message) => inner.Warn(phase, $"{host}: {message}");

        public void Raw(string text) => inner.Raw(text);
    }
}
