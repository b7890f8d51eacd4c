using System.Globalization;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.Cluster.Ha;

/// <summary>HaBackend is one kube-apiserver behind the load balancer: its host name, cluster address and bind port.</summary>
public sealed record HaBackend(string Name, string Address, int Port)
{
    /// <summary>Endpoint is "address:port" ("[v6]:port" for IPv6).</summary>
    public string Endpoint => AltNames.JoinHostPort(Address, Port);
}

/// <summary>HaLayout holds the facts all HA renders share: which API servers sit behind the balancer, each control plane's
/// VRRP priority, and the timings (with the failover times they give; docs/ha.md explains the numbers).</summary>
public static class HaLayout
{
    /// <summary>Marker starts every file Kubeforge writes here; a file without it is the distro's (backed up once).</summary>
    public const string Marker = "Written by kubeforge";

    /// <summary>TopPriority is the first control plane's VRRP priority; each next one is <see cref="PriorityStep"/> lower.</summary>
    public const int TopPriority = 200;

    /// <summary>PriorityStep is the priority gap between consecutive control planes: 20 up to 5 control planes, less for
    /// more (at least 1). A wide gap matters: when the master's keepalived stops, each backup waits its skew time
    /// (256 − priority) × advert / 256, and a 20 gap puts ~40 ms between the backups, so the next one wins alone instead of
    /// two backups turning master at once (measured with a gap of 1: both took the VIP for ~1 s).</summary>
    public static int PriorityStep(int controlPlanes) => Math.Max(1, Math.Min(20, 99 / Math.Max(1, controlPlanes - 1)));

    /// <summary>TrackWeight is added to a node's priority while its local API server fails the check: one more than the
    /// spread of the priorities, so any failing node drops below every healthy one while failing nodes keep their order
    /// (the VIP always lives somewhere; before kubeadm init nobody is healthy and the first control plane holds it).</summary>
    public static int TrackWeight(int controlPlanes) => -(PriorityStep(controlPlanes) * Math.Max(0, controlPlanes - 1) + 1);

    /// <summary>AdvertInterval is the VRRPv3 advertisement interval (RFC 5798 allows centiseconds; VRRPv2 only whole seconds).</summary>
    public static readonly TimeSpan AdvertInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>CheckInterval, CheckFall, CheckRise, CheckTimeout are the vrrp_script's settings (seconds / counts): a
    /// refused apiserver lowers the priority after 2 checks (~1-2 s), a hung one after 2 timed-out requests.</summary>
    public const int CheckInterval = 1, CheckFall = 2, CheckRise = 2, CheckTimeout = 3;

    /// <summary>CurlMaxTime bounds one check request (seconds), below CheckTimeout; 1 s proved too tight for a loaded host.</summary>
    public const int CurlMaxTime = 2;

    /// <summary>HaproxyInter, HaproxyFastInter, HaproxyDownInter, HaproxyFall, HaproxyRise are haproxy's check settings:
    /// a refused apiserver leaves the pool after ≈ 0.5 + 2 × 0.25 s, a silent one after ≈ 2 s.</summary>
    public const string HaproxyInter = "500ms", HaproxyFastInter = "250ms", HaproxyDownInter = "1s";

    /// <summary>HaproxyFall, HaproxyRise are the consecutive failed / passed checks that take a server out / back in.</summary>
    public const int HaproxyFall = 3, HaproxyRise = 2;

    /// <summary>Backends lists every control plane's API server: its cluster address and the kubeadm bind port (6443
    /// unless spec.kubeadm overrides localAPIEndpoint.bindPort).</summary>
    public static IReadOnlyList<HaBackend> Backends(ClusterFile file) =>
        file.ControlPlanes.Select(LocalApiServerOf(file)).ToList();

    /// <summary>LocalApiServer is host's own API server (what keepalived's check script asks).</summary>
    public static HaBackend LocalApiServer(ClusterFile file, ClusterHost host) => LocalApiServerOf(file)(host);

    private static Func<ClusterHost, HaBackend> LocalApiServerOf(ClusterFile file) =>
        h => new HaBackend(h.Name, h.ClusterAddress, file.ToKubeadmConfig(h).BindPort);

    /// <summary>Ha returns spec.ha or throws a UserError saying the HA steps need it.</summary>
    public static HaSpec Ha(ClusterFile file) => file.Ha
        ?? throw new UserError($"{file.Source}: spec.ha is not set, so there is no VIP or load balancer to configure; add spec.ha with vip, or drop the load-balancer and vip steps");

    /// <summary>Priority is host's VRRP priority by its position among the control planes (200, 180, 160 for three).</summary>
    public static int Priority(ClusterFile file, ClusterHost host)
    {
        var cps = file.ControlPlanes.ToList();
        var i = cps.IndexOf(host);
        if (i < 0)
        {
            throw new UserError($"{file.Source}: {host.Label} is not a control plane; keepalived and the API load balancer run on control planes only");
        }
        return TopPriority - PriorityStep(cps.Count) * i;
    }

    /// <summary>SkewTime is RFC 5798's ((256 − priority) × advert interval) / 256: how long a backup waits after a
    /// priority-0 advertisement (the master's keepalived stopping) before it takes over.</summary>
    public static TimeSpan SkewTime(int priority) => AdvertInterval * ((256 - priority) / 256.0);

    /// <summary>MasterDownInterval is RFC 5798's 3 × advert interval + skew: how long a backup waits after the last
    /// advertisement of a master that died silently (host down). With 0.5 s and priority 199: 1.61 s.</summary>
    public static TimeSpan MasterDownInterval(int priority) => AdvertInterval * 3 + SkewTime(priority);

    /// <summary>Interface is the interface keepalived puts the VIP on: spec.ha.keepalived.interface, else the host's
    /// interface, else its default-route interface; a UserError when none is known.</summary>
    public static string Interface(ClusterFile file, ClusterHost host, string? defaultRouteInterface) =>
        HaLayout.Ha(file).Keepalived.Interface ?? host.Interface ?? defaultRouteInterface
        ?? throw new UserError($"{file.Source}: {host.Label} has no default route, so the VIP's interface is unknown; set spec.ha.keepalived.interface or the host's interface");

    /// <summary>Seconds formats a duration in seconds for config files ("0.5", "2").</summary>
    internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>Header is the comment block on top of a rendered file.</summary>
    internal static string Header(string comment, ClusterFile file, ClusterHost host, string what) =>
        $"{comment} {Marker}: {what} of cluster \"{file.Name}\" on {host.Name}.\n" +
        $"{comment} Do not edit: kubeforge up rewrites it (docs/ha.md explains the layout).\n";
}
