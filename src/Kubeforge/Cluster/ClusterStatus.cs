using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.ControlPlane;
using Kubeforge.Hosts;
using Kubeforge.KubeConfig;
using Kubeforge.Pki;

namespace Kubeforge.Cluster;

/// <summary>CertExpiry is one certificate on a control plane: the file (a .crt or the client certificate in a kubeconfig) and
/// when it expires.</summary>
public sealed record CertExpiry(string File, DateTimeOffset NotAfter);

/// <summary>NodeReport is what <c>status</c> found on one host.</summary>
public sealed record NodeReport(string Host, string Address, bool Reachable, string? Error, string Kubelet, string Runtime,
    bool HoldsVip, IReadOnlyList<CertExpiry> Certs);

/// <summary>Probe is one check of an endpoint (API through the VIP or one API server, an etcd member).</summary>
public sealed record Probe(string Target, bool Ok, string Detail);

/// <summary>LeaseReport is a leader-election lease: holder, time since its last renewal, transitions.</summary>
public sealed record LeaseReport(string Name, string? Holder, TimeSpan? SinceRenew, int Transitions);

/// <summary>StatusReport is the whole answer of <c>kubeforge status</c>.</summary>
public sealed record StatusReport(IReadOnlyList<NodeReport> Nodes, IReadOnlyList<Probe> Apis, IReadOnlyList<Probe> Etcd,
    IReadOnlyList<LeaseReport> Leases, string? VipHolder, DateTimeOffset At)
{
    /// <summary>Problems lists what is wrong, one line each (empty: healthy).</summary>
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        foreach (var n in Nodes)
        {
            if (!n.Reachable)
            {
                p.Add($"{n.Host}: unreachable ({n.Error})");
                continue;
            }
            if (n.Kubelet != "active") p.Add($"{n.Host}: kubelet is {n.Kubelet}");
            if (n.Runtime != "active") p.Add($"{n.Host}: containerd is {n.Runtime}");
            foreach (var c in n.Certs.Where(c => c.NotAfter - At < TimeSpan.FromDays(30)))
            {
                p.Add($"{n.Host}: {c.File} expires {c.NotAfter:yyyy-MM-dd} (renew with kubeforge certs renew)");
            }
        }
        p.AddRange(Apis.Where(a => !a.Ok).Select(a => $"API {a.Target}: {a.Detail}"));
        p.AddRange(Etcd.Where(e => !e.Ok).Select(e => $"etcd {e.Target}: {e.Detail}"));
        p.AddRange(Leases.Where(l => l.Holder is null).Select(l => $"lease {l.Name}: no holder"));
        return p;
    }

    /// <summary>ToText renders the report for people.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        sb.Append("NODES\n");
        var rows = new List<string[]> { new[] { "HOST", "ADDRESS", "REACHABLE", "KUBELET", "CONTAINERD", "VIP", "CERTS (earliest expiry)" } };
        foreach (var n in Nodes)
        {
            var earliest = n.Certs.Count == 0 ? "-" : n.Certs.MinBy(c => c.NotAfter) is { } c ? $"{c.NotAfter:yyyy-MM-dd} {c.File} ({n.Certs.Count} files)" : "-";
            rows.Add([n.Host, n.Address, n.Reachable ? "yes" : "NO: " + n.Error, n.Kubelet, n.Runtime, n.HoldsVip ? "holder" : "", earliest]);
        }
        Table(sb, rows);
        sb.Append("\nAPI SERVERS\n");
        Table(sb, [["TARGET", "READY", "DETAIL"], .. Apis.Select(a => new[] { a.Target, a.Ok ? "yes" : "NO", a.Detail })]);
        sb.Append("\nETCD MEMBERS\n");
        Table(sb, [["MEMBER", "HEALTHY", "DETAIL"], .. Etcd.Select(e => new[] { e.Target, e.Ok ? "yes" : "NO", e.Detail })]);
        sb.Append("\nLEADER ELECTION\n");
        Table(sb, [["LEASE", "HOLDER", "LAST RENEWAL", "TRANSITIONS"], .. Leases.Select(l => new[]
        {
            l.Name, l.Holder ?? "(none)", l.SinceRenew is { } s ? $"{s.TotalSeconds:0.0}s ago" : "-", l.Transitions.ToString(CultureInfo.InvariantCulture),
        })]);
        var problems = Problems();
        sb.Append(problems.Count == 0 ? "\nCluster healthy.\n" : $"\n{problems.Count} problem(s):\n" + string.Concat(problems.Select(p => "  - " + p + "\n")));
        return sb.ToString();
    }

    /// <summary>ToJson renders the report as JSON (JsonNode, AOT-safe).</summary>
    public JsonObject ToJson() => new()
    {
        ["at"] = At.ToString("O", CultureInfo.InvariantCulture),
        ["vipHolder"] = VipHolder,
        ["nodes"] = new JsonArray(Nodes.Select(n => (JsonNode)new JsonObject
        {
            ["host"] = n.Host, ["address"] = n.Address, ["reachable"] = n.Reachable, ["error"] = n.Error, ["kubelet"] = n.Kubelet,
            ["containerd"] = n.Runtime, ["holdsVip"] = n.HoldsVip,
            ["certificates"] = new JsonArray(n.Certs.Select(c => (JsonNode)new JsonObject { ["file"] = c.File, ["notAfter"] = c.NotAfter.ToString("O", CultureInfo.InvariantCulture) }).ToArray()),
        }).ToArray()),
        ["apis"] = new JsonArray(Apis.Select(ProbeJson).ToArray()),
        ["etcd"] = new JsonArray(Etcd.Select(ProbeJson).ToArray()),
        ["leases"] = new JsonArray(Leases.Select(l => (JsonNode)new JsonObject
        {
            ["name"] = l.Name, ["holder"] = l.Holder, ["secondsSinceRenew"] = l.SinceRenew?.TotalSeconds, ["transitions"] = l.Transitions,
        }).ToArray()),
        ["problems"] = new JsonArray(Problems().Select(p => (JsonNode)JsonValue.Create(p)!).ToArray()),
    };

    private static JsonNode ProbeJson(Probe p) => new JsonObject { ["target"] = p.Target, ["ok"] = p.Ok, ["detail"] = p.Detail };

    private static void Table(StringBuilder sb, IReadOnlyList<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var r in rows)
        {
            sb.Append("  ").Append(string.Join("  ", r.Select((cell, c) => c == r.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd()).Append('\n');
        }
    }
}

/// <summary>ClusterStatus gathers <c>kubeforge status</c>: per node reachability, kubelet and containerd state, certificate
/// expiry of every file on every control plane and who holds the VIP; cluster-wide the API through the VIP and through each
/// API server, etcd members and their health, and the kube-scheduler / kube-controller-manager leases. Read-only.</summary>
public static class ClusterStatus
{
    /// <summary>Leases are the leader-election leases status reports (kube-system).</summary>
    public static readonly IReadOnlyList<string> Leases = ["kube-scheduler", "kube-controller-manager"];

    /// <summary>GatherAsync asks every host of file (through hostOf) and the cluster; it never throws for an unreachable host
    /// or API — those become findings.</summary>
    public static async Task<StatusReport> GatherAsync(ClusterFile file, Func<ClusterHost, IHost> hostOf, TimeProvider time, CancellationToken ct)
    {
        var nodes = await Task.WhenAll(file.Hosts.Select(h => NodeAsync(file, h, hostOf, ct))).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var apis = new List<Probe>();
        var etcd = new List<Probe>();
        var leases = new List<LeaseReport>();
        // credentials from the first reachable control plane
        byte[]? admin = null;
        IHost? cpHost = null;
        foreach (var cp in file.ControlPlanes.Where(cp => nodes.First(n => n.Host == cp.Name).Reachable))
        {
            var h = hostOf(cp);
            admin = await Try(() => h.ReadFileAsync(NodePaths.KubeConfig("admin.conf"), ct)).ConfigureAwait(false);
            if (admin is not null)
            {
                cpHost = h;
                break;
            }
        }
        if (admin is null || cpHost is null)
        {
            apis.Add(new Probe("cluster", false, "no reachable control plane has /etc/kubernetes/admin.conf"));
            return new StatusReport(nodes, apis, etcd, leases, nodes.FirstOrDefault(n => n.HoldsVip)?.Host, now);
        }
        var targets = new List<(string Name, Uri Url)>();
        if (file.Ha is not null)
        {
            targets.Add(($"VIP {file.ControlPlaneEndpoint}", new Uri($"https://{file.ControlPlaneEndpoint}")));
        }
        targets.AddRange(file.ControlPlanes.Select(cp => ($"{cp.Name} {Endpoint(cp.ClusterAddress, 6443)}", new Uri($"https://{Endpoint(cp.ClusterAddress, 6443)}"))));
        foreach (var (name, url) in targets)
        {
            apis.Add(await ReadyzAsync(admin, name, url, ct).ConfigureAwait(false));
        }
        var api = HttpKubeApi.FromKubeConfig(admin, TimeSpan.FromSeconds(5), "admin.conf", file.Ha is null ? null : targets[0].Url);
        using (api)
        {
            foreach (var name in Leases)
            {
                var lease = await Try(() => api.GetAsync(ApiResource.Lease, "kube-system", name, ct)).ConfigureAwait(false);
                var spec = lease?["spec"];
                var seen = time.GetUtcNow();
                var renew = (string?)spec?["renewTime"] is { } rt && DateTimeOffset.TryParse(rt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var r)
                    ? (seen - r < TimeSpan.Zero ? TimeSpan.Zero : seen - r) : (TimeSpan?)null;
                leases.Add(new LeaseReport(name, (string?)spec?["holderIdentity"] is { Length: > 0 } holder ? holder : null, renew, (int?)spec?["leaseTransitions"] ?? 0));
            }
        }
        etcd.AddRange(await EtcdAsync(cpHost, file, ct).ConfigureAwait(false));
        return new StatusReport(nodes, apis, etcd, leases, nodes.FirstOrDefault(n => n.HoldsVip)?.Host, now);
    }

    private static async Task<NodeReport> NodeAsync(ClusterFile file, ClusterHost h, Func<ClusterHost, IHost> hostOf, CancellationToken ct)
    {
        try
        {
            var host = hostOf(h);
            var active = await host.RunAsync(["systemctl", "is-active", "kubelet", "containerd"], null, ct).ConfigureAwait(false);
            var states = active.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var holdsVip = false;
            if (file.Ha is { } ha && h.IsControlPlane)
            {
                var addrs = await host.RunAsync(["ip", "-o", "addr", "show"], null, ct).ConfigureAwait(false);
                holdsVip = addrs.Stdout.Contains($" {ha.Vip}/", StringComparison.Ordinal);
            }
            var certs = h.IsControlPlane ? await CertsAsync(host, ct).ConfigureAwait(false) : [];
            return new NodeReport(h.Name, h.Address, true, null, states.ElementAtOrDefault(0) ?? "unknown", states.ElementAtOrDefault(1) ?? "unknown", holdsVip, certs);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new NodeReport(h.Name, h.Address, false, e.Message.Split('\n')[0], "unknown", "unknown", false, []);
        }
    }

    /// <summary>CertsAsync lists every certificate under /etc/kubernetes/pki (recursively) and the client certificate of every
    /// kubeconfig in /etc/kubernetes, with its expiry.</summary>
    public static async Task<IReadOnlyList<CertExpiry>> CertsAsync(IHost host, CancellationToken ct)
    {
        var list = new List<CertExpiry>();
        async Task Walk(string dir)
        {
            foreach (var name in await host.ListAsync(dir, ct).ConfigureAwait(false))
            {
                var path = NodePaths.Join(dir, name);
                var st = await host.StatAsync(path, ct).ConfigureAwait(false);
                if (st.IsDirectory)
                {
                    await Walk(path).ConfigureAwait(false);
                }
                else if (name.EndsWith(".crt", StringComparison.Ordinal) && await PkiStore.LoadCertAsync(host, path, ct).ConfigureAwait(false) is { } cert)
                {
                    using (cert)
                    {
                        list.Add(new CertExpiry(path, cert.NotAfter.ToUniversalTime()));
                    }
                }
            }
        }
        await Walk(NodePaths.DefaultCertDir).ConfigureAwait(false);
        foreach (var name in (await host.ListAsync(NodePaths.KubernetesDir, ct).ConfigureAwait(false)).Where(n => n.EndsWith(".conf", StringComparison.Ordinal)))
        {
            var path = NodePaths.Join(NodePaths.KubernetesDir, name);
            if (await host.ReadFileAsync(path, ct).ConfigureAwait(false) is { } bytes
                && Try(() => KubeConfigFile.Read(bytes, path).ClientCertPem) is { } pem)
            {
                using var cert = X509Certificate2.CreateFromPem(pem);
                list.Add(new CertExpiry(path, cert.NotAfter.ToUniversalTime()));
            }
        }
        return list;
    }

    private static async Task<Probe> ReadyzAsync(byte[] admin, string name, Uri url, CancellationToken ct)
    {
        try
        {
            using var api = HttpKubeApi.FromKubeConfig(admin, TimeSpan.FromSeconds(5), "admin.conf", url);
            var (status, body) = await api.GetRawAsync("/readyz", ct).ConfigureAwait(false);
            return new Probe(name, status == 200, status == 200 ? "ok" : $"HTTP {status}: {body.Split('\n')[0]}");
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new Probe(name, false, e.Message.Split('\n')[0]);
        }
    }

    private static async Task<IReadOnlyList<Probe>> EtcdAsync(IHost cp, ClusterFile file, CancellationToken ct)
    {
        var ca = await PkiStore.LoadCertAsync(cp, NodePaths.Join(NodePaths.DefaultCertDir, "etcd/ca.crt"), ct).ConfigureAwait(false);
        var crt = await cp.ReadTextAsync(NodePaths.Join(NodePaths.DefaultCertDir, "etcd/healthcheck-client.crt"), ct).ConfigureAwait(false);
        var key = await cp.ReadTextAsync(NodePaths.Join(NodePaths.DefaultCertDir, "etcd/healthcheck-client.key"), ct).ConfigureAwait(false);
        if (ca is null || crt is null || key is null)
        {
            return [new Probe("etcd", false, "the control plane has no etcd CA or healthcheck-client certificate (external etcd?)")];
        }
        using var pair = X509Certificate2.CreateFromPem(crt, key);
        using var client = X509CertificateLoader.LoadPkcs12(pair.Export(X509ContentType.Pkcs12), null);
        var endpoints = file.ControlPlanes.Select(c => $"https://{Endpoint(c.ClusterAddress, 2379)}").ToList();
        using var etcd = EtcdGatewayClient.Create(endpoints, ca, client, TimeSpan.FromSeconds(5));
        IReadOnlyList<EtcdMember> members;
        try
        {
            members = await etcd.ListAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return [new Probe("etcd", false, "member list failed on every control plane: " + e.Message.Split('\n')[0])];
        }
        using var http = Discovery.TlsHttp.Create(ca, client, TimeSpan.FromSeconds(5));
        var probes = new List<Probe>();
        foreach (var m in members)
        {
            var url = m.ClientUrls.FirstOrDefault();
            if (url is null)
            {
                probes.Add(new Probe($"{m.Name} ({m.HexId})", false, "no client URL (not started yet?)"));
                continue;
            }
            try
            {
                var body = await http.GetStringAsync(new Uri(new Uri(url), "/health"), ct).ConfigureAwait(false);
                var ok = JsonNode.Parse(body)?["health"]?.ToString() == "true";
                probes.Add(new Probe($"{m.Name} {url}{(m.IsLearner ? " (learner)" : "")}", ok, ok ? "healthy" : body.Trim()));
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                probes.Add(new Probe($"{m.Name} {url}", false, e.Message.Split('\n')[0]));
            }
        }
        return probes;
    }

    private static string Endpoint(string address, int port) => address.Contains(':') ? $"[{address}]:{port}" : $"{address}:{port}";

    private static async Task<T?> Try<T>(Func<Task<T?>> f) where T : class
    {
        try
        {
            return await f().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }
    }

    private static T? Try<T>(Func<T?> f) where T : class
    {
        try
        {
            return f();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }
    }
}
