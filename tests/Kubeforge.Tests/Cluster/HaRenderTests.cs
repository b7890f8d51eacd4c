using System.Text;
using Kubeforge.Cluster;
using Kubeforge.Cluster.Ha;
using Kubeforge.Node;
using Kubeforge.Phases;

namespace Kubeforge.Tests.Cluster;

/// <summary>HaRenderTests check the haproxy, nginx and keepalived renders and the failover arithmetic.</summary>
public sealed class HaRenderTests
{
    internal static ClusterFile Three(string extra = "") => ClusterFile.Parse(ClusterFileTests.ThreePlusTwo(extra), "cluster.yaml");

    private static string S(byte[] b) => Encoding.UTF8.GetString(b);

    [Fact]
    public void HaproxyBalancesEveryControlPlaneWithVerifiedReadyzChecks()
    {
        var f = Three();
        var cfg = S(HaproxyConfig.Render(f, f.Host("m2"), HaPaths.Default));
        Assert.StartsWith("# Written by kubeforge", cfg);
        Assert.Contains("mode tcp", cfg);
        Assert.Contains("bind *:8443\n", cfg);
        Assert.DoesNotContain(":6443\n    default_backend", cfg);
        Assert.Contains("option httpchk GET /readyz\n", cfg);
        Assert.Contains("http-check expect status 200", cfg);
        Assert.Contains("check check-ssl verify required ca-file /etc/kubeforge/ha/kubernetes-ca.crt inter 500ms fastinter 250ms downinter 1s fall 3 rise 2", cfg);
        Assert.Contains("    server m1 10.0.0.11:6443\n    server m2 10.0.0.12:6443\n    server m3 10.0.0.13:6443\n", cfg);
        Assert.DoesNotContain("10.0.0.21", cfg); // workers are not backends
        Assert.DoesNotContain("ssl-hello-chk", cfg);
    }

    [Fact]
    public void PortAndBindPortOverridesAreHonoured()
    {
        var f = Three("    port: 9443\n  kubeadm:\n    initConfiguration:\n      localAPIEndpoint:\n        bindPort: 7443\n");
        var p = HaPaths.Default with { CaFile = "/tmp/x/ca.crt" };
        var cfg = S(HaproxyConfig.Render(f, f.Host("m1"), p));
        Assert.Contains("bind *:9443\n", cfg);
        Assert.Contains("server m3 10.0.0.13:7443\n", cfg);
        Assert.Contains("ca-file /tmp/x/ca.crt ", cfg);
        var ngx = S(NginxConfig.Render(f, f.Host("m1"), p));
        Assert.Contains("listen 9443;", ngx);
        Assert.Contains("server 10.0.0.12:7443 max_fails=1 fail_timeout=5s;", ngx);
        Assert.Contains("https://10.0.0.11:7443/readyz", S(KeepalivedConfig.RenderCheckScript(f, f.Host("m1"), p)));
    }

    [Fact]
    public void NginxIsAStreamPassthroughWithPassiveChecksAndTheDistroAccount()
    {
        var f = Three();
        var deb = S(NginxConfig.Render(f, f.Host("m1"), HaPaths.For(OsFamily.Deb)));
        Assert.Contains("user www-data;", deb);
        Assert.Contains("include /etc/nginx/modules-enabled/*.conf;", deb);
        Assert.Contains("include /usr/share/nginx/modules/*.conf;", deb);
        Assert.Contains("stream {", deb);
        Assert.DoesNotContain("http {", deb);
        Assert.Contains("listen 8443;", deb);
        Assert.Equal(3, deb.Split("max_fails=1 fail_timeout=5s;").Length - 1);
        Assert.Contains("proxy_next_upstream on;", deb);
        Assert.Contains("user nginx;", S(NginxConfig.Render(f, f.Host("m1"), HaPaths.For(OsFamily.Rpm))));
    }

    [Fact]
    public void KeepalivedUsesVrrp3UnicastToTheOtherControlPlanesAndPrioritiesByOrder()
    {
        var f = Three();
        var m2 = S(KeepalivedConfig.Render(f, f.Host("m2"), HaPaths.Default, "ens3"));
        Assert.Contains("    interface ens3\n", m2);
        Assert.Contains("    version 3\n", m2);
        Assert.Contains("    advert_int 0.5\n", m2);
        Assert.Contains("    priority 180\n", m2);
        Assert.Contains("    virtual_router_id 51\n", m2);
        Assert.Contains("    state BACKUP\n", m2);
        Assert.Contains("unicast_src_ip 10.0.0.12\n", m2);
        Assert.Contains("unicast_peer {\n        10.0.0.11\n        10.0.0.13\n    }", m2);
        Assert.Contains("10.0.0.10/32 dev ens3", m2);
        Assert.Contains("script \"/etc/keepalived/check_apiserver.sh\"", m2);
        Assert.Contains("weight -41\n", m2);
        Assert.Contains("fall 2", m2);
        Assert.DoesNotContain("authentication {", m2);
        Assert.DoesNotContain("auth_pass", m2);
        Assert.DoesNotContain("nopreempt", m2);
        Assert.Contains("priority 200\n", S(KeepalivedConfig.Render(f, f.Host("m1"), HaPaths.Default, "ens3")));
        Assert.Contains("priority 160\n", S(KeepalivedConfig.Render(f, f.Host("m3"), HaPaths.Default, "ens3")));
    }

    [Fact]
    public void KeepalivedInterfaceComesFromTheFileThenTheHostThenTheDefaultRoute()
    {
        var f = Three();
        Assert.Contains("interface eth9\n", S(KeepalivedConfig.Render(f, f.Host("m1"), HaPaths.Default, "eth9")));
        f.Host("m1").Interface = "bond0";
        Assert.Contains("interface bond0\n", S(KeepalivedConfig.Render(f, f.Host("m1"), HaPaths.Default, "eth9")));
        f.Ha!.Keepalived.Interface = "vlan7";
        Assert.Contains("interface vlan7\n", S(KeepalivedConfig.Render(f, f.Host("m1"), HaPaths.Default, "eth9")));
        var g = Three();
        var e = Assert.Throws<UserError>(() => KeepalivedConfig.Render(g, g.Host("m1"), HaPaths.Default, null));
        Assert.Contains("spec.ha.keepalived.interface", e.Message);
    }

    [Fact]
    public void CheckScriptAsksTheLocalApiServerForReadyzWithTheCa()
    {
        var f = Three();
        var s = S(KeepalivedConfig.RenderCheckScript(f, f.Host("m3"), HaPaths.Default));
        Assert.StartsWith("#!/bin/sh\n", s);
        Assert.Contains("curl --silent --show-error --fail --noproxy '*' --max-time 2 --cacert '/etc/kubeforge/ha/kubernetes-ca.crt' -o /dev/null 'https://10.0.0.13:6443/readyz' || exit 1\n", s);
        // the local load balancer on the VIP port, verified with the VIP's name (any apiserver may answer through it)
        Assert.Contains($"-o /dev/null --resolve '{f.Ha!.Vip}:8443:10.0.0.13' 'https://{f.Ha.Vip}:8443/readyz'\n", s);
        Assert.DoesNotContain("--insecure", s);
    }

    [Fact]
    public void AFailingNodeDropsBelowEveryHealthyOneAndFailoverFitsInThreeSeconds()
    {
        var f = Three();
        var prios = f.ControlPlanes.Select(h => HaLayout.Priority(f, h)).ToList();
        Assert.Equal([200, 180, 160], prios);
        Assert.Equal(-41, HaLayout.TrackWeight(3));
        Assert.InRange(HaLayout.MasterDownInterval(180).TotalSeconds, 1.64, 1.65);
        Assert.InRange(HaLayout.SkewTime(200).TotalSeconds, 0.10, 0.12);
        Assert.True(HaLayout.SkewTime(160) - HaLayout.SkewTime(180) > TimeSpan.FromMilliseconds(35)); // backups do not race
        Assert.Throws<UserError>(() => HaLayout.Priority(f, f.Host("w1")));
        foreach (var n in new[] { 1, 2, 3, 5, 6, 7, 20, 100 })
        {
            var step = HaLayout.PriorityStep(n);
            var all = Enumerable.Range(0, n).Select(i => HaLayout.TopPriority - step * i).ToList();
            var failing = all.Select(p => p + HaLayout.TrackWeight(n)).ToList();
            Assert.True(failing.Max() < all.Min(), $"{n} control planes: a failing node stays above a healthy one");
            Assert.True(failing.Min() >= 1, $"{n} control planes: priority below 1");
            Assert.True(HaLayout.MasterDownInterval(all.Min()) < TimeSpan.FromSeconds(2));
        }
    }

    [Fact]
    public void Ipv6VipBindsBothFamiliesAndUsesA128Prefix()
    {
        var text = ClusterFileTests.Head + ClusterFileTests.Hosts(
            "name: m1\naddress: fd00::11\nroles: [control-plane]", "name: m2\naddress: fd00::12\nroles: [control-plane]") + "  ha:\n    vip: fd00::100\n";
        var f = ClusterFile.Parse(text, "c");
        Assert.Contains("bind :::8443\n", S(HaproxyConfig.Render(f, f.Host("m1"), HaPaths.Default)));
        Assert.Contains("server m2 [fd00::12]:6443\n", S(HaproxyConfig.Render(f, f.Host("m1"), HaPaths.Default)));
        Assert.Contains("listen [::]:8443;", S(NginxConfig.Render(f, f.Host("m1"), HaPaths.Default)));
        Assert.Contains("fd00::100/128 dev eth0", S(KeepalivedConfig.Render(f, f.Host("m1"), HaPaths.Default, "eth0")));
        Assert.Contains("https://[fd00::11]:6443/readyz", S(KeepalivedConfig.RenderCheckScript(f, f.Host("m1"), HaPaths.Default)));
    }

    [Fact]
    public void WithoutHaTheRendersSayWhatIsMissing()
    {
        var f = ClusterFile.Parse(ClusterFileTests.Single(), "cluster.yaml");
        var e = Assert.Throws<UserError>(() => HaproxyConfig.Render(f, f.Hosts[0], HaPaths.Default));
        Assert.Contains("spec.ha", e.Message);
    }
}
