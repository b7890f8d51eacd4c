using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.IntegrationTests.TestApiServer;
using Xunit.Abstractions;
using Server = Kubeforge.TestApiServer.TestApiServer;

namespace Kubeforge.IntegrationTests.LeaderElection;

/// <summary>Three samples/leader-service replicas as processes against the standalone test API server: exactly one
/// answers 200 at any moment, also across a kill -9 of the leader; every process is stopped by PID at the end.</summary>
[Collection("timing")]
public class LeaderServiceProcessTests(ITestOutputHelper output)
{
    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public async Task ExactlyOneReplicaServesAcrossALeaderKill()
    {
        using var pki = new ThrowawayPki();
        var admin = pki.Client("kubernetes-admin", "system:masters");
        var certFile = Path.Combine(pki.Dir, "admin.crt");
        var keyFile = Path.Combine(pki.Dir, "admin.key");
        await File.WriteAllTextAsync(certFile, admin.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, admin.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var apiPort = FreePort();
        var procs = new List<Process>();
        try
        {
            procs.Add(Proc.Start(Path.Combine(pki.Dir, "apiserver.log"), "dotnet", typeof(Server).Assembly.Location,
                $"--tls-cert-file={pki.ServingCertFile}", $"--tls-private-key-file={pki.ServingKeyFile}",
                $"--client-ca-file={pki.CaCertFile}", $"--secure-port={apiPort}", "--bind-address=127.0.0.1"));
            var ports = new[] { FreePort(), FreePort(), FreePort() };
            var replicas = ports.Select((p, i) => Proc.Start(Path.Combine(pki.Dir, $"replica{i}.log"), "dotnet",
                typeof(LeaderService.Program).Assembly.Location, $"--server=https://127.0.0.1:{apiPort}", $"--ca-file={pki.CaCertFile}",
                $"--client-cert={certFile}", $"--client-key={keyFile}", $"--port={p}", "--lease-name=svc",
                "--leader-elect-lease-duration=2s", "--leader-elect-renew-deadline=1.5s", "--leader-elect-retry-period=400ms")).ToList();
            procs.AddRange(replicas);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };

            async Task<int[]> Serving(IEnumerable<int> ps)
            {
                var codes = await Task.WhenAll(ps.Select(async p =>
                {
                    try { return (int)(await http.GetAsync($"http://127.0.0.1:{p}/")).StatusCode; }
                    catch (HttpRequestException) { return 0; }
                }));
                return codes;
            }

            async Task<int> WaitOneLeader(IReadOnlyList<int> ps, TimeSpan timeout)
            {
                var sw = Stopwatch.StartNew();
                while (sw.Elapsed < timeout)
                {
                    var codes = await Serving(ps);
                    Assert.True(codes.Count(c => c == 200) <= 1, $"two replicas serve at once: {string.Join(",", codes)}");
                    if (codes.Count(c => c == 200) == 1) return ps[Array.IndexOf(codes, 200)];
                    await Task.Delay(50);
                }
                throw new Xunit.Sdk.XunitException("no replica serves; logs in " + pki.Dir + ": " +
                    string.Join("\n", Directory.GetFiles(pki.Dir, "*.log").Select(f => File.ReadAllText(f))));
            }

            var leaderPort = await WaitOneLeader(ports, TimeSpan.FromSeconds(60));
            for (var i = 0; i < 20; i++) // 2 s of exactly one serving
            {
                Assert.Equal(1, (await Serving(ports)).Count(c => c == 200));
                await Task.Delay(100);
            }
            var leader = replicas[Array.IndexOf(ports, leaderPort)];
            var sw = Stopwatch.StartNew();
            Proc.Run("kill", "-KILL", leader.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(leader.WaitForExit(5000));
            var rest = ports.Where(p => p != leaderPort).ToList();
            await WaitOneLeader(rest, TimeSpan.FromSeconds(10));
            output.WriteLine($"kill -9 of the leader → another replica serves after {sw.Elapsed.TotalSeconds:0.00} s");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(6), $"takeover took {sw.Elapsed}");
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(1, (await Serving(rest)).Count(c => c == 200));
                await Task.Delay(100);
            }
        }
        finally
        {
            foreach (var p in procs)
            {
                Proc.Stop(p);
                p.Dispose();
            }
        }
    }
}
