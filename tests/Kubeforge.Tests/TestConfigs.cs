using Kubeforge.Config;
using Kubeforge.Versions;

namespace Kubeforge.Tests;

/// <summary>TestConfigs builds minimal defaulted configs for tests: node "node1", advertise 192.0.2.10:6443,
/// service subnet 10.96.0.0/12, the version's profile.</summary>
public static class TestConfigs
{
    public static KubeadmConfig For(string version)
    {
        var v = KubeVersion.Parse(version);
        if (!VersionTable.TryGet(v, out var profile))
        {
            throw new ArgumentException($"no version row for {version}");
        }
        var c = new KubeadmConfig { Version = v, Profile = profile };
        c.Cluster.KubernetesVersion = v.ToString();
        c.Cluster.Networking.ServiceSubnet = "10.96.0.0/12";
        c.Init.NodeRegistration.Name = "node1";
        c.Init.LocalApiEndpoint.AdvertiseAddress = "192.0.2.10";
        return c;
    }
}
