using System.Text;
using Kubeforge.Config;
using Kubeforge.ControlPlane;
using Kubeforge.Kubelet;

namespace Kubeforge.Tests.ControlPlane;

/// <summary>GoldenTests compare every rendered file with the hand-written files in golden/ (see golden/README.md).</summary>
public class GoldenTests
{
    private static readonly string GoldenDir = Path.Combine(AppContext.BaseDirectory, "ControlPlane", "golden");

    public static TheoryData<string, string> Files()
    {
        var data = new TheoryData<string, string>();
        foreach (var v in new[] { "v1.22.3", "v1.37.0" })
        {
            foreach (var f in new[] { "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml", "etcd.yaml", "config.yaml", "kubeadm-flags.env" })
            {
                data.Add(v, f);
            }
        }
        return data;
    }

    /// <summary>Scenario is the golden input of one version (golden/README.md).</summary>
    internal static (KubeadmConfig Cfg, HashSet<string> CaTrust, bool Resolved) Scenario(string version)
    {
        var cfg = TestConfigs.For(version);
        cfg.Cluster.Networking.PodSubnet = "10.244.0.0/16";
        if (version == "v1.22.3")
        {
            cfg.Cluster.ImageRepository = "registry.aliyuncs.com/google_containers";
            return (cfg, ["/etc/pki", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates", "/etc/ca-certificates"], true);
        }
        return (cfg, ["/etc/pki/ca-trust", "/etc/pki/tls/certs"], false);
    }

    internal static string Render(string version, string file)
    {
        var (cfg, ca, resolved) = Scenario(version);
        var bytes = file switch
        {
            "kube-apiserver.yaml" => StaticPods.ToBytes(StaticPods.ApiServer(cfg, ca)),
            "kube-controller-manager.yaml" => StaticPods.ToBytes(StaticPods.ControllerManager(cfg, ca)),
            "kube-scheduler.yaml" => StaticPods.ToBytes(StaticPods.Scheduler(cfg)),
            "etcd.yaml" => StaticPods.ToBytes(StaticPods.Etcd(cfg, null, false)),
            "config.yaml" => KubeletFiles.ConfigYaml(cfg, resolved),
            "kubeadm-flags.env" => KubeletFiles.FlagsEnv(cfg, false, "master1"),
            _ => throw new ArgumentException(file),
        };
        return Encoding.UTF8.GetString(bytes);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void RenderMatchesGoldenFileLineByLine(string version, string file)
    {
        var expected = File.ReadAllText(Path.Combine(GoldenDir, version, file));
        var actual = Render(version, file);
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (var i = 0; i < Math.Min(e.Length, a.Length); i++)
        {
            Assert.True(e[i] == a[i], $"{version}/{file} line {i + 1}: expected \"{e[i]}\" but got \"{a[i]}\"");
        }
        Assert.Equal(e.Length, a.Length);
        Assert.Equal(expected, actual);
    }
}
