using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kubeforge.IntegrationTests.Init;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.TestApiServer;

namespace Kubeforge.IntegrationTests.Reset;

/// <summary>InitTokenResetTests run init on a --rootfs against the test API server, then the token commands
/// (create/list/delete, print-join-command) and finally reset on the same rootfs.</summary>
public sealed class InitTokenResetTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-reset-it-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static SortedDictionary<string, string> Hashes(string dir) =>
        new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))), StringComparer.Ordinal);

    [Fact]
    public async Task InitThenTokensThenResetLeavesOnlyTheBackup()
    {
        var version = "v1.37.0";
        await using var cp = await ControlPlaneNode.StartAsync(_root, version, "--pod-network-cidr", "10.244.0.0/16");
        var common = cp.Flags;
        var server = cp.Server;
        var port = server.BaseUri.Port;
        var pki = Path.Join(_root, "etc/kubernetes/pki");
        var init = InitAgainstTestApiServerTests.Cli(["init", .. common]);
        Assert.True(init.Code == 0, init.Err + init.Out);
        var created = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_root, f)).ToList();
        Assert.Contains(created, f => f.StartsWith("var/lib/kubelet/", StringComparison.Ordinal));

        // token create / list / delete
        string[] kc = ["--rootfs", _root];
        var create = InitAgainstTestApiServerTests.Cli(["token", "create", "abcdef.0123456789abcdef", "--ttl", "0", "--description", "round trip", "--groups", "system:bootstrappers:test", .. kc]);
        Assert.True(create.Code == 0, create.Err);
        Assert.Equal("abcdef.0123456789abcdef\n", create.Out);
        var secret = server.Store.Get("secrets", "kube-system", "bootstrap-token-abcdef")!;
        Assert.Equal("bootstrap.kubernetes.io/token", secret["type"]!.GetValue<string>());
        var data = secret["data"]!.AsObject();
        string D(string k) => Encoding.UTF8.GetString(Convert.FromBase64String(data[k]!.GetValue<string>()));
        Assert.Equal("abcdef", D("token-id"));
        Assert.Equal("0123456789abcdef", D("token-secret"));
        Assert.Equal("round trip", D("description"));
        Assert.Equal("true", D("usage-bootstrap-signing"));
        Assert.Equal("true", D("usage-bootstrap-authentication"));
        Assert.Equal("system:bootstrappers:test", D("auth-extra-groups"));
        Assert.False(data.ContainsKey("expiration"));

        var join = InitAgainstTestApiServerTests.Cli(["token", "create", "--print-join-command", .. kc]);
        Assert.True(join.Code == 0, join.Err);
        var m = Regex.Match(join.Out, @"^kubeadm join 127\.0\.0\.1:(\d+) --token ([a-z0-9]{6})\.([a-z0-9]{16})     --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64}) \n$");
        Assert.True(m.Success, join.Out);
        Assert.Equal(port.ToString(), m.Groups[1].Value);
        var joinSecret = server.Store.Get("secrets", "kube-system", "bootstrap-token-" + m.Groups[2].Value)!;
        Assert.Equal(m.Groups[3].Value, Encoding.UTF8.GetString(Convert.FromBase64String(joinSecret["data"]!["token-secret"]!.GetValue<string>())));
        using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Join(pki, "ca.crt")));
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(ca.PublicKey.ExportSubjectPublicKeyInfo())), m.Groups[4].Value);
        var cpJoin = InitAgainstTestApiServerTests.Cli(["token", "create", "--print-join-command", "--certificate-key", new string('b', 64), .. kc]);
        Assert.EndsWith($"    --control-plane --certificate-key {new string('b', 64)}\n", cpJoin.Out);

        var list = InitAgainstTestApiServerTests.Cli(["token", "list", .. kc]);
        Assert.True(list.Code == 0, list.Err);
        Assert.StartsWith("TOKEN                     TTL         EXPIRES", list.Out);
        Assert.Contains("abcdef.0123456789abcdef   <forever>   <never>", list.Out);
        Assert.Contains(m.Groups[2].Value + "." + m.Groups[3].Value + "   23h ", list.Out);
        var del = InitAgainstTestApiServerTests.Cli(["token", "delete", "abcdef", .. kc]);
        Assert.Equal("bootstrap token \"abcdef\" deleted\n", del.Out);
        Assert.Null(server.Store.Get("secrets", "kube-system", "bootstrap-token-abcdef"));
        var delAgain = InitAgainstTestApiServerTests.Cli(["token", "delete", "abcdef", .. kc]);
        Assert.Equal(1, delAgain.Code);
        var bad = InitAgainstTestApiServerTests.Cli(["token", "create", "--usages", "signing,foo", .. kc]);
        Assert.Equal(1, bad.Code);
        Assert.Contains("invalid bootstrap token usage string: foo", bad.Err);

        // reset
        var before = Hashes(Path.Join(_root, "etc/kubernetes"));
        var reset = InitAgainstTestApiServerTests.Cli(["reset", "--force", "--rootfs", _root]);
        Assert.True(reset.Code == 0, reset.Err + reset.Out);
        var backupDir = Directory.GetDirectories(Path.Join(_root, "etc"), "kubernetes-backup-*").Single();
        Assert.Equal(before, Hashes(backupDir));
        var left = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_root, f))
            .Where(f => !f.StartsWith(Path.GetRelativePath(_root, backupDir), StringComparison.Ordinal)).ToList();
        Assert.Empty(left);
        Assert.All(created, f => Assert.False(File.Exists(Path.Join(_root, f)), f));

        var second = InitAgainstTestApiServerTests.Cli(["reset", "--force", "--rootfs", _root]);
        Assert.True(second.Code == 0, second.Err);
        Assert.Contains("Nothing to remove", second.Out);
        Assert.Single(Directory.GetDirectories(Path.Join(_root, "etc"), "kubernetes-backup-*"));
    }
}
