using Kubeforge.Node;

namespace Kubeforge.Cluster.Ha;

/// <summary>HaPaths are the node paths (and the one distro-specific account) the HA renders and steps use, so tests can render
/// with temporary paths. <see cref="For"/> gives the real locations of a distro family.</summary>
public sealed record HaPaths
{
    public string HaproxyConfig { get; init; } = "/etc/haproxy/haproxy.cfg";
    public string NginxConfig { get; init; } = "/etc/nginx/nginx.conf";
    public string NginxPid { get; init; } = "/run/nginx.pid";
    public string NginxErrorLog { get; init; } = "/var/log/nginx/error.log";

    /// <summary>NginxUser is the account nginx workers run as (Debian www-data, RPM distros nginx).</summary>
    public string NginxUser { get; init; } = "www-data";

    /// <summary>NginxModuleIncludes are include globs that load the stream module (Debian modules-enabled, RPM
    /// /usr/share/nginx/modules); a glob that matches nothing is fine for nginx, so both are listed.</summary>
    public IReadOnlyList<string> NginxModuleIncludes { get; init; } = ["/etc/nginx/modules-enabled/*.conf", "/usr/share/nginx/modules/*.conf"];
    public string KeepalivedConfig { get; init; } = "/etc/keepalived/keepalived.conf";
    public string CheckScript { get; init; } = "/etc/keepalived/check_apiserver.sh";

    /// <summary>CaFile is the cluster CA the health checks verify the API servers' serving certificates with: a copy of the
    /// first control plane's ca.crt owned by the load balancer set-up, so haproxy and keepalived can start on a control plane
    /// before it joins (a joining node must not hold /etc/kubernetes/pki/ca.crt yet: kubeadm's join preflight refuses it).</summary>
    public string CaFile { get; init; } = "/etc/kubeforge/ha/kubernetes-ca.crt";

    /// <summary>Default are the Debian/Ubuntu paths.</summary>
    public static readonly HaPaths Default = new();

    /// <summary>For returns the paths of a distro family (only the nginx account differs).</summary>
    public static HaPaths For(OsFamily family) => family == OsFamily.Rpm ? Default with { NginxUser = "nginx" } : Default;

    /// <summary>BackupSuffix is appended to a distro config file we replace (saved once, never overwritten).</summary>
    public const string BackupSuffix = ".kubeforge-backup";

    /// <summary>CandidateSuffix names the file a new config is validated in before it replaces the active one.</summary>
    public const string CandidateSuffix = ".kubeforge-new";
}
