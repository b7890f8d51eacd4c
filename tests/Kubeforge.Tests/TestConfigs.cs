using Kubeforge.Config;
using Kubeforge.Versions;

namespace Kubeforge.Tests;

/// <summary>TestConfigs builds a small defaulted KubeadmConfig: node "master1", advertise 192.168.0.10:6443,
/// serviceSubnet 10.96.0.0/12, dnsDomain cluster.local, certDir /etc/kubernetes/pki.</summary>
public static class TestConfigs
{
    public static KubeadmConfig For(string version) => For(version, "master1", "192.168.0.10");

    /// <summary>For builds the config with another node name and advertise address.</summary>
    public static KubeadmConfig For(string version, string nodeName, string advertiseAddress)
    {
        var v = KubeVersion.Parse(version);
        if (!VersionTable.TryGet(v, out var profile))
        {
            throw new ArgumentException($"no version profile for {version}", nameof(version));
        }
        var cfg = new KubeadmConfig { Version = v, Profile = profile };
        cfg.Cluster.KubernetesVersion = v.ToString();
        cfg.Cluster.CertificatesDir = "/etc/kubernetes/pki";
        cfg.Cluster.Networking.ServiceSubnet = "10.96.0.0/12";
        cfg.Cluster.Networking.DnsDomain = "cluster.local";
        cfg.Init.NodeRegistration.Name = nodeName;
        cfg.Init.LocalApiEndpoint.AdvertiseAddress = advertiseAddress;
        cfg.Init.LocalApiEndpoint.BindPort = 6443;
        return cfg;
    }
}
