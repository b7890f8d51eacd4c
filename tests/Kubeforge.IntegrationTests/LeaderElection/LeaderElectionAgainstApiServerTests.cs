using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kubeforge.ClusterObjects;
using Kubeforge.IntegrationTests.TestApiServer;
using Kubeforge.LeaderElection;
using Xunit.Abstractions;

namespace Kubeforge.IntegrationTests.LeaderElection;

/// <summary>Three electors against the strict test API server over HTTPS with client certificates (2 s / 1.5 s / 0.4 s):
/// two over HttpLeaseClient, one over Kubeforge's KubeApiLeaseClient + HttpKubeApi. Its bounds are wall-clock times, so it
/// runs in the "timing" collection, alone.</summary>
[Collection("timing")]
public class LeaderElectionAgainstApiServerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2), Renew = TimeSpan.FromSeconds(1.5), Retry = TimeSpan.FromSeconds(0.4);

    private sealed class Candidate
    {
        public required string Identity { get; init; }
        public required LeaderElector Elector { get; init; }
        public CancellationTokenSource Cts { get; } = new();
        public Task? Run { get; set; }
        public volatile bool Leading;
        public List<string> Errors { get; } = [];
    }

    private static Candidate Make(ILeaseClient client, string id, bool release)
    {
        Candidate? c = null;
        var elector = new LeaderElector(new LeaderElectionConfig
        {
            Lock = new LeaseLock(client, "kube-system", "le-test", id),
            LeaseDuration = Lease, RenewDeadline = Renew, RetryPeriod = Retry, ReleaseOnCancel = release,
            OnError = e => { lock (c!.Errors) c.Errors.Add(e.ToString()); },
            Callbacks = new LeaderCallbacks
            {
                OnStartedLeading = async ct =>
                {
                    c!.Leading = true;
                    try { await Task.Delay(Timeout.Infinite, ct); }
                    catch (OperationCanceledException) { }
                    finally { c.Leading = false; }
                },
                OnStoppedLeading = () => c!.Leading = false,
            },
        });
        c = new Candidate { Identity = id, Elector = elector };
        c.Run = elector.RunAsync(c.Cts.Token);
        return c;
    }

    private static byte[] KubeConfig(ApiServerHarness h, X509Certificate2 cert)
    {
        static string B64(string pem) => Convert.ToBase64String(Encoding.ASCII.GetBytes(pem));
        var yaml = $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster:
                server: {h.Server.BaseUri.ToString().TrimEnd('/')}
                certificate-authority-data: {B64(File.ReadAllText(h.Pki.CaCertFile))}
            users:
            - name: u
              user:
                client-certificate-data: {B64(cert.ExportCertificatePem())}
                client-key-data: {B64(cert.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem())}
            contexts:
            - name: x
              context:
                cluster: c
                user: u
            current-context: x
            """;
        return Encoding.UTF8.GetBytes(yaml);
    }

    private static async Task<List<Candidate>> StartThree(ApiServerHarness h, bool release, List<IDisposable> disposables)
    {
        var api = HttpKubeApi.FromKubeConfig(KubeConfig(h, h.Pki.Client("kubernetes-admin", "system:masters")), TimeSpan.FromSeconds(5));
        disposables.Add(api);
        var cs = new List<Candidate>
        {
            Make(new HttpLeaseClient(h.Admin()), "a_" + Guid.NewGuid(), release),
            Make(new HttpLeaseClient(h.Admin()), "b_" + Guid.NewGuid(), release),
            Make(new KubeApiLeaseClient(api), "c_" + Guid.NewGuid(), release),
        };
        Assert.True(await WaitFor(() => cs.Count(c => c.Leading) == 1, TimeSpan.FromSeconds(10)), "no leader emerged");
        return cs;
    }

    private static async Task<bool> WaitFor(Func<bool> cond, TimeSpan timeout, List<Candidate>? checkAtMostOne = null)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (checkAtMostOne is not null) Assert.True(checkAtMostOne.Count(c => c.Leading) <= 1, "two candidates lead at once");
            if (cond()) return true;
            await Task.Delay(10);
        }
        return cond();
    }

    private static async Task StopAll(List<Candidate> cs)
    {
        foreach (var c in cs) c.Cts.Cancel();
        await Task.WhenAll(cs.Select(c => c.Run!));
    }

    [Fact]
    public async Task KilledLeaderIsReplacedWithinTheLeaseBound()
    {
        await using var h = await ApiServerHarness.StartAsync();
        var disposables = new List<IDisposable>();
        var cs = await StartThree(h, release: false, disposables);
        Assert.True(await WaitFor(() => false, TimeSpan.FromSeconds(3), cs) == false); // 3 s of exactly-one-or-zero
        Assert.Single(cs, c => c.Leading);
        var leader = cs.Single(c => c.Leading);
        var lease = h.Store.Get("leases", "kube-system", "le-test")!;
        Assert.Equal(leader.Identity, (string?)lease["spec"]!["holderIdentity"]);
        Assert.Equal(2, (int)lease["spec"]!["leaseDurationSeconds"]!);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", (string?)lease["spec"]!["renewTime"]);
        var transitions = (int)lease["spec"]!["leaseTransitions"]!;

        var sw = Stopwatch.StartNew();
        leader.Cts.Cancel(); // a kill: no release
        await leader.Run!;
        var rest = cs.Where(c => c != leader).ToList();
        Assert.True(await WaitFor(() => rest.Any(c => c.Leading), TimeSpan.FromSeconds(8), rest), "no takeover");
        var took = sw.Elapsed;
        output.WriteLine($"kill → new leader: {took.TotalSeconds:0.000} s");
        // bound: the last renewal is observed ≤ 2.2×retry after it, expiry 2 s later, then ≤ 2.2×retry to the next attempt (+ slack)
        Assert.InRange(took, TimeSpan.FromSeconds(1.0), Lease + 2 * 2.2 * Retry + TimeSpan.FromSeconds(0.7));
        var after = h.Store.Get("leases", "kube-system", "le-test")!["spec"]!;
        Assert.Equal(transitions + 1, (int)after["leaseTransitions"]!);
        Assert.Equal(rest.Single(c => c.Leading).Identity, (string?)after["holderIdentity"]);
        Assert.DoesNotContain(rest.SelectMany(c => c.Errors), e => !e.Contains("renew"));
        await StopAll(cs);
        disposables.ForEach(d => d.Dispose());
    }

    [Fact]
    public async Task ReleasedLeaseIsTakenOnTheNextRetry()
    {
        await using var h = await ApiServerHarness.StartAsync();
        var disposables = new List<IDisposable>();
        var cs = await StartThree(h, release: true, disposables);
        var leader = cs.Single(c => c.Leading);
        var sw = Stopwatch.StartNew();
        leader.Cts.Cancel();
        await leader.Run!;
        var released = sw.Elapsed;
        var rest = cs.Where(c => c != leader).ToList();
        Assert.True(await WaitFor(() => rest.Any(c => c.Leading), TimeSpan.FromSeconds(5), rest), "no takeover after release");
        var took = sw.Elapsed;
        output.WriteLine($"release → new leader: {took.TotalSeconds:0.000} s (release written after {released.TotalSeconds:0.000} s)");
        // the next retry of a waiting candidate comes at most 2.2 x retry after the release was written (+ request slack)
        Assert.True(took - released < TimeSpan.FromSeconds(2.2 * 0.4 + 0.6), $"takeover {took - released} after the release was written");
        Assert.DoesNotContain(leader.Errors, e => e.Contains("release", StringComparison.Ordinal));
        await StopAll(cs);
        disposables.ForEach(d => d.Dispose());
    }

    [Fact]
    public async Task ForbiddenIsReportedNotSwallowed()
    {
        await using var h = await ApiServerHarness.StartAsync();
        var errors = new List<string>();
        // run until the first error has been reported (a fixed short window raced with a slow first TLS request
        // on a loaded machine); the upper bound only keeps a broken elector from hanging the suite
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var stopped = false;
        var elector = new LeaderElector(new LeaderElectionConfig
        {
            Lock = new LeaseLock(new HttpLeaseClient(h.Client(h.Pki.Client("nobody"))), "kube-system", "le-test", "x_1"),
            LeaseDuration = Lease, RenewDeadline = Renew, RetryPeriod = Retry,
            OnError = e =>
            {
                lock (errors) errors.Add(e.ToString());
                if (e.ToString().Contains("403", StringComparison.Ordinal))
                {
                    cts.CancelAfter(TimeSpan.FromMilliseconds(300));
                }
            },
            Callbacks = new LeaderCallbacks { OnStartedLeading = _ => Task.CompletedTask, OnStoppedLeading = () => stopped = true },
        });
        await elector.RunAsync(cts.Token);
        Assert.True(stopped, "OnStoppedLeading runs even when leadership was never obtained");
        // the 403 is surfaced (a slow first request on a loaded machine may also surface a timeout before it)
        Assert.Contains(errors, e => e.Contains("403", StringComparison.Ordinal));
        Assert.Null(h.Store.Get("leases", "kube-system", "le-test"));
    }
}
