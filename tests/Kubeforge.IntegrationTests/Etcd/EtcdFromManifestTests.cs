using Kubeforge.Config;
using Kubeforge.ControlPlane;
using Kubeforge.Hosts;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.Phases;
using Kubeforge.Pki;
using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.IntegrationTests.Etcd;

/// <summary>EtcdFromManifestTests start Debian's real etcd (3.4) with the exact command line of the generated
/// etcd.yaml (host paths resolved under the test's rootfs, as the static pod's hostPath volumes would be),
/// inside a network namespace of the test, and talk to it with the generated client certificates.</summary>
public sealed class EtcdFromManifestTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-etcd-it-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    internal static KubeadmConfig Config(string version, string node, string address)
    {
        var v = KubeVersion.Parse(version);
        Assert.True(VersionTable.TryGet(v, out var profile));
        var c = new KubeadmConfig { Version = v, Profile = profile };
        c.Cluster.KubernetesVersion = v.ToString();
        c.Cluster.EncryptionAlgorithm = "ECDSA-P256";
        c.Init.NodeRegistration.Name = node;
        c.Init.LocalApiEndpoint.AdvertiseAddress = address;
        return c;
    }

    /// <summary>EtcdArgv reads etcd.yaml from the rootfs and returns its command with node paths mapped into the rootfs.</summary>
    internal static string[] EtcdArgv(string rootfs)
    {
        var pod = (YMap)YamlReader.Read(File.ReadAllText(Path.Join(rootfs, "etc/kubernetes/manifests/etcd.yaml")), "etcd.yaml");
        var container = (YMap)pod.Map("spec")!.Seq("containers")![0];
        var command = container.Seq("command")!.Select(n => ((YScalar)n).Text).ToList();
        return command.Select(a => a.Replace("=/etc/kubernetes/", $"={rootfs}/etc/kubernetes/", StringComparison.Ordinal)
            .Replace("=/var/lib/etcd", $"={rootfs}/var/lib/etcd", StringComparison.Ordinal)).ToArray();
    }

    private static string[] Ctl(string pki, string cert, params string[] args) =>
        ["etcdctl", "--endpoints=https://127.0.0.1:2379", $"--cacert={pki}/etcd/ca.crt", $"--cert={pki}/{cert}.crt", $"--key={pki}/{cert}.key", "--dial-timeout=3s", "--command-timeout=5s", .. args];

    [Theory]
    [InlineData("v1.22.3")]
    [InlineData("v1.29.0")]
    public async Task EtcdRunsFromGeneratedManifestAndTrustsOnlyGeneratedCerts(string version)
    {
        var cfg = Config(version, "etcd-node", "127.0.0.2");
        var ctx = new PhaseContext { Config = cfg, Host = new LocalHost(_root), Ui = new RecordingUi() };
        await CertsPhase.RunAsync(ctx, null);
        await EtcdPhase.RunLocalAsync(ctx);
        var argv = EtcdArgv(_root);
        Assert.Equal("etcd", argv[0]);
        if (cfg.Profile.EtcdExtraFlags.Count > 0)
        {
            Assert.Contains(argv, a => a.StartsWith("--experimental-initial-corrupt-check=", StringComparison.Ordinal));
        }
        Directory.CreateDirectory(Path.Join(_root, "var/lib/etcd"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        using var ns = new NetNs("kfe");
        ns.Exec("ip", "addr", "add", "127.0.0.2/8", "dev", "lo");
        var etcd = ns.StartIn(Path.Join(_root, "etcd.log"), argv);
        var pki = Path.Join(_root, "etc/kubernetes/pki");

        var healthy = Proc.WaitUntil(() => ns.Exec(Ctl(pki, "etcd/healthcheck-client", "endpoint", "health")).Code == 0, TimeSpan.FromSeconds(30));
        Assert.True(healthy, "etcd did not become healthy: " + File.ReadAllText(Path.Join(_root, "etcd.log")));

        // the manifest's liveness probe (host, port, path) answers on this etcd
        var pod = (YMap)YamlReader.Read(File.ReadAllText(Path.Join(_root, "etc/kubernetes/manifests/etcd.yaml")), "etcd.yaml");
        var httpGet = ((YMap)pod.Map("spec")!.Seq("containers")![0]).Map("livenessProbe")!.Map("httpGet")!;
        var url = $"http://{httpGet.Str("host")}:{httpGet.Str("port")}{httpGet.Str("path")}";
        var probe = ns.Exec("curl", "-sf", "--max-time", "5", url);
        Assert.True(probe.Code == 0, $"probe {url} failed: {probe.Output}");
        Assert.Contains("\"health\":\"true\"", probe.Output);

        // the API server's client certificate can write and read
        Assert.Equal(0, ns.Exec(Ctl(pki, "apiserver-etcd-client", "put", "/registry/kubeforge", "ok")).Code);
        var get = ns.Exec(Ctl(pki, "apiserver-etcd-client", "get", "/registry/kubeforge", "--print-value-only"));
        Assert.Equal(0, get.Code);
        Assert.Equal("ok", get.Output.Trim());

        // a client certificate from another CA is refused
        var otherDir = Path.Join(_root, "other");
        var other = Config(version, "intruder", "127.0.0.2");
        other.Cluster.CertificatesDir = "/other";
        await CertsPhase.RunAsync(new PhaseContext { Config = other, Host = new LocalHost(_root), Ui = new RecordingUi() }, "etcd-ca");
        await CertsPhase.RunAsync(new PhaseContext { Config = other, Host = new LocalHost(_root), Ui = new RecordingUi() }, "apiserver-etcd-client");
        var refused = ns.Exec("etcdctl", "--endpoints=https://127.0.0.1:2379", $"--cacert={pki}/etcd/ca.crt",
            $"--cert={otherDir}/apiserver-etcd-client.crt", $"--key={otherDir}/apiserver-etcd-client.key", "--dial-timeout=3s", "--command-timeout=5s",
            "get", "/registry/kubeforge");
        Assert.NotEqual(0, refused.Code);

        Proc.Stop(etcd);
    }
}
