using System.Text;

namespace Kubeforge.Cluster.Ha;

/// <summary>HaproxyConfig renders /etc/haproxy/haproxy.cfg: a TCP (TLS passthrough) frontend on *:port (the VIP port, so
/// the local kube-apiserver keeps 6443) and a backend of every control plane's API server, actively checked with
/// <c>GET /readyz</c> over TLS verified against the cluster CA.</summary>
public static class HaproxyConfig
{
    /// <summary>Render returns the haproxy.cfg bytes for host (the same on every control plane but for the header).</summary>
    public static byte[] Render(ClusterFile file, ClusterHost host, HaPaths paths)
    {
        var ha = HaLayout.Ha(file);
        var sb = new StringBuilder();
        sb.Append(HaLayout.Header("#", file, host, "haproxy in front of the kube-apiservers"));
        sb.Append($"""
            # TCP passthrough: TLS ends at the apiservers (clients authenticate with certificates). Checks: GET /readyz over
            # TLS verified with the cluster CA; a server is out after {HaLayout.HaproxyFall} failed checks (inter {HaLayout.HaproxyInter}, then {HaLayout.HaproxyFastInter}).

            global
                log /dev/log local0 notice
                user haproxy
                group haproxy

            defaults
                mode tcp
                log global
                option tcplog
                option dontlognull
                # a failed connect is retried once on another apiserver, so clients rarely see a server that just died
                option redispatch
                retries 1
                timeout connect 2s
                # long: watches are long-lived and client-go keeps them alive with HTTP/2 pings
                timeout client 1h
                timeout server 1h
                timeout check 1s

            frontend kube-apiserver
                bind {(ha.Vip.Contains(':') ? ":::" : "*:")}{ha.Port}
                default_backend kube-apiserver

            backend kube-apiserver
                balance leastconn
                option httpchk GET /readyz
                http-check expect status 200
                default-server check check-ssl verify required ca-file {paths.CaFile} inter {HaLayout.HaproxyInter} fastinter {HaLayout.HaproxyFastInter} downinter {HaLayout.HaproxyDownInter} fall {HaLayout.HaproxyFall} rise {HaLayout.HaproxyRise} on-marked-down shutdown-sessions

            """);
        foreach (var b in HaLayout.Backends(file))
        {
            sb.Append($"    server {b.Name} {b.Endpoint}\n");
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
