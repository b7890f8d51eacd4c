using System.Diagnostics;
using Xunit.Abstractions;
using Kubeforge.Cluster.Ha;
using Kubeforge.IntegrationTests.Kit;
using static Kubeforge.IntegrationTests.Ha.Fmt;

namespace Kubeforge.IntegrationTests.Ha;

/// <summary>VipFailoverTests run three network-namespace "control planes" with the test API server, haproxy and keepalived
/// started from Kubeforge's rendered configs, and measure (polling every 50 ms) how fast the VIP and the API through it
/// come back after the holder's keepalived stops, the holder's whole host dies, or only its API server stops.</summary>
[Collection("timing")]
public sealed class VipFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ThreeSeconds = TimeSpan.FromSeconds(3);
    private static readonly string VipReadyz = $"https://{HaNetLab.Vip}:8443/readyz";
    private static readonly int[] All = [1, 2, 3];

    private static async Task<HaNetLab> StartAsync(bool keepalived = true, string loadBalancer = "haproxy")
    {
        var lab = new HaNetLab(loadBalancer);
        try
        {
            foreach (var i in All) lab.StartApiServer(i);
            await lab.WaitApiServersAsync();
            foreach (var i in All)
            {
                if (loadBalancer == "haproxy") lab.StartHaproxy(i);
                if (keepalived) lab.StartKeepalived(i);
            }
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    /// <summary>WaitVipAsync polls until exactly one of alive holds the VIP and accept(it) holds; returns it and the time.</summary>
    private static async Task<(int Holder, TimeSpan After)> WaitVipAsync(HaNetLab lab, IReadOnlyCollection<int> alive, Func<int, bool> accept, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var holders = await lab.HoldersAsync(alive);
            if (holders.Count == 1 && accept(holders[0]))
            {
                return (holders[0], sw.Elapsed);
            }
            Assert.True(sw.Elapsed < timeout, $"after {Ms(sw.Elapsed)} the VIP holders among [{string.Join(", ", alive)}] are [{string.Join(", ", holders)}]; keepalived logs:\n" +
                string.Join("\n---\n", alive.Select(i => $"cp{i}:\n" + lab.Log(i, "keepalived"))));
            await Task.Delay(Poll);
        }
    }

    private static async Task<TimeSpan> WaitApiAsync(HaNetLab lab, string url, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!await lab.Http.OkAsync(url))
        {
            Assert.True(sw.Elapsed < timeout, $"{url} did not answer within {Ms(timeout)}; haproxy log of cp1:\n{lab.Log(1, "haproxy")}");
            await Task.Delay(Poll);
        }
        return sw.Elapsed;
    }

    [Fact]
    public async Task VipMovesWithinThreeSecondsWhenKeepalivedStopsAndWhenTheHostDies()
    {
        using var lab = await StartAsync();
        var (holder, elected) = await WaitVipAsync(lab, All, _ => true, TimeSpan.FromSeconds(15));
        Assert.Equal(1, holder); // highest priority (first control plane)
        var first = await WaitApiAsync(lab, VipReadyz, TimeSpan.FromSeconds(10));
        output.WriteLine($"initial election: cp{holder} holds {HaNetLab.Vip} after {Ms(elected)}; {VipReadyz} answered (CA-verified, through haproxy) {Ms(first)} later");

        var clock = Stopwatch.StartNew();
        await using (var api = lab.Http.Sample(VipReadyz, clock))
        {
            await Task.Delay(300);
            var t0 = clock.Elapsed;
            HaNetLab.Terminate(lab.Of(holder, "keepalived")); // systemctl stop keepalived: SIGTERM, priority-0 advert
            var (next, moved) = await WaitVipAsync(lab, All, h => h != holder, TimeSpan.FromSeconds(10));
            moved = clock.Elapsed - t0;
            await WaitApiAsync(lab, VipReadyz, TimeSpan.FromSeconds(10));
            await Task.Delay(500);
            var gap = api.GapAfter(t0);
            output.WriteLine($"keepalived of cp{holder} stopped: VIP on cp{next} after {Ms(moved)}; API through the VIP: longest gap {Ms(gap)}, {api.Failures(t0)} of {api.Count(t0)} probes failed");
            Assert.Equal(2, next);
            Assert.True(moved < ThreeSeconds, $"VIP took {Ms(moved)}");
            Assert.True(gap < ThreeSeconds, $"API gap {Ms(gap)}");
            holder = next;
        }

        clock.Restart();
        await using (var api = lab.Http.Sample(VipReadyz, clock))
        {
            await Task.Delay(300);
            var t0 = clock.Elapsed;
            lab.KillHost(holder);
            int[] alive = [.. All.Where(i => i != holder)];
            var (next, _) = await WaitVipAsync(lab, alive, _ => true, TimeSpan.FromSeconds(10));
            var moved = clock.Elapsed - t0;
            var apiBack = await WaitApiAsync(lab, VipReadyz, TimeSpan.FromSeconds(10));
            await Task.Delay(500);
            var gap = api.GapAfter(t0);
            output.WriteLine($"host cp{holder} down (link down, all its processes killed): VIP on cp{next} after {Ms(moved)} " +
                $"(computed master-down interval {Ms(HaLayout.MasterDownInterval(HaLayout.Priority(lab.File, lab.File.Host($"cp{next}"))))}); API through the VIP: longest gap {Ms(gap)}, {api.Failures(t0)} of {api.Count(t0)} probes failed");
            Assert.Equal(3, next);
            Assert.True(moved < ThreeSeconds, $"VIP took {Ms(moved)}");
            Assert.True(gap < ThreeSeconds, $"API gap {Ms(gap)}");
        }
    }

    [Fact]
    public async Task StoppingOnlyTheHoldersApiServerMovesTheVip()
    {
        using var lab = await StartAsync();
        var (holder, _) = await WaitVipAsync(lab, All, _ => true, TimeSpan.FromSeconds(15));
        await WaitApiAsync(lab, VipReadyz, TimeSpan.FromSeconds(10));
        var check = HaNetLab.Ns(holder);
        Assert.Equal(0, Proc.Run("ip", "netns", "exec", check, "sh", lab.PathsOf(holder).CheckScript).Code);

        var clock = Stopwatch.StartNew();
        await using var api = lab.Http.Sample(VipReadyz, clock);
        await Task.Delay(300);
        var t0 = clock.Elapsed;
        HaNetLab.Terminate(lab.Of(holder, "apiserver"));
        var (next, _) = await WaitVipAsync(lab, All, h => h != holder, TimeSpan.FromSeconds(12));
        var moved = clock.Elapsed - t0;
        var (checkCode, checkOut) = Proc.Run("ip", "netns", "exec", check, "sh", lab.PathsOf(holder).CheckScript);
        Assert.NotEqual(0, checkCode);
        await Task.Delay(500);
        var gap = api.GapAfter(t0);
        output.WriteLine($"API server of cp{holder} stopped: check script exits {checkCode} ({checkOut.Trim()}); VIP on cp{next} after {Ms(moved)} " +
            $"(bound: fall {HaLayout.CheckFall} x interval {HaLayout.CheckInterval} s + master-down {Ms(HaLayout.MasterDownInterval(HaLayout.Priority(lab.File, lab.File.Host($"cp{next}"))))}); " +
            $"API through the VIP meanwhile (haproxy routes around it): longest gap {Ms(gap)}, {api.Failures(t0)} of {api.Count(t0)} probes failed");
        Assert.Equal(2, next);
        Assert.True(moved < TimeSpan.FromSeconds(6), $"VIP took {Ms(moved)}");
        Assert.True(gap < ThreeSeconds, $"API gap {Ms(gap)}");
        Assert.Contains("Changing effective priority", string.Join('\n', File.ReadAllLines(Path.Join(lab.Dir, $"keepalived-cp{holder}.log"))));
    }

    [Fact]
    public async Task HaproxyDropsADeadBackendAndKeepsAnswering()
    {
        using var lab = await StartAsync(keepalived: false);
        var viaCp1 = $"https://{HaNetLab.Address(1)}:8443/readyz"; // cp1's haproxy; the cert carries cp1's address
        await WaitApiAsync(lab, viaCp1, TimeSpan.FromSeconds(10));
        await Task.Delay(1500); // every backend checked up (rise 2)

        var clock = Stopwatch.StartNew();
        await using var api = lab.Http.Sample(viaCp1, clock);
        await Task.Delay(300);
        var t0 = clock.Elapsed;
        HaNetLab.Terminate(lab.Of(3, "apiserver"));
        var sw = Stopwatch.StartNew();
        var log = Path.Join(lab.Dir, "haproxy-cp1.log");
        while (!File.ReadAllText(log).Contains("kube-apiserver/cp3 is DOWN", StringComparison.Ordinal))
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "haproxy never marked cp3 down:\n" + lab.Log(1, "haproxy"));
            await Task.Delay(Poll);
        }
        var down = sw.Elapsed;
        var afterDown = clock.Elapsed;
        await Task.Delay(2500);
        var failures = api.Failures(t0);
        output.WriteLine($"API server of cp3 stopped: cp1's haproxy marked it DOWN after {Ms(down)}; {failures} of {api.Count(t0)} requests through it failed " +
            $"(longest gap {Ms(api.GapAfter(t0))}), {api.Failures(afterDown)} of {api.Count(afterDown)} after it was marked down");
        Assert.True(down < ThreeSeconds, $"marked down after {Ms(down)}");
        // a request already forwarded to the dying server can fail (a TCP balancer cannot retry it); after DOWN none may
        Assert.True(failures <= 2, $"{failures} requests failed");
        Assert.True(api.Count(afterDown) >= 10, "too few requests after the server was marked down");
        Assert.Equal(0, api.Failures(afterDown));
        Assert.True(api.GapAfter(t0) < TimeSpan.FromSeconds(1.5), $"gap {Ms(api.GapAfter(t0))}");
    }

    [Fact]
    public async Task NginxStreamVariantValidatesAndProxiesReadyz()
    {
        using var lab = await StartAsync(keepalived: false, loadBalancer: "nginx");
        var p = lab.PathsOf(1);
        var conf = Path.Join(lab.Dir, "nginx-cp1.conf");
        File.WriteAllBytes(conf, NginxConfig.Render(lab.File, lab.File.Host("cp1"), p));
        var (code, test) = Proc.Run("nginx", "-t", "-c", conf);
        Assert.True(code == 0, test);
        lab.Start(1, "nginx", "nginx", "-c", conf, "-g", "daemon off;");
        var viaCp1 = $"https://{HaNetLab.Address(1)}:8443/readyz";
        var first = await WaitApiAsync(lab, viaCp1, TimeSpan.FromSeconds(10));

        HaNetLab.Stop(lab.Of(2, "apiserver"));
        var ok = 0;
        for (var n = 0; n < 12; n++)
        {
            ok += await lab.Http.OkAsync(viaCp1) ? 1 : 0;
        }
        output.WriteLine($"nginx -t: ok; /readyz through nginx after {Ms(first)}; with cp2's API server stopped {ok} of 12 requests succeeded (passive checks, next upstream on a failed connect)");
        Assert.Equal(12, ok);
    }
}
