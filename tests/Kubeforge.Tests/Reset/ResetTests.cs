using System.Security.Cryptography;
using Kubeforge.Cli;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Tests.Reset;

/// <summary>ResetTests run "kubeforge reset" on a --rootfs tree: backup first, then cleanup, idempotent, confirmation rules.</summary>
public sealed class ResetTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-reset-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly DateTimeOffset Now = new(2026, 11, 26, 1, 2, 3, TimeSpan.Zero);

    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private (int Code, string Out, string Err) Run(Func<string?> readLine, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var env = new CliEnvironment(new FixedTime(), r => new LocalHost(r)) { ReadLine = readLine };
        var code = App.Run(args, o, e, env);
        return (code, o.ToString(), e.ToString());
    }

    private void Put(string nodePath, string content)
    {
        var p = Path.Join(_root, nodePath);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
    }

    private bool Has(string nodePath) => File.Exists(Path.Join(_root, nodePath)) || Directory.Exists(Path.Join(_root, nodePath));

    private void Populate()
    {
        Put("/etc/kubernetes/manifests/kube-apiserver.yaml", "spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:v1.37.0\n");
        Put("/etc/kubernetes/manifests/etcd.yaml", "spec:\n  containers:\n  - command:\n    - etcd\n    - --name=cp1\n    - --listen-client-urls=https://127.0.0.1:1,https://127.0.0.1:2\n  volumes:\n  - hostPath:\n      path: /var/lib/etcd\n    name: etcd-data\n");
        Put("/etc/kubernetes/pki/ca.crt", "ca");
        Put("/etc/kubernetes/pki/etcd/ca.crt", "etcd-ca");
        Put("/etc/kubernetes/admin.conf", "admin");
        Put("/etc/kubernetes/super-admin.conf", "super");
        Put("/etc/kubernetes/kubelet.conf", "kubelet");
        Put("/etc/kubernetes/keep.txt", "not kubeadm's");
        Put("/var/lib/kubelet/config.yaml", "cfg");
        Put("/var/lib/etcd/member/snap/db", "db");
        Put("/etc/cni/net.d/10-flannel.conflist", "{}");
    }

    [Fact]
    public void ResetBacksUpThenCleansAndIsIdempotent()
    {
        Populate();
        var before = Hashes(Path.Join(_root, "etc/kubernetes"));
        var (code, output, err) = Run(() => throw new InvalidOperationException("no prompt with --force"), "reset", "--force", "--rootfs", _root);
        Assert.True(code == 0, err + output);
        var backup = Path.Join(_root, "etc/kubernetes-backup-20261126T010203Z");
        Assert.Equal(before, Hashes(backup));
        foreach (var gone in new[] { "/etc/kubernetes/manifests/etcd.yaml", "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/etcd", "/etc/kubernetes/admin.conf",
                     "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/kubelet.conf", "/var/lib/kubelet/config.yaml", "/var/lib/etcd/member" })
        {
            Assert.False(Has(gone), gone);
        }
        Assert.True(Has("/etc/kubernetes/keep.txt"));
        Assert.True(Has("/etc/cni/net.d/10-flannel.conflist"));
        Assert.True(Has("/var/lib/etcd"));
        Assert.Contains("[reset] Deleted contents of the etcd data directory: /var/lib/etcd", output);
        Assert.Contains("[reset] WARNING: Failed to remove etcd member", err);
        Assert.Contains("[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]", output);
        Assert.Contains("[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf", output);
        Assert.Contains("iptables -F && iptables -t nat -F && iptables -t mangle -F && iptables -X", output);
        Assert.Contains("https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/", output);

        File.Delete(Path.Join(_root, "etc/kubernetes/keep.txt"));
        var again = Run(() => null, "reset", "--force", "--rootfs", _root);
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("Nothing to remove", again.Out);
        Assert.Contains("No etcd config found", again.Out);
        Assert.Single(Directory.GetDirectories(Path.Join(_root, "etc"), "kubernetes-backup-*"));
    }

    [Fact]
    public void ConfirmationIsRequiredWithoutForce()
    {
        Populate();
        var none = Run(() => null, "reset", "--rootfs", _root);
        Assert.Equal(1, none.Code);
        Assert.Contains("--force", none.Err);
        Assert.True(Has("/etc/kubernetes/admin.conf"));
        var no = Run(() => "n", "reset", "--rootfs", _root);
        Assert.Equal(1, no.Code);
        Assert.Contains("didn't answer (Y|y)", no.Err);
        Assert.True(Has("/etc/kubernetes/admin.conf"));
        var yes = Run(() => "y", "reset", "--rootfs", _root, "--skip-phases", "remove-etcd-member");
        Assert.True(yes.Code == 0, yes.Err);
        Assert.Contains("[reset] Are you sure you want to proceed? [y/N]: ", yes.Out);
        Assert.False(Has("/etc/kubernetes/admin.conf"));
        Assert.True(Has("/var/lib/etcd/member/snap/db"));
    }

    [Fact]
    public void DryRunChangesNothingAndSinglePhaseRuns()
    {
        Populate();
        var dry = Run(() => null, "reset", "--dry-run", "--rootfs", _root);
        Assert.True(dry.Code == 0, dry.Err);
        Assert.Contains("Would delete files", dry.Out);
        Assert.True(Has("/etc/kubernetes/admin.conf"));
        Assert.Empty(Directory.GetDirectories(Path.Join(_root, "etc"), "kubernetes-backup-*"));
        var phase = Run(() => null, "reset", "phase", "cleanup-node", "--rootfs", _root);
        Assert.True(phase.Code == 0, phase.Err);
        Assert.False(Has("/etc/kubernetes/admin.conf"));
        Assert.True(Has("/var/lib/etcd/member/snap/db"));
    }

    [Fact]
    public void LegacyReleasesUseTheOldLayoutAndNotes()
    {
        Assert.True(VersionTable.TryGet(KubeVersion.Parse("v1.22.3"), out var old));
        Assert.Contains("you must remove /etc/cni/net.d", ResetWorkflow.ManualCleanupNotes(old));
        Put("/etc/kubernetes/manifests/kube-apiserver.yaml", "spec:\n  containers:\n  - image: k8s.gcr.io/kube-apiserver:v1.22.3\n");
        Put("/var/lib/cni/networks/x", "ip");
        var r = Run(() => null, "reset", "-f", "--rootfs", _root);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("[reset] Deleting contents of stateful directories: [/var/lib/kubelet /var/lib/dockershim /var/run/kubernetes /var/lib/cni]", r.Out);
        Assert.DoesNotContain("super-admin.conf", r.Out);
        Assert.False(Has("/var/lib/cni/networks"));
    }

    private static SortedDictionary<string, string> Hashes(string dir) =>
        new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))), StringComparer.Ordinal);
}
