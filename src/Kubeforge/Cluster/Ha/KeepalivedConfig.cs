using System.Text;

namespace Kubeforge.Cluster.Ha;

/// <summary>KeepalivedConfig renders keepalived.conf (one VRRPv3 instance holding the VIP, unicast to the other control
/// planes, tracking the local API server) and its check script.</summary>
public static class KeepalivedConfig
{
    /// <summary>ScriptName and InstanceName are the vrrp_script and vrrp_instance names.</summary>
    public const string ScriptName = "kubeforge_apiserver", InstanceName = "kubeforge_api";

    /// <summary>Render returns keepalived.conf for host. defaultRouteInterface is the host's default-route interface
    /// (used when neither spec.ha.keepalived.interface nor the host's interface is set).</summary>
    public static byte[] Render(ClusterFile file, ClusterHost host, HaPaths paths, string? defaultRouteInterface)
    {
        var ha = HaLayout.Ha(file);
        var priority = HaLayout.Priority(file, host);
        var iface = HaLayout.Interface(file, host, defaultRouteInterface);
        var peers = file.ControlPlanes.Where(h => h != host).Select(h => h.ClusterAddress).ToList();
        var v6 = ha.Vip.Contains(':');
        var sb = new StringBuilder();
        sb.Append(HaLayout.Header("!", file, host, "keepalived holding the API VIP"));
        sb.Append($$"""
            ! VRRPv3, advert every {{HaLayout.Seconds(HaLayout.AdvertInterval)}} s: a backup takes over {{HaLayout.Seconds(HaLayout.MasterDownInterval(priority))}} s (3 x advert + skew) after the
            ! last advertisement of a dead master, or after the skew ({{HaLayout.Seconds(HaLayout.SkewTime(priority))}} s here) when the master's keepalived stops.
            ! No authentication block: VRRPv3 (RFC 5798) removed it (v2's was a cleartext password); only the listed
            ! unicast peers are accepted.

            global_defs {
                router_id {{ha.Keepalived.RouterId}}
                script_user root
                enable_script_security
            }

            vrrp_script {{ScriptName}} {
                script "{{paths.CheckScript}}"
                interval {{HaLayout.CheckInterval}}
                timeout {{HaLayout.CheckTimeout}}
                fall {{HaLayout.CheckFall}}
                rise {{HaLayout.CheckRise}}
                weight {{HaLayout.TrackWeight(file.ControlPlanes.Count())}}
            }

            vrrp_instance {{InstanceName}} {
                state BACKUP
                interface {{iface}}
                virtual_router_id {{ha.Keepalived.VirtualRouterId}}
                version 3
                priority {{priority}}
                advert_int {{HaLayout.Seconds(HaLayout.AdvertInterval)}}

            """);
        if (peers.Count > 0)
        {
            sb.Append($"    unicast_src_ip {host.ClusterAddress}\n    check_unicast_src\n    unicast_peer {{\n");
            foreach (var p in peers)
            {
                sb.Append($"        {p}\n");
            }
            sb.Append("    }\n");
        }
        sb.Append($"    virtual_ipaddress {{\n        {ha.Vip}/{(v6 ? 128 : 32)} dev {iface}\n    }}\n");
        sb.Append($"    track_script {{\n        {ScriptName}\n    }}\n}}\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>RenderCheckScript returns the check script (mode 0755): exit 0 when host's own kube-apiserver answers
    /// GET /readyz with 200 over TLS verified with the cluster CA (at its cluster address, which its serving certificate
    /// carries; --fail makes any error status a failure) AND host's own load balancer answers on the VIP port (through it,
    /// /readyz of some apiserver): a holder whose haproxy/nginx stopped must give the VIP away too, or the VIP is dead.</summary>
    public static byte[] RenderCheckScript(ClusterFile file, ClusterHost host, HaPaths paths)
    {
        var api = HaLayout.LocalApiServer(file, host);
        var ha = HaLayout.Ha(file);
        var vip = new HaBackend("vip", ha.Vip, ha.Port);
        // through the local load balancer any apiserver may answer: verify the VIP's name (every serving certificate carries
        // it) while connecting to this host's own address, so the check measures this host's load balancer
        var resolve = $"{vip.Endpoint}:{(host.ClusterAddress.Contains(':') ? $"[{host.ClusterAddress}]" : host.ClusterAddress)}";
        var curl = $"curl --silent --show-error --fail --noproxy '*' --max-time {HaLayout.CurlMaxTime} --cacert '{paths.CaFile}' -o /dev/null";
        var text = "#!/bin/sh\n" + HaLayout.Header("#", file, host, "keepalived's check of the local kube-apiserver and load balancer") +
            "# Exit 0 only when the local apiserver answers /readyz with 200 over TLS verified with the cluster CA,\n" +
            "# and the local load balancer forwards the same request on the VIP port.\n" +
            $"{curl} 'https://{api.Endpoint}/readyz' || exit 1\n" +
            $"exec {curl} --resolve '{resolve}' 'https://{vip.Endpoint}/readyz'\n";
        return Encoding.UTF8.GetBytes(text);
    }
}
