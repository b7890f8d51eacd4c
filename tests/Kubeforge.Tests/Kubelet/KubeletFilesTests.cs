using System.Text;
using Kubeforge.Config;
using Kubeforge.Kubelet;
using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.Tests.Kubelet;

public class KubeletFilesTests
{
    private static string Env(KubeadmConfig cfg, bool taints = false, string hostname = "master1") =>
        Encoding.UTF8.GetString(KubeletFiles.FlagsEnv(cfg, taints, hostname));

    public static TheoryData<string, string> FlagVersions() => new()
    {
        { "v1.22.3", "--container-runtime=remote --container-runtime-endpoint=/run/containerd/containerd.sock --pod-infra-container-image=k8s.gcr.io/pause:3.5" },
        { "v1.24.0", "--container-runtime=remote --container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=k8s.gcr.io/pause:3.7" },
        { "v1.25.0", "--container-runtime=remote --container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.8" },
        { "v1.29.0", "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9" },
        { "v1.37.0", "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock" },
    };

    [Theory]
    [MemberData(nameof(FlagVersions))]
    public void FlagsFileFollowsTheVersion(string version, string args)
    {
        Assert.Equal($"KUBELET_KUBEADM_ARGS=\"{args}\"\n", Env(TestConfigs.For(version)));
    }

    [Fact]
    public void FlagsFileAddsHostnameOverrideTaintsAndExtraArgs()
    {
        var cfg = TestConfigs.For("v1.29.0");
        cfg.Init.NodeRegistration.CriSocket = "unix:///run/containerd/containerd.sock";
        cfg.Init.NodeRegistration.KubeletExtraArgs = [new("node-ip", "192.168.0.10"), new("cgroup-driver", "systemd")];
        var env = Env(cfg, taints: true, hostname: "node-a\n");
        Assert.Equal("KUBELET_KUBEADM_ARGS=\"--cgroup-driver=systemd --container-runtime-endpoint=unix:///run/containerd/containerd.sock "
            + "--hostname-override=master1 --node-ip=192.168.0.10 --pod-infra-container-image=registry.k8s.io/pause:3.9 "
            + "--register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule\"\n", env);
        Assert.DoesNotContain("hostname-override", Env(cfg, hostname: "MASTER1"));
        cfg.Init.NodeRegistration.Taints = [];
        Assert.DoesNotContain("register-with-taints", Env(cfg, taints: true));
    }

    [Fact]
    public void FlagsFileKeepsExtraArgOrderFromV136AndQuotesLikeGo()
    {
        var cfg = TestConfigs.For("v1.37.0");
        cfg.Init.NodeRegistration.KubeletExtraArgs = [new("node-ip", "10.0.0.2"), new("node-labels", "a=\"b\"\\c")];
        Assert.Equal("KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --node-ip=10.0.0.2 --node-labels=a=\\\"b\\\"\\\\c\"\n", Env(cfg));
    }

    [Theory]
    [InlineData("plain", "\"plain\"")]
    [InlineData("a\tb\n", "\"a\\tb\\n\"")]
    [InlineData("\u0001\u007f", "\"\\x01\\x7f\"")]
    [InlineData("é😀", "\"é😀\"")]
    [InlineData("\u00a0", "\"\\u00a0\"")]
    public void GoQuoteMatchesStrconvQuote(string s, string expected)
    {
        Assert.Equal(expected, KubeletFiles.GoQuote(s));
    }

    [Theory]
    [InlineData("10.96.0.0/12", "10.96.0.10")]
    [InlineData("10.96.0.5/12", "10.96.0.10")]
    [InlineData("172.16.0.0/16,fd00::/108", "172.16.0.10")]
    [InlineData("10.0.0.250/24", "10.0.0.10")]
    [InlineData("fd00:10:96::/112", "fd00:10:96::a")]
    public void DnsIpIsTheTenthAddressOfTheServiceCidr(string cidr, string ip)
    {
        Assert.Equal(ip, KubeletFiles.DnsIp(cidr));
    }

    public static TheoryData<string, bool, bool, bool, string> ShapeVersions() => new()
    {
        // version, containerRuntimeEndpoint, imageMaximumGCAge, crashLoopBackOff, logging
        { "v1.22.3", false, false, false, "logging: {}\n" },
        { "v1.24.0", false, false, false, "logging: {}\n" },
        { "v1.25.0", false, false, false, "logging:\n  flushFrequency: 0\n  options:\n    json:\n      infoBufferSize: \"0\"\n  verbosity: 0\n" },
        { "v1.29.0", true, true, false, "logging:\n  flushFrequency: 0\n  options:\n    json:\n      infoBufferSize: \"0\"\n  verbosity: 0\n" },
        { "v1.37.0", true, true, true, "logging:\n  flushFrequency: 0\n  options:\n    json:\n      infoBufferSize: \"0\"\n    text:\n      infoBufferSize: \"0\"\n  verbosity: 0\n" },
    };

    [Theory]
    [MemberData(nameof(ShapeVersions))]
    public void ConfigYamlHasTheVersionsMarshalledShape(string version, bool cre, bool maxGc, bool crash, string logging)
    {
        var text = Encoding.UTF8.GetString(KubeletFiles.ConfigYaml(TestConfigs.For(version), false));
        Assert.Equal(cre, text.Contains("containerRuntimeEndpoint: \"\"\n"));
        Assert.Equal(maxGc, text.Contains("imageMaximumGCAge: 0s\n"));
        Assert.Equal(crash, text.Contains("crashLoopBackOff: {}\n"));
        Assert.Contains(logging, text);
        Assert.StartsWith("apiVersion: kubelet.config.k8s.io/v1beta1\n", text);
        Assert.Contains("clusterDNS:\n- 10.96.0.10\n", text);
        Assert.DoesNotContain("resolvConf", text);
    }

    [Fact]
    public void UserKubeletConfigurationIsMergedOverTheDefaults()
    {
        var cfg = TestConfigs.For("v1.29.0");
        cfg.Cluster.Networking.DnsDomain = "corp.local";
        cfg.Cluster.CertificatesDir = "/srv/pki";
        cfg.KubeletConfiguration = (YMap)YamlReader.Read(
            "cgroupDriver: cgroupfs\nrotateCertificates: false\nstaticPodPath: \"\"\nresolvConf: /etc/resolv.conf\n" +
            "authentication:\n  webhook:\n    cacheTTL: 2m0s\nclusterDNS: [169.254.20.10]\nmaxPods: 200\nkubeReserved:\n  cpu: \"1.20\"\n", "t");
        var doc = KubeletFiles.Config(cfg, systemdResolvedActive: true);
        Assert.Equal("cgroupfs", doc.Str("cgroupDriver"));
        Assert.Equal("true", doc.Str("rotateCertificates"));
        Assert.Equal("/etc/kubernetes/manifests", doc.Str("staticPodPath"));
        Assert.Equal("/etc/resolv.conf", doc.Str("resolvConf"));
        Assert.Equal("corp.local", doc.Str("clusterDomain"));
        Assert.Equal("/srv/pki/ca.crt", doc.Map("authentication")!.Map("x509")!.Str("clientCAFile"));
        Assert.Equal("2m0s", doc.Map("authentication")!.Map("webhook")!.Str("cacheTTL"));
        Assert.Equal("true", doc.Map("authentication")!.Map("webhook")!.Str("enabled"));
        Assert.Equal("169.254.20.10", ((YScalar)doc.Seq("clusterDNS")![0]).Text);
        Assert.Equal("200", doc.Str("maxPods"));
        var text = Encoding.UTF8.GetString(KubeletFiles.ConfigYaml(cfg, true));
        Assert.Contains("kubeReserved:\n  cpu: \"1.20\"\n", text);
        Assert.Contains("maxPods: 200\n", text);
    }
}
