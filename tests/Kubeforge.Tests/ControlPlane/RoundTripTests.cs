using Kubeforge.ControlPlane;
using Kubeforge.Kubelet;
using Kubeforge.Yaml;

namespace Kubeforge.Tests.ControlPlane;

/// <summary>RoundTripTests read every rendered manifest back with the YAML 1.1 reader: each value must come
/// back with the same type and text (strings such as "on", "yes", "0755", "1.20" stay strings).</summary>
public class RoundTripTests
{
    private static readonly string[] Tricky = ["on", "yes", "y", "0755", "1.20", "1:20", "null", "", "2006-01-02", "~", "true", "08", "#x", "a: b"];

    public static TheoryData<string> Versions() => new() { "v1.22.3", "v1.24.0", "v1.25.0", "v1.29.0", "v1.37.0" };

    [Theory]
    [MemberData(nameof(Versions))]
    public void RenderedManifestsReadBackIdentical(string version)
    {
        var cfg = TestConfigs.For(version);
        cfg.Cluster.Networking.PodSubnet = "10.244.0.0/16";
        cfg.Cluster.ApiServer.ExtraArgs = Tricky.Select((v, i) => new Kubeforge.Config.Arg($"x{i}", v)).ToList();
        cfg.Cluster.ApiServer.ExtraVolumes = Tricky.Where(t => t.Length > 0).Select(t => new Kubeforge.Config.HostPathMount(t, "/" + t, t, false, t)).ToList();
        cfg.Cluster.Etcd.Local!.DataDir = "/var/lib/etcd/on";
        var user = new YMap();
        foreach (var (t, i) in Tricky.Select((t, i) => (t, i)))
        {
            user.Add($"custom{i}", t);
        }
        user.Add("kubeReserved", new YMap { { "cpu", "1.20" }, { "memory", "0755" } });
        cfg.KubeletConfiguration = user;
        var ca = new HashSet<string>(cfg.Profile.CaTrustPaths);
        YNode[] docs =
        [
            StaticPods.ApiServer(cfg, ca), StaticPods.ControllerManager(cfg, ca), StaticPods.Scheduler(cfg),
            StaticPods.Etcd(cfg, null, false), KubeletFiles.Config(cfg, true),
        ];
        foreach (var doc in docs)
        {
            var text = GoYamlWriter.Write(doc);
            AssertSame(doc, YamlReader.Read(text, "rendered"), "$");
        }
    }

    private static void AssertSame(YNode expected, YNode actual, string path)
    {
        switch (expected)
        {
            case YMap em:
                var am = Assert.IsType<YMap>(actual);
                Assert.Equal(em.Keys.Order(StringComparer.Ordinal), am.Keys.Order(StringComparer.Ordinal));
                foreach (var (k, v) in em)
                {
                    AssertSame(v, am[k]!, $"{path}.{k}");
                }
                break;
            case YSeq es:
                var aseq = Assert.IsType<YSeq>(actual);
                Assert.Equal(es.Count, aseq.Count);
                for (var i = 0; i < es.Count; i++)
                {
                    AssertSame(es[i], aseq[i], $"{path}[{i}]");
                }
                break;
            case YScalar e:
                var a = Assert.IsType<YScalar>(actual);
                Assert.True(e.Kind == a.Kind && e.Text == a.Text, $"{path}: wrote {e.Kind} \"{e.Text}\", read {a.Kind} \"{a.Text}\"");
                break;
        }
    }
}
