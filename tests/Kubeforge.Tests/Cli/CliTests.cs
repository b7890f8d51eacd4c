using Kubeforge.Cli;

namespace Kubeforge.Tests.Cli;

/// <summary>CliRun runs the whole CLI in-process and captures its output and exit code.</summary>
public static class CliRun
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}

/// <summary>CliTests run the whole command line in-process and check output and exit codes.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Run(args);

    [Fact]
    public void VersionPrintsSupportedRange()
    {
        var (code, output, _) = Run("version");
        Assert.Equal(0, code);
        Assert.Contains("Kubernetes v1.22 to v1.37", output);
    }

    [Fact]
    public void ImagesListMatchesKubeadmForTheGuide()
    {
        var (code, output, err) = Run("config", "images", "list", "--kubernetes-version", "v1.22.3", "--image-repository", "registry.aliyuncs.com/google_containers");
        Assert.True(code == 0, err);
        Assert.Equal(
            """
            registry.aliyuncs.com/google_containers/kube-apiserver:v1.22.3
            registry.aliyuncs.com/google_containers/kube-controller-manager:v1.22.3
            registry.aliyuncs.com/google_containers/kube-scheduler:v1.22.3
            registry.aliyuncs.com/google_containers/kube-proxy:v1.22.3
            registry.aliyuncs.com/google_containers/pause:3.5
            registry.aliyuncs.com/google_containers/etcd:3.5.0-0
            registry.aliyuncs.com/google_containers/coredns:v1.8.4

            """.ReplaceLineEndings("\n"), output);
    }

    public static TheoryData<string, string, string> BadConfigs => new()
    {
        { "v1beta3", "networking:\n  podSubnet: 10.244.0.0/33", "networking.podSubnet" },
        { "v1beta3", "networking:\n  podSubnet: 10.96.0.0/16\n  serviceSubnet: 10.96.0.0/12", "podSubnet" },
        { "v1beta3", "networking:\n  podSubnett: 10.244.0.0/16", "podSubnett" },
        { "v1beta3", "kubernetesVersion: v1.21.0", "kubernetesVersion" },
        { "v1beta4", "encryptionAlgorithm: RSA-1024", "encryptionAlgorithm" },
        { "v1beta3", "encryptionAlgorithm: ECDSA-P256", "encryptionAlgorithm" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void InvalidClusterConfigurationFailsWithOneLineNamingTheField(string api, string body, string field)
    {
        var version = api == "v1beta4" ? "v1.31.0" : "v1.22.3";
        var text = $"apiVersion: kubeadm.k8s.io/{api}\nkind: ClusterConfiguration\n" + (body.StartsWith("kubernetesVersion", StringComparison.Ordinal) ? "" : $"kubernetesVersion: {version}\n") + body + "\n";
        AssertOneLineError(text, field);
    }

    [Theory]
    [InlineData("nodeRegistration:\n  name: Node_1", "nodeRegistration.name")]
    [InlineData("localAPIEndpoint:\n  advertiseAddress: 10.0.0.300", "advertiseAddress")]
    [InlineData("bootstrapTokens:\n- token: not-a-token", "token")]
    public void InvalidInitConfigurationFailsWithOneLineNamingTheField(string body, string field)
    {
        var text = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n" + body +
            "\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.22.3\n";
        AssertOneLineError(text, field);
    }

    private void AssertOneLineError(string configText, string field)
    {
        var path = Path.Join(_dir, "kubeadm.yaml");
        File.WriteAllText(path, configText);
        var (code, _, err) = Run("init", "--config", path, "--dry-run", "--rootfs", Path.Join(_dir, "root"));
        Assert.Equal(1, code);
        var lines = err.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(field, lines[0]);
        Assert.DoesNotContain("   at ", err);
        Assert.False(Directory.Exists(Path.Join(_dir, "root", "etc")));
    }

    [Fact]
    public void BadFlagValuesAndMissingFilesAreOneLineErrors()
    {
        var (code, _, err) = Run("init", "--config", Path.Join(_dir, "missing.yaml"));
        Assert.Equal(1, code);
        Assert.Contains("missing.yaml", err);
        (code, _, err) = Run("init", "--kubernetes-version", "v1.99.0", "--dry-run");
        Assert.Equal(1, code);
        Assert.Contains("v1.22", err);
        (code, _, err) = Run("init", "--skip-phases", "bogus", "--dry-run", "--node-name", "n1", "--apiserver-advertise-address", "192.0.2.5");
        Assert.Equal(1, code);
        Assert.Contains("bogus", err);
    }

    [Fact]
    public void PhaseCommandsAreGeneratedFromTheTree()
    {
        var (code, output, _) = Run("init", "phase", "certs", "--help");
        Assert.Equal(0, code);
        foreach (var name in new[] { "all", "ca", "apiserver", "etcd-server", "apiserver-etcd-client", "sa" })
        {
            Assert.Contains(name, output);
        }
        (code, output, _) = Run("init", "--help");
        Assert.Equal(0, code);
        Assert.Contains("upload-config", output);
        Assert.Contains("/kubelet", output);
    }

    [Fact]
    public void PhaseCertsAllWritesOnlyUnderRootfs()
    {
        var root = Path.Join(_dir, "node");
        var (code, output, err) = Run("init", "phase", "certs", "all", "--rootfs", root, "--node-name", "n1", "--apiserver-advertise-address", "192.0.2.5", "--kubernetes-version", "v1.29.0");
        Assert.True(code == 0, err);
        Assert.Contains("[certs] Generating \"apiserver\" certificate and key", output);
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order().ToList();
        Assert.Equal(22, files.Count);
        Assert.All(files, f => Assert.StartsWith("etc/kubernetes/pki/", f));
    }

    [Fact]
    public void InitDryRunChangesNothingAndShowsEveryPhase()
    {
        var root = Path.Join(_dir, "dry");
        Directory.CreateDirectory(root);
        var (code, output, err) = Run("init", "--dry-run", "--rootfs", root, "--node-name", "n1", "--apiserver-advertise-address", "192.0.2.5",
            "--kubernetes-version", "v1.22.3", "--image-repository", "registry.aliyuncs.com/google_containers", "--pod-network-cidr", "10.244.0.0/16");
        Assert.True(code == 0, err + output);
        Assert.Empty(Directory.GetFileSystemEntries(root));
        Assert.Contains("[dryrun] Would write file \"/etc/kubernetes/manifests/kube-apiserver.yaml\"", output);
        Assert.Contains("- --cluster-cidr=10.244.0.0/16", output);
        Assert.Contains("[dryrun] Would write file \"/etc/kubernetes/pki/ca.key\" (mode 600", output);
        Assert.DoesNotContain("PRIVATE KEY", output);
        Assert.Contains("Would perform action CREATE on resource \"configmaps\"", output);
        Assert.Contains("kubeadm join 192.0.2.5:6443 --token", output);
        var dir = output.Split('\n').First(l => l.Contains("would-be files", StringComparison.Ordinal)).Split('"')[1];
        Assert.True(File.Exists(Path.Join(dir, "etc/kubernetes/manifests/etcd.yaml")));
        Directory.Delete(dir, recursive: true);
    }
}

public sealed class CertsCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-certs-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Run(args);

    [Fact]
    public void CheckExpirationAndRenewWorkOnARootfs()
    {
        string[] node = ["--rootfs", _dir];
        string[] flags = ["--node-name", "n1", "--apiserver-advertise-address", "192.0.2.5", "--kubernetes-version", "v1.25.0"];
        Assert.Equal(0, Run(["init", "phase", "certs", "all", .. node, .. flags]).Code);
        Assert.Equal(0, Run(["init", "phase", "kubeconfig", "all", .. node, .. flags]).Code);
        var (code, output, err) = Run(["certs", "check-expiration", "--kubernetes-version", "v1.25.0", .. node]);
        Assert.True(code == 0, err);
        Assert.Contains("CERTIFICATE", output);
        Assert.Contains("admin.conf", output);
        Assert.Contains("apiserver-etcd-client", output);
        Assert.Contains("364d", output);

        var before = File.ReadAllBytes(Path.Join(_dir, "etc/kubernetes/pki/apiserver.crt"));
        var caBefore = File.ReadAllBytes(Path.Join(_dir, "etc/kubernetes/pki/ca.crt"));
        (code, _, err) = Run(["certs", "renew", "apiserver", "--kubernetes-version", "v1.25.0", .. node]);
        Assert.True(code == 0, err);
        Assert.NotEqual(before, File.ReadAllBytes(Path.Join(_dir, "etc/kubernetes/pki/apiserver.crt")));
        Assert.Equal(caBefore, File.ReadAllBytes(Path.Join(_dir, "etc/kubernetes/pki/ca.crt")));
    }

    [Fact]
    public void CertificateKeyAndTokenGenerate()
    {
        var (code, output, _) = Run("certs", "certificate-key");
        Assert.Equal(0, code);
        Assert.Matches("^[0-9a-f]{64}\n$", output);
        (code, output, _) = Run("token", "generate");
        Assert.Equal(0, code);
        Assert.Matches("^[a-z0-9]{6}\\.[a-z0-9]{16}\n$", output);
    }
}

public sealed class UpCliTests
{
    [Fact]
    public void UpDryRunPreparesThenInitsAndChangesNothing()
    {
        var before = Directory.Exists("/etc/kubernetes") ? Directory.GetFileSystemEntries("/etc/kubernetes", "*", SearchOption.AllDirectories).Length : -1;
        // this test machine is no Kubernetes node (no iptables, Docker...): its other preflight errors are ignored
        var (code, output, err) = CliRun.Run("up", "--dry-run", "--ignore-preflight-errors", "all");
        Assert.True(code == 0, err + output);
        Assert.Contains("[up] Dry run: init's preflight does not stop on what step 1 fixes", output);
        Assert.Contains("[preflight] Running pre-flight checks", output);
        Assert.Contains("[up] Step 1/2: prepare this host", output);
        Assert.Contains("[dryrun] Nothing on local was changed", output);
        Assert.Contains("[up] Step 2/2: init", output);
        Assert.Contains("- --cluster-cidr=10.244.0.0/16", output);
        Assert.Contains("Would perform action CREATE on resource \"daemonsets\"", output);
        var after = Directory.Exists("/etc/kubernetes") ? Directory.GetFileSystemEntries("/etc/kubernetes", "*", SearchOption.AllDirectories).Length : -1;
        Assert.Equal(before, after);
        var dir = output.Split('\n').First(l => l.Contains("would-be files", StringComparison.Ordinal)).Split('"')[1];
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void UpWithAMissingClusterFileSaysHowToWriteOne()
    {
        var (code, _, err) = CliRun.Run("up", "-f", "no-such-cluster.yaml");
        Assert.Equal(1, code);
        Assert.Contains("kubeforge config print cluster", err);
    }
}
