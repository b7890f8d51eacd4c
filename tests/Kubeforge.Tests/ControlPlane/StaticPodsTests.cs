using Kubeforge.Config;
using Kubeforge.ControlPlane;
using Kubeforge.Yaml;

namespace Kubeforge.Tests.ControlPlane;

public class StaticPodsTests
{
    private static readonly HashSet<string> AllCaTrust =
        ["/etc/pki", "/etc/pki/ca-trust", "/etc/pki/tls/certs", "/etc/ca-certificates", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates"];

    internal static YMap Container(YMap pod) => (YMap)pod.Map("spec")!.Seq("containers")![0];

    internal static List<string> Command(YMap pod) => Container(pod).Seq("command")!.Select(n => ((YScalar)n).Text).ToList();

    private static List<string> Names(YSeq? seq) => seq!.Select(n => ((YMap)n).Str("name")!).ToList();

    public static TheoryData<string, bool, bool, bool> Versions() => new()
    {
        // version, --port=0, priority, flexvolume-dir
        { "v1.22.3", true, false, true },
        { "v1.24.0", false, false, true },
        { "v1.25.0", false, false, true },
        { "v1.29.0", false, true, true },
        { "v1.37.0", false, true, false },
    };

    [Theory]
    [MemberData(nameof(Versions))]
    public void ControlPlanePodsFollowTheVersion(string version, bool portZero, bool priority, bool flex)
    {
        var cfg = TestConfigs.For(version);
        var kcm = StaticPods.ControllerManager(cfg, AllCaTrust);
        var sched = StaticPods.Scheduler(cfg);
        var api = StaticPods.ApiServer(cfg, AllCaTrust);
        Assert.Equal(portZero, Command(kcm).Contains("--port=0"));
        Assert.Equal(portZero, Command(sched).Contains("--port=0"));
        Assert.DoesNotContain("--port=0", Command(api));
        foreach (var pod in new[] { kcm, sched, api })
        {
            Assert.Equal(priority, pod.Map("spec")!.ContainsKey("priority"));
            Assert.Equal("system-node-critical", pod.Map("spec")!.Str("priorityClassName"));
            Assert.Equal("control-plane", pod.Map("metadata")!.Map("labels")!.Str("tier"));
            Assert.Equal(pod.Map("metadata")!.Str("name"), pod.Map("metadata")!.Map("labels")!.Str("component"));
            Assert.Equal("RuntimeDefault", pod.Map("spec")!.Map("securityContext")!.Map("seccompProfile")!.Str("type"));
            var names = Names(pod.Map("spec")!.Seq("volumes"));
            Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), names);
            Assert.Equal(names, Names(Container(pod).Seq("volumeMounts")));
        }
        Assert.Equal(flex, Names(kcm.Map("spec")!.Seq("volumes")).Contains("flexvolume-dir"));
        var caNames = cfg.Profile.CaTrustPaths.Select(StaticPods.CaTrustVolumeName).ToList();
        Assert.All(caNames, n => Assert.Contains(n, Names(api.Map("spec")!.Seq("volumes"))));
        Assert.All(caNames, n => Assert.Contains(n, Names(kcm.Map("spec")!.Seq("volumes"))));
        var repo = cfg.Profile.Minor >= 25 ? "registry.k8s.io" : "k8s.gcr.io";
        Assert.Equal($"{repo}/kube-apiserver:{version}", Container(api).Str("image"));
    }

    public static TheoryData<string, string, string, bool, string[]> EtcdVersions() => new()
    {
        { "v1.22.3", "/health", "/health", false, [] },
        { "v1.24.0", "/health", "/health", false, ["--experimental-initial-corrupt-check=true"] },
        { "v1.25.0", "/health?exclude=NOSPACE&serializable=true", "/health?serializable=false", false,
            ["--experimental-initial-corrupt-check=true", "--experimental-watch-progress-notify-interval=5s"] },
        { "v1.29.0", "/health?exclude=NOSPACE&serializable=true", "/health?serializable=false", false,
            ["--experimental-initial-corrupt-check=true", "--experimental-watch-progress-notify-interval=5s"] },
        { "v1.37.0", "/livez", "/readyz", true, ["--feature-gates=InitialCorruptCheck=true", "--watch-progress-notify-interval=5s"] },
    };

    [Theory]
    [MemberData(nameof(EtcdVersions))]
    public void EtcdPodFollowsTheVersion(string version, string liveness, string startup, bool readiness, string[] extraFlags)
    {
        var cfg = TestConfigs.For(version);
        var pod = StaticPods.Etcd(cfg, null, false);
        var c = Container(pod);
        Assert.Equal(liveness, c.Map("livenessProbe")!.Map("httpGet")!.Str("path"));
        Assert.Equal(startup, c.Map("startupProbe")!.Map("httpGet")!.Str("path"));
        Assert.Equal(readiness, c.ContainsKey("readinessProbe"));
        Assert.Equal("HTTP", c.Map("livenessProbe")!.Map("httpGet")!.Str("scheme"));
        var cmd = Command(pod);
        Assert.Equal("etcd", cmd[0]);
        Assert.All(extraFlags, f => Assert.Contains(f, cmd));
        Assert.Equal(18 + extraFlags.Length, cmd.Count);
        Assert.Equal(cmd.Skip(1).OrderBy(s => s.Split('=')[0], StringComparer.Ordinal), cmd.Skip(1));
        Assert.Equal($"{cfg.ImageRepository}/etcd:{cfg.Profile.EtcdVersion}", c.Str("image"));
        Assert.Equal(cfg.Profile.StaticPodPriority, pod.Map("spec")!.ContainsKey("priority"));
    }

    [Fact]
    public void StartupProbeFailureThresholdFollowsTheControlPlaneTimeout()
    {
        var cfg = TestConfigs.For("v1.37.0");
        cfg.Cluster.ApiServer.TimeoutForControlPlane = TimeSpan.FromSeconds(95);
        var text = GoYamlWriter.Write(StaticPods.ApiServer(cfg, new HashSet<string>()));
        Assert.Contains("startupProbe:\n      failureThreshold: 10\n", text);
    }

    [Fact]
    public void ExtraArgsAreMergedAndSortedBeforeV136()
    {
        var cfg = TestConfigs.For("v1.29.0");
        cfg.Cluster.ApiServer.ExtraArgs = [new("service-account-issuer", "https://b"), new("audit-log-path", "/x"), new("service-account-issuer", "https://a")];
        var cmd = Command(StaticPods.ApiServer(cfg, new HashSet<string>()));
        Assert.Equal("--audit-log-path=/x", cmd[3]);
        var issuers = cmd.Where(a => a.StartsWith("--service-account-issuer=", StringComparison.Ordinal)).ToList();
        Assert.Equal(["--service-account-issuer=https://a", "--service-account-issuer=https://b"], issuers);
        Assert.Equal(cmd.Skip(1).OrderBy(s => s.Split('=')[0], StringComparer.Ordinal).ToList(), cmd.Skip(1).ToList());
    }

    [Fact]
    public void ExtraArgsKeepTheirOrderAfterTheSortedDefaultsFromV136()
    {
        var cfg = TestConfigs.For("v1.37.0");
        cfg.Cluster.ApiServer.ExtraArgs = [new("service-account-issuer", "https://b"), new("audit-log-path", "/x"), new("service-account-issuer", "https://a")];
        var cmd = Command(StaticPods.ApiServer(cfg, new HashSet<string>()));
        Assert.Equal(["--service-account-issuer=https://b", "--audit-log-path=/x", "--service-account-issuer=https://a"], cmd[^3..]);
        var defaults = cmd.Skip(1).SkipLast(3).ToList();
        Assert.Equal(defaults.OrderBy(s => s, StringComparer.Ordinal), defaults);
        Assert.DoesNotContain("--service-account-issuer=https://kubernetes.default.svc.cluster.local", cmd);
    }

    [Fact]
    public void ExtraArgsOverrideDefaultsAndDriveProbesAndAuthorization()
    {
        var cfg = TestConfigs.For("v1.37.0");
        cfg.Cluster.ControllerManager.ExtraArgs = [new("bind-address", "0.0.0.0"), new("flex-volume-plugin-dir", "/opt/flex")];
        cfg.Cluster.Scheduler.ExtraArgs = [new("bind-address", "10.0.0.5")];
        cfg.Cluster.ApiServer.ExtraArgs = [new("authorization-config", "/etc/authz.yaml")];
        var kcm = StaticPods.ControllerManager(cfg, new HashSet<string>());
        Assert.False(Container(kcm).Map("livenessProbe")!.Map("httpGet")!.ContainsKey("host"));
        Assert.Contains("--bind-address=0.0.0.0", Command(kcm));
        Assert.DoesNotContain("--bind-address=127.0.0.1", Command(kcm));
        Assert.Equal("10.0.0.5", Container(StaticPods.Scheduler(cfg)).Map("startupProbe")!.Map("httpGet")!.Str("host"));
        Assert.DoesNotContain(Command(StaticPods.ApiServer(cfg, new HashSet<string>())), a => a.StartsWith("--authorization-mode", StringComparison.Ordinal));

        var v129 = TestConfigs.For("v1.29.0");
        v129.Cluster.ControllerManager.ExtraArgs = [new("flex-volume-plugin-dir", "/opt/flex")];
        var vols = StaticPods.ControllerManager(v129, new HashSet<string>()).Map("spec")!.Seq("volumes")!.Cast<YMap>();
        Assert.Equal("/opt/flex", vols.Single(v => v.Str("name") == "flexvolume-dir").Map("hostPath")!.Str("path"));
    }

    [Fact]
    public void ControllerManagerLeavesCidrFlagsOutWithoutPodSubnet()
    {
        var cmd = Command(StaticPods.ControllerManager(TestConfigs.For("v1.37.0"), new HashSet<string>()));
        Assert.DoesNotContain(cmd, a => a.StartsWith("--allocate-node-cidrs", StringComparison.Ordinal) || a.StartsWith("--cluster-cidr", StringComparison.Ordinal)
            || a.StartsWith("--service-cluster-ip-range", StringComparison.Ordinal));
        var ext = Command(StaticPods.ControllerManager(TestConfigs.For("v1.37.0"), new HashSet<string>(), externalCa: true));
        Assert.Contains("--cluster-signing-cert-file=", ext);
        Assert.Contains("--cluster-signing-key-file=", ext);
    }

    [Fact]
    public void Ipv6AdvertiseAddressUsesBracketedUrlsAndIpv6Loopback()
    {
        var cfg = TestConfigs.For("v1.37.0");
        cfg.Init.LocalApiEndpoint.AdvertiseAddress = "fd00::10";
        var api = StaticPods.ApiServer(cfg, new HashSet<string>());
        Assert.Contains("--etcd-servers=https://[::1]:2379", Command(api));
        Assert.Equal("[fd00::10]:6443", api.Map("metadata")!.Map("annotations")!.Str("kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"));
        Assert.Equal("fd00::10", Container(api).Map("livenessProbe")!.Map("httpGet")!.Str("host"));
        var etcd = StaticPods.Etcd(cfg, null, false);
        var cmd = Command(etcd);
        Assert.Contains("--listen-client-urls=https://[::1]:2379,https://[fd00::10]:2379", cmd);
        Assert.Contains("--listen-metrics-urls=http://[::1]:2381", cmd);
        Assert.Contains("--initial-cluster=master1=https://[fd00::10]:2380", cmd);
        Assert.Equal("::1", Container(etcd).Map("livenessProbe")!.Map("httpGet")!.Str("host"));
        Assert.Equal("https://[fd00::10]:2379", etcd.Map("metadata")!.Map("annotations")!.Str("kubeadm.kubernetes.io/etcd.advertise-client-urls"));
    }

    [Fact]
    public void JoiningEtcdMemberListsTheClusterAndStartsAsExisting()
    {
        var cfg = TestConfigs.For("v1.37.0");
        cfg.Cluster.Etcd.Local!.ImageRepository = "mirror.local/etcd-io";
        cfg.Cluster.Etcd.Local!.ImageTag = "3.6.9-0";
        var pod = StaticPods.Etcd(cfg, [("master0", "https://192.168.0.9:2380"), ("master1", "https://192.168.0.10:2380")], joining: true);
        var cmd = Command(pod);
        Assert.Contains("--initial-cluster=master0=https://192.168.0.9:2380,master1=https://192.168.0.10:2380", cmd);
        Assert.Contains("--initial-cluster-state=existing", cmd);
        Assert.Equal("mirror.local/etcd-io/etcd:3.6.9-0", Container(pod).Str("image"));
        Assert.DoesNotContain("--initial-cluster-state=existing", Command(StaticPods.Etcd(TestConfigs.For("v1.37.0"), null, false)));
    }

    [Fact]
    public void EtcdProbeFollowsListenMetricsUrls()
    {
        var cfg = TestConfigs.For("v1.29.0");
        cfg.Cluster.Etcd.Local!.ExtraArgs = [new("listen-metrics-urls", "https://10.1.1.1:9000,http://127.0.0.1:2381")];
        var get = Container(StaticPods.Etcd(cfg, null, false)).Map("livenessProbe")!.Map("httpGet")!;
        Assert.Equal("10.1.1.1", get.Str("host"));
        Assert.Equal("9000", get.Str("port"));
        Assert.Equal("HTTPS", get.Str("scheme"));
        cfg.Cluster.Etcd.Local!.ExtraArgs = [new("listen-metrics-urls", "http://[::1]:80")];
        get = Container(StaticPods.Etcd(cfg, null, false)).Map("livenessProbe")!.Map("httpGet")!;
        Assert.Equal(("::1", "80", "HTTP"), (get.Str("host"), get.Str("port"), get.Str("scheme")));
    }

    [Fact]
    public void ExternalEtcdUsesItsEndpointsFilesAndCertFolders()
    {
        var cfg = TestConfigs.For("v1.37.0");
        cfg.Cluster.Etcd.Local = null;
        cfg.Cluster.Etcd.External = new ExternalEtcd
        {
            Endpoints = ["https://10.0.0.1:2379", "https://10.0.0.2:2379"],
            CaFile = "/etc/etcd/pki/ca.crt",
            CertFile = "/etc/etcd/pki/client/apiserver.crt",
            KeyFile = "/etc/kubernetes/pki/apiserver-etcd-client.key",
        };
        var api = StaticPods.ApiServer(cfg, new HashSet<string>());
        var cmd = Command(api);
        Assert.Contains("--etcd-servers=https://10.0.0.1:2379,https://10.0.0.2:2379", cmd);
        Assert.Contains("--etcd-certfile=/etc/etcd/pki/client/apiserver.crt", cmd);
        var vols = api.Map("spec")!.Seq("volumes")!.Cast<YMap>().ToList();
        var etcdVol = Assert.Single(vols, v => v.Str("name")!.StartsWith("etcd-certs", StringComparison.Ordinal));
        Assert.Equal("etcd-certs-0", etcdVol.Str("name"));
        Assert.Equal("/etc/etcd/pki", etcdVol.Map("hostPath")!.Str("path"));
        Assert.Throws<InvalidOperationException>(() => StaticPods.Etcd(cfg, null, false));
    }

    [Fact]
    public void ExtraVolumesReplaceByNameAndKeepAnEmptyType()
    {
        var cfg = TestConfigs.For("v1.37.0");
        cfg.Cluster.ApiServer.ExtraVolumes = [new("audit", "/var/log/audit", "/var/log/audit", false, null), new("ca-certs", "/etc/my-certs", "/etc/ssl/certs", true, "Directory")];
        var text = GoYamlWriter.Write(StaticPods.ApiServer(cfg, new HashSet<string>()));
        Assert.Contains("  - hostPath:\n      path: /var/log/audit\n      type: \"\"\n    name: audit\n", text);
        Assert.Contains("  - hostPath:\n      path: /etc/my-certs\n      type: Directory\n    name: ca-certs\n", text);
        Assert.Contains("    - mountPath: /var/log/audit\n      name: audit\n    - mountPath", text);
    }
}
