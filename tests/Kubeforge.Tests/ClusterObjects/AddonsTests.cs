using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.Yaml;

namespace Kubeforge.Tests.ClusterObjects;

public class AddonsTests
{
    private static string S(JsonNode? n) => n!.GetValue<string>();

    [Fact]
    public void CoreDnsV122()
    {
        var cfg = TestEnv.Config("v1.22.3");
        Assert.Equal("k8s.gcr.io/coredns/coredns:v1.8.4", CoreDns.Image(cfg));
        var d = CoreDns.Deployment(cfg);
        var pod = d["spec"]!["template"]!["spec"]!;
        Assert.Equal(2, d["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("""[{"key":"CriticalAddonsOnly","operator":"Exists"},{"key":"node-role.kubernetes.io/master","effect":"NoSchedule"},{"key":"node-role.kubernetes.io/control-plane","effect":"NoSchedule"}]""",
            pod["tolerations"]!.ToJsonString());
        Assert.Null(pod["affinity"]);
        var c = pod["containers"]![0]!;
        Assert.Equal(3, c["ports"]!.AsArray().Count);
        Assert.Equal(8080, c["livenessProbe"]!["httpGet"]!["port"]!.GetValue<int>());
        Assert.Equal(8181, c["readinessProbe"]!["httpGet"]!["port"]!.GetValue<int>());
        Assert.Equal("all", S(c["securityContext"]!["capabilities"]!["drop"]![0]));
        Assert.Equal("linux", S(pod["nodeSelector"]!["kubernetes.io/os"]));
        var rules = CoreDns.ClusterRole(cfg.Profile)["rules"]!.AsArray();
        Assert.Equal(3, rules.Count);
        Assert.Equal("nodes", S(rules[1]!["resources"]![0]));
        Assert.Equal("endpointslices", S(rules[2]!["resources"]![0]));
        var corefile = S(CoreDns.ConfigMap(cfg)["data"]!["Corefile"]);
        Assert.Contains("    cache 30\n    loop\n", corefile);
        Assert.StartsWith(".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n", corefile);
        Assert.EndsWith("    reload\n    loadbalance\n}\n", corefile);
    }

    [Fact]
    public void CoreDnsV137()
    {
        var cfg = TestEnv.Config("v1.37.0", c => c.Cluster.Networking.DnsDomain = "corp.local");
        Assert.Equal("registry.k8s.io/coredns/coredns:v1.14.4", CoreDns.Image(cfg));
        var pod = CoreDns.Deployment(cfg)["spec"]!["template"]!["spec"]!;
        Assert.Equal("""[{"key":"CriticalAddonsOnly","operator":"Exists"},{"key":"node-role.kubernetes.io/control-plane","effect":"NoSchedule"}]""", pod["tolerations"]!.ToJsonString());
        Assert.Equal("kubernetes.io/hostname", S(pod["affinity"]!["podAntiAffinity"]!["preferredDuringSchedulingIgnoredDuringExecution"]![0]!["podAffinityTerm"]!["topologyKey"]));
        var c = pod["containers"]![0]!;
        Assert.Equal(["dns", "dns-tcp", "metrics", "liveness-probe", "readiness-probe"], c["ports"]!.AsArray().Select(p => S(p!["name"])));
        Assert.Equal("liveness-probe", S(c["livenessProbe"]!["httpGet"]!["port"]));
        Assert.Equal("readiness-probe", S(c["readinessProbe"]!["httpGet"]!["port"]));
        Assert.Equal("ALL", S(c["securityContext"]!["capabilities"]!["drop"]![0]));
        Assert.Equal(2, CoreDns.ClusterRole(cfg.Profile)["rules"]!.AsArray().Count);
        Assert.Contains("    cache 30 {\n       disable success corp.local\n       disable denial corp.local\n    }\n    loop\n", S(CoreDns.ConfigMap(cfg)["data"]!["Corefile"]));
    }

    [Fact]
    public void CoreDnsCustomRepositoryHasNoExtraPath()
    {
        var cfg = TestEnv.Config("v1.22.3", c => c.Cluster.ImageRepository = "registry.cn-hangzhou.aliyuncs.com/google_containers");
        Assert.Equal("registry.cn-hangzhou.aliyuncs.com/google_containers/coredns:v1.8.4", CoreDns.Image(cfg));
        cfg.Cluster.Dns.ImageTag = "v1.9.9";
        Assert.EndsWith("/coredns:v1.9.9", CoreDns.Image(cfg));
    }

    [Fact]
    public void KubeDnsService()
    {
        var svc = CoreDns.Service(TestEnv.Config("v1.37.0", c => c.Cluster.Networking.ServiceSubnet = "10.100.0.0/16"));
        Assert.Equal("kube-dns", svc.Name());
        Assert.Equal("10.100.0.10", S(svc["spec"]!["clusterIP"]));
        Assert.Equal("0", S(svc["metadata"]!["resourceVersion"]));
        Assert.Equal("CoreDNS", S(svc["metadata"]!["labels"]!["kubernetes.io/name"]));
        Assert.Equal(["dns/UDP/53", "dns-tcp/TCP/53", "metrics/TCP/9153"], svc["spec"]!["ports"]!.AsArray().Select(p => $"{S(p!["name"])}/{S(p["protocol"])}/{p["port"]}"));
    }

    [Fact]
    public void KubeProxyConfigV122()
    {
        var cfg = TestEnv.Config("v1.22.3");
        Assert.Equal(
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\nclientConnection:\n  acceptContentTypes: \"\"\n  burst: 0\n  contentType: \"\"\n" +
            "  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\n  qps: 0\nclusterCIDR: 10.244.0.0/16\nconfigSyncPeriod: 0s\nconntrack:\n  maxPerCore: null\n  min: null\n" +
            "  tcpCloseWaitTimeout: null\n  tcpEstablishedTimeout: null\ndetectLocalMode: \"\"\nenableProfiling: false\nhealthzBindAddress: \"\"\nhostnameOverride: \"\"\n" +
            "iptables:\n  masqueradeAll: false\n  masqueradeBit: null\n  minSyncPeriod: 0s\n  syncPeriod: 0s\nipvs:\n  excludeCIDRs: null\n  minSyncPeriod: 0s\n" +
            "  scheduler: \"\"\n  strictARP: false\n  syncPeriod: 0s\n  tcpFinTimeout: 0s\n  tcpTimeout: 0s\n  udpTimeout: 0s\nkind: KubeProxyConfiguration\n" +
            "metricsBindAddress: \"\"\nmode: \"\"\nnodePortAddresses: null\noomScoreAdj: null\nportRange: \"\"\nshowHiddenMetricsForVersion: \"\"\nudpIdleTimeout: 0s\n" +
            "winkernel:\n  enableDSR: false\n  networkName: \"\"\n  sourceVip: \"\"",
            KubeProxy.Config(cfg));
        Assert.Equal("k8s.gcr.io/kube-proxy:v1.22.3", KubeProxy.Image(cfg));
    }

    [Fact]
    public void KubeProxyConfigV137MergesUserValues()
    {
        var user = (YMap)YamlReader.Read("mode: ipvs\nipvs:\n  scheduler: rr\nclientConnection:\n  kubeconfig: /elsewhere\n", "t");
        var cfg = TestEnv.Config("v1.37.0", c => { c.KubeProxyConfiguration = user; c.Init.LocalApiEndpoint.AdvertiseAddress = "fd00::5"; });
        var text = KubeProxy.Config(cfg);
        Assert.Contains("\nbindAddress: '::'\nbindAddressHardFail: false\n", text);
        Assert.Contains("\nmode: ipvs\n", text);
        Assert.Contains("  scheduler: rr\n", text);
        Assert.Contains("  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\n", text);
        Assert.Contains("\nlogging:\n  flushFrequency: 0\n  options:\n    json:\n      infoBufferSize: \"0\"\n    text:\n      infoBufferSize: \"0\"\n  verbosity: 0\n", text);
        Assert.Contains("\nnftables:\n", text);
        Assert.DoesNotContain("udpIdleTimeout", text);
        var cm = KubeProxy.ConfigMap(cfg);
        Assert.Null(cm["metadata"]!["annotations"]);
        Assert.Equal("https://[fd00::5]:6443", KubeProxy.ControlPlaneUrl(cfg));
    }

    [Fact]
    public void KubeProxyConfigMapAndDaemonSet()
    {
        var cfg = TestEnv.Config("v1.37.0", c => c.Cluster.ControlPlaneEndpoint = "lb.example:8443");
        var cm = KubeProxy.ConfigMap(cfg);
        Assert.Equal("kube-proxy", S(cm["metadata"]!["labels"]!["app"]));
        var kc = S(cm["data"]!["kubeconfig.conf"]);
        Assert.Contains("    server: https://lb.example:8443\n", kc);
        Assert.EndsWith("tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token", kc);
        var expectedHash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(S(cm["data"]!["config.conf"]) + kc)));
        Assert.Equal(expectedHash, S(cm["metadata"]!["annotations"]!["kubeadm.kubernetes.io/component-config.hash"]));
        Assert.Equal("https://lb.example:6443", KubeProxy.ControlPlaneUrl(TestEnv.Config("v1.37.0", c => c.Cluster.ControlPlaneEndpoint = "lb.example")));
        var ds = KubeProxy.DaemonSet(cfg);
        var pod = ds["spec"]!["template"]!["spec"]!;
        Assert.Equal("registry.k8s.io/kube-proxy:v1.37.0", S(pod["containers"]![0]!["image"]));
        Assert.Equal(["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"], pod["containers"]![0]!["command"]!.AsArray().Select(S));
        Assert.True(pod["hostNetwork"]!.GetValue<bool>());
        Assert.Equal("system-node-critical", S(pod["priorityClassName"]));
        Assert.Equal("""[{"operator":"Exists"}]""", pod["tolerations"]!.ToJsonString());
        var rbac = KubeProxy.Rbac();
        Assert.Equal("system:node-proxier", S(rbac[1]["roleRef"]!["name"]));
        Assert.Equal("kubeadm:node-proxier", rbac[1].Name());
        Assert.Equal("ServiceAccount", S(rbac[1]["subjects"]![0]!["kind"]));
        Assert.Equal("kube-proxy", S(rbac[2]["rules"]![0]!["resourceNames"]![0]));
    }
}
