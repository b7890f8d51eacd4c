using System.Security.Cryptography.X509Certificates;
using Kubeforge.LeaderElection;

namespace LeaderService;

/// <summary>Program is a replica of an active/passive service: every replica stands for election on one Lease; only the
/// leader serves (200 on its port), the others answer 503. On losing the lease the replica goes back to candidate.</summary>
public static class Program
{
    /// <summary>Main reads --server, --ca-file, --client-cert, --client-key, --port, --lease-name, --namespace and the
    /// component leader-election flags (--leader-elect-lease-duration etc.); exits on SIGTERM, releasing the lease.</summary>
    public static async Task<int> Main(string[] args)
    {
        var flags = args.Where(a => a.StartsWith("--", StringComparison.Ordinal))
            .Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        string Flag(string name) => flags.TryGetValue("--" + name, out var v) ? v : throw new ArgumentException($"--{name} is required");
        var le = LeaderElectionConfig.FromFlags(new Dictionary<string, string>(flags)
        {
            ["--leader-elect-resource-name"] = flags.GetValueOrDefault("--lease-name", "leader-service"),
            ["--leader-elect-resource-namespace"] = flags.GetValueOrDefault("--namespace", "default"),
        });
        var identity = LeaderElectionConfig.NewIdentity();
        using var http = ApiClient(Flag("server"), Flag("ca-file"), Flag("client-cert"), Flag("client-key"));
        var leading = 0;

        var app = WebApplication.CreateSlimBuilder(args).Build();
        app.Urls.Add($"http://127.0.0.1:{Flag("port")}");
        app.Run(async ctx =>
        {
            var isLeader = Volatile.Read(ref leading) == 1;
            ctx.Response.StatusCode = isLeader ? 200 : 503;
            await ctx.Response.WriteAsync(isLeader ? $"leader {identity}\n" : "standby\n");
        });
        await app.StartAsync();
        Console.WriteLine($"leader-service {identity}: listening on port {Flag("port")}");

        var stop = app.Lifetime.ApplicationStopping;
        while (!stop.IsCancellationRequested)
        {
            var elector = new LeaderElector(le.ToConfig(new HttpLeaseClient(http), identity, new LeaderCallbacks
            {
                OnStartedLeading = async ct =>
                {
                    Volatile.Write(ref leading, 1);
                    Console.WriteLine($"leader-service {identity}: leading");
                    try { await Task.Delay(Timeout.Infinite, ct); }
                    catch (OperationCanceledException) { }
                    Volatile.Write(ref leading, 0);
                },
                OnStoppedLeading = () => { Volatile.Write(ref leading, 0); Console.WriteLine($"leader-service {identity}: not leading"); },
                OnNewLeader = id => Console.WriteLine($"leader-service {identity}: leader is {id}"),
            }, onError: e => Console.Error.WriteLine($"leader-service {identity}: {e}")));
            await elector.RunAsync(stop);
        }
        await app.StopAsync();
        return 0;
    }

    private static HttpClient ApiClient(string server, string caFile, string certFile, string keyFile)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caFile));
        var cert = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [cert];
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => cert;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, c, _, _) =>
        {
            if (c is null) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(c));
        };
        return new HttpClient(handler) { BaseAddress = new Uri(server), Timeout = TimeSpan.FromSeconds(30) };
    }
}
