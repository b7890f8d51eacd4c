using System.Text;
using Kubeforge.Cli;
using Kubeforge.Cluster;
using Kubeforge.Config;
using Kubeforge.Node;
using Kubeforge.Phases;

namespace Kubeforge.Tests.Cluster;

/// <summary>MirrorKeysTests check spec.mirror.packageKey and the mirrors' keys in <c>up</c>: the field is read and validated, the
/// key files are loaded relative to the cluster file with one clear error naming the field, a custom packageRepository (or a
/// key) selects the custom repository while the presets keep theirs, and the containerd and packages inputs hash the mirrors and keys.</summary>
public sealed class MirrorKeysTests : IDisposable
{
    private static readonly byte[] Armored = Encoding.ASCII.GetBytes("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...\n-----END PGP PUBLIC KEY BLOCK-----\n");
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-mirror-keys-").FullName;

    private const string Mirrors = "  mirror:\n    packageRepository: http://10.0.0.1/k8s/\n    packageKey: keys/k8s.asc\n" +
        "    osPackageRepository: http://10.0.0.1/os\n    osPackageKey: os.asc\n";

    private string Write(string text)
    {
        var path = Path.Join(_dir, "cluster.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private void Key(string rel, byte[] data)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Join(_dir, rel))!);
        File.WriteAllBytes(Path.Join(_dir, rel), data);
    }

    [Fact]
    public void KeysAreReadRelativeToTheClusterFile()
    {
        Key("keys/k8s.asc", Armored);
        Key("os.asc", Armored);
        var f = PlanCommand.Read(Write(ClusterFileTests.Single(Mirrors)));
        Assert.Equal("keys/k8s.asc", f.Mirror.PackageKey);
        Assert.Equal(Armored, f.Mirror.PackageKeyData);
        Assert.Equal(new KubePackageRepo("http://10.0.0.1/k8s/", Armored).Base, f.Mirror.CustomPackages!.Base);
        Assert.Equal(Armored, f.Mirror.CustomPackages.Key);
        var os = f.Mirror.OsPackages!;
        Assert.Equal("http://10.0.0.1/os", os.Url);
        Assert.Equal(Armored, os.Key);
    }

    [Fact]
    public void AMissingOrWrongKeyFileIsOneErrorNamingTheField()
    {
        Key("os.asc", Armored);
        var missing = Assert.Throws<UserError>(() => PlanCommand.Read(Write(ClusterFileTests.Single(Mirrors))));
        Assert.StartsWith("spec.mirror.packageKey: ", missing.Message);
        Assert.Contains("keys/k8s.asc does not exist", missing.Message);
        Key("keys/k8s.asc", Encoding.ASCII.GetBytes("-----BEGIN CERTIFICATE-----\nMIIB\n"));
        var wrong = Assert.Throws<UserError>(() => PlanCommand.Read(Write(ClusterFileTests.Single(Mirrors))));
        Assert.StartsWith("spec.mirror.packageKey: ", wrong.Message);
        Assert.Contains("is not an OpenPGP public key", wrong.Message);
        Assert.DoesNotContain('\n', wrong.Message);
        var empty = Assert.Throws<ConfigError>(() => ClusterFile.Parse(ClusterFileTests.Single("  mirror:\n    packageKey: \"\"\n"), "c"));
        Assert.Contains("spec.mirror.packageKey (line 10): is empty", empty.Message);
    }

    [Fact]
    public void PresetsKeepTheirRepositoriesAndACustomBaseOrKeyIsCustom()
    {
        Assert.Null(ClusterFile.Parse(ClusterFileTests.Single(), "c").Mirror.CustomPackages);
        Assert.Null(ClusterFile.Parse(ClusterFileTests.Single("  mirror:\n    preset: aliyun\n"), "c").Mirror.CustomPackages);
        Assert.Null(ClusterFile.Parse(ClusterFileTests.Single("  mirror:\n    packageRepository: https://pkgs.k8s.io/core:/stable:/\n"), "c").Mirror.CustomPackages);
        var custom = ClusterFile.Parse(ClusterFileTests.Single("  mirror:\n    packageRepository: http://10.0.0.1/k8s\n"), "c").Mirror.CustomPackages!;
        Assert.Equal("http://10.0.0.1/k8s", custom.Base);
        Assert.Null(custom.Key);
        var keyed = ClusterFile.Parse(ClusterFileTests.Single("  mirror:\n    packageKey: k.asc\n"), "c");
        keyed.Mirror.PackageKeyData = Armored;
        Assert.Equal("https://pkgs.k8s.io/core:/stable:/", keyed.Mirror.CustomPackages!.Base);
        Assert.Null(ClusterFile.Parse(ClusterFileTests.Single(), "c").Mirror.OsPackages);
    }

    [Fact]
    public void InputsHashTheMirrorsAndTheirKeys()
    {
        Key("keys/k8s.asc", Armored);
        Key("os.asc", Armored);
        var path = Write(ClusterFileTests.Single(Mirrors));
        var a = PlanCommand.Read(path);
        var h = a.Hosts[0];
        var containerd = ClusterSteps.Inputs("containerd", a, h);
        var packages = ClusterSteps.Inputs("packages", a, h);
        Assert.Contains("osMirror=http://10.0.0.1/os key=sha256:", containerd);
        Assert.Contains("packageKey=sha256:", packages);
        Assert.Contains("repo=http://10.0.0.1/k8s/", packages);

        Key("os.asc", [.. Armored, (byte)'\n']);
        Key("keys/k8s.asc", [.. Armored, (byte)'\n']);
        var b = PlanCommand.Read(path);
        Assert.NotEqual(containerd, ClusterSteps.Inputs("containerd", b, b.Hosts[0]));
        Assert.NotEqual(packages, ClusterSteps.Inputs("packages", b, b.Hosts[0]));
        var c = PlanCommand.Read(Write(ClusterFileTests.Single(Mirrors.Replace("http://10.0.0.1/os", "http://10.0.0.2/os"))));
        Assert.NotEqual(ClusterSteps.Inputs("containerd", b, b.Hosts[0]), ClusterSteps.Inputs("containerd", c, c.Hosts[0]));

        // a file without mirrors keeps the inputs it had before these fields existed (no rerun after an upgrade)
        var plain = ClusterFile.Parse(ClusterFileTests.Single(), "c");
        Assert.DoesNotContain("osMirror", ClusterSteps.Inputs("containerd", plain, plain.Hosts[0]));
        Assert.DoesNotContain("packageKey", ClusterSteps.Inputs("packages", plain, plain.Hosts[0]));
    }

    [Fact]
    public void TheExampleShowsPackageKey()
    {
        Assert.Contains("# packageKey: ./k8s-mirror.asc", ClusterExample.Text);
        Assert.Contains("# packageRepository: http://10.0.0.1/k8s/", ClusterExample.Text);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
