using Kubeforge.Config;
using Kubeforge.Node;

namespace Kubeforge.Tests.Config;

public class ImageListTests
{
    private static KubeadmConfig Cfg(string version, string? repo = null) =>
        KubeadmConfigLoader.Load(null, "flags", new InitFlags { KubernetesVersion = version, ImageRepository = repo }, new NodeIdentity("n", "10.0.0.1"));

    [Fact]
    public void V1223_DefaultList_EqualsKubeadm()
    {
        Assert.Equal(
        [
            "k8s.gcr.io/kube-apiserver:v1.22.3",
            "k8s.gcr.io/kube-controller-manager:v1.22.3",
            "k8s.gcr.io/kube-scheduler:v1.22.3",
            "k8s.gcr.io/kube-proxy:v1.22.3",
            "k8s.gcr.io/pause:3.5",
            "k8s.gcr.io/etcd:3.5.0-0",
            "k8s.gcr.io/coredns/coredns:v1.8.4",
        ], ImageList.For(Cfg("v1.22.3")));
    }

    [Fact]
    public void V1223_CustomRepository_FlattensCoreDns()
    {
        var list = ImageList.For(Cfg("v1.22.3", "registry.aliyuncs.com/google_containers"));
        Assert.Equal("registry.aliyuncs.com/google_containers/coredns:v1.8.4", list[^1]);
        Assert.All(list, i => Assert.StartsWith("registry.aliyuncs.com/google_containers/", i));
        Assert.Equal("registry.aliyuncs.com/google_containers/pause:3.5", list[4]);
    }

    [Fact]
    public void V1330_DefaultList_EqualsKubeadm()
    {
        Assert.Equal(
        [
            "registry.k8s.io/kube-apiserver:v1.33.0",
            "registry.k8s.io/kube-controller-manager:v1.33.0",
            "registry.k8s.io/kube-scheduler:v1.33.0",
            "registry.k8s.io/kube-proxy:v1.33.0",
            "registry.k8s.io/coredns/coredns:v1.12.0",
            "registry.k8s.io/pause:3.10",
            "registry.k8s.io/etcd:3.5.21-0",
        ], ImageList.For(Cfg("v1.33.0")));
    }

    [Theory]
    [InlineData("v1.24.10", "registry.k8s.io/coredns/coredns", false)] // k8s.gcr.io default: registry.k8s.io is "custom"
    [InlineData("v1.28.5", "registry.k8s.io/coredns/coredns", false)]
    [InlineData("v1.29.3", "registry.k8s.io/coredns/coredns", true)]
    public void Order_ChangesAtV129(string version, string _, bool dnsBeforePause)
    {
        var list = ImageList.For(Cfg(version));
        var dns = list.ToList().FindIndex(i => i.Contains("coredns"));
        var pause = list.ToList().FindIndex(i => i.Contains("/pause:"));
        Assert.Equal(dnsBeforePause, dns < pause);
    }

    [Fact]
    public void Overrides_AndDisabledAddons()
    {
        var text = """
            apiVersion: kubeadm.k8s.io/v1beta4
            kind: ClusterConfiguration
            kubernetesVersion: v1.31.2
            dns:
              imageRepository: mirror.example.com/dns
              imageTag: v9
            etcd:
              local:
                imageRepository: quay.io/coreos
                imageTag: v3.5.15
            """;
        var cfg = KubeadmConfigLoader.Load(text, "k.yaml", InitFlags.None, new NodeIdentity("n", "10.0.0.1"));
        var list = ImageList.For(cfg);
        Assert.Contains("mirror.example.com/dns/coredns:v9", list);
        Assert.Contains("quay.io/coreos/etcd:v3.5.15", list);

        cfg.Cluster.Dns.Disabled = true;
        cfg.Cluster.ProxyDisabled = true;
        cfg.Cluster.Etcd.Local = null;
        cfg.Cluster.Etcd.External = new ExternalEtcd { Endpoints = ["https://10.0.0.2:2379"] };
        Assert.Equal(
        [
            "registry.k8s.io/kube-apiserver:v1.31.2",
            "registry.k8s.io/kube-controller-manager:v1.31.2",
            "registry.k8s.io/kube-scheduler:v1.31.2",
            "registry.k8s.io/pause:3.10",
        ], ImageList.For(cfg));
    }

    [Fact]
    public void V124_DefaultRepository_IsK8sGcrIo()
    {
        var list = ImageList.For(Cfg("v1.24.10"));
        Assert.Equal("k8s.gcr.io/coredns/coredns:v1.8.6", list[^1]);
        Assert.Equal("k8s.gcr.io/pause:3.7", list[4]);
    }
}
