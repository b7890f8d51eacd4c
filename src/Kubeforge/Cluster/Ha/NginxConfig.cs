using System.Text;

namespace Kubeforge.Cluster.Ha;

/// <summary>NginxConfig renders /etc/nginx/nginx.conf for the nginx alternative: a stream (TCP passthrough) server on the
/// VIP port in front of every API server. nginx OSS has no active health checks (that is NGINX Plus): a server is
/// skipped after max_fails failed connects for fail_timeout, and a failed connect moves on to the next server, so a dead
/// apiserver costs each client at most one connect attempt, but an apiserver that accepts TCP while not ready is not
/// noticed (haproxy's /readyz check does notice). Debian needs libnginx-mod-stream, RPM distros nginx-mod-stream.</summary>
public static class NginxConfig
{
    /// <summary>MaxFails and FailTimeout are the passive health settings of each upstream server.</summary>
    public const int MaxFails = 1, FailTimeoutSeconds = 5;

    /// <summary>Render returns the nginx.conf bytes for host.</summary>
    public static byte[] Render(ClusterFile file, ClusterHost host, HaPaths paths)
    {
        var ha = HaLayout.Ha(file);
        var sb = new StringBuilder();
        sb.Append(HaLayout.Header("#", file, host, "nginx stream proxy in front of the kube-apiservers"));
        sb.Append("# Passive health only (nginx OSS): a server is skipped for fail_timeout after max_fails failed connects.\n\n");
        sb.Append($"user {paths.NginxUser};\nworker_processes auto;\npid {paths.NginxPid};\nerror_log {paths.NginxErrorLog} notice;\n");
        foreach (var inc in paths.NginxModuleIncludes)
        {
            sb.Append($"include {inc};\n");
        }
        sb.Append("\nevents {\n    worker_connections 4096;\n}\n\nstream {\n    upstream kube_apiserver {\n        least_conn;\n");
        foreach (var b in HaLayout.Backends(file))
        {
            sb.Append($"        server {b.Endpoint} max_fails={MaxFails} fail_timeout={FailTimeoutSeconds}s;\n");
        }
        sb.Append("    }\n\n    server {\n");
        sb.Append(ha.Vip.Contains(':') ? $"        listen [::]:{ha.Port};\n" : $"        listen {ha.Port};\n");
        sb.Append("""
                    proxy_pass kube_apiserver;
                    proxy_connect_timeout 1s;
                    # long: watches are long-lived and client-go keeps them alive with HTTP/2 pings
                    proxy_timeout 1h;
                    proxy_next_upstream on;
                }
            }

            """);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
