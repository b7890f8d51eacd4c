namespace Kubeforge.Config;

/// <summary>ImageList is `kubeadm config images list`: the images a control-plane node needs, in the order
/// that kubeadm release prints them (spec §13, ka/images/images.go).</summary>
public static class ImageList
{
    /// <summary>For returns the image references for cfg's version, repository and overrides.</summary>
    public static IReadOnlyList<string> For(KubeadmConfig cfg)
    {
        var p = cfg.Profile;
        var repo = cfg.ImageRepository;
        var tag = cfg.Version.ImageTag;
        var images = new List<string>
        {
            $"{repo}/kube-apiserver:{tag}",
            $"{repo}/kube-controller-manager:{tag}",
            $"{repo}/kube-scheduler:{tag}",
        };
        if (!cfg.Cluster.ProxyDisabled)
        {
            images.Add($"{repo}/kube-proxy:{tag}");
        }
        var dns = cfg.Cluster.Dns.Disabled ? null : CoreDns(cfg);
        if (p.ImagesCoreDnsBeforePause && dns is not null)
        {
            images.Add(dns);
        }
        images.Add(Pause(cfg));
        if (Etcd(cfg) is { } etcd)
        {
            images.Add(etcd);
        }
        if (!p.ImagesCoreDnsBeforePause && dns is not null)
        {
            images.Add(dns);
        }
        return images;
    }

    /// <summary>CoreDns is the CoreDNS image: the default registry nests it under coredns/ (registry.k8s.io/coredns/coredns),
    /// a custom one does not (&lt;repo&gt;/coredns); dns.imageRepository/imageTag override.</summary>
    public static string CoreDns(KubeadmConfig cfg)
    {
        var repo = string.IsNullOrEmpty(cfg.Cluster.Dns.ImageRepository) ? cfg.ImageRepository : cfg.Cluster.Dns.ImageRepository;
        if (repo == cfg.Profile.DefaultImageRepository)
        {
            repo += "/coredns";
        }
        var tag = string.IsNullOrEmpty(cfg.Cluster.Dns.ImageTag) ? cfg.Profile.CoreDnsVersion : cfg.Cluster.Dns.ImageTag;
        return $"{repo}/coredns:{tag}";
    }

    /// <summary>Pause is the sandbox image &lt;imageRepository&gt;/pause:&lt;PauseVersion&gt;.</summary>
    public static string Pause(KubeadmConfig cfg) => $"{cfg.ImageRepository}/pause:{cfg.Profile.PauseVersion}";

    /// <summary>Etcd is the local etcd image (etcd.local imageRepository/imageTag override), null for external etcd.</summary>
    public static string? Etcd(KubeadmConfig cfg)
    {
        if (cfg.Cluster.Etcd.Local is not { } local || cfg.Cluster.Etcd.External is not null)
        {
            return null;
        }
        var repo = string.IsNullOrEmpty(local.ImageRepository) ? cfg.ImageRepository : local.ImageRepository;
        var tag = string.IsNullOrEmpty(local.ImageTag) ? cfg.Profile.EtcdVersion : local.ImageTag;
        return $"{repo}/etcd:{tag}";
    }
}
