using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Tests.ControlPlane;

namespace Kubeforge.Tests.Hosts;

/// <summary>SnapshotHostTests check that the snapshot of config files answers reads and stats without touching the host,
/// stays true across writes and deletes through it, and is forgotten when a command that may change files runs.</summary>
public class SnapshotHostTests
{
    private sealed class CountingHost(FakeHost inner) : IHost
    {
        public int Reads;
        public string Name => inner.Name;
        public bool ManagesServices => inner.ManagesServices;
        public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) { Reads++; return inner.ReadFileAsync(path, ct); }
        public Task<FileState> StatAsync(string path, CancellationToken ct = default) { Reads++; return inner.StatAsync(path, ct); }
        public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) => inner.ListAsync(path, ct);
        public Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = 493, CancellationToken ct = default) => inner.WriteFileAsync(path, content, mode, dirMode, ct);
        public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default) => inner.CreateDirectoryAsync(path, mode, ct);
        public Task DeleteAsync(string path, CancellationToken ct = default) => inner.DeleteAsync(path, ct);
        public Task RenameAsync(string from, string to, CancellationToken ct = default) => inner.RenameAsync(from, to, ct);
        public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default) => inner.RunAsync(argv, stdin, ct);
    }

    private static (SnapshotHost Host, CountingHost Below, FakeHost Fake) Make()
    {
        var fake = new FakeHost(true);
        fake.Files["/etc/fstab"] = ("UUID=1 / ext4 defaults 0 1\n"u8.ToArray(), 0x1A4, 0x1ED);
        var below = new CountingHost(fake);
        var snap = new FileSnapshot(new Dictionary<string, SnapshotFile?>
        {
            ["/etc/fstab"] = new("UUID=1 / ext4 defaults 0 1\n"u8.ToArray(), 0x1A4),
            ["/etc/sysctl.d/99-kubernetes.conf"] = null,
        });
        return (new SnapshotHost(below, snap), below, fake);
    }

    [Fact]
    public async Task ReadsAndStatsOfSnapshotFilesDoNotTouchTheHost()
    {
        var (h, below, _) = Make();
        Assert.Equal("UUID=1 / ext4 defaults 0 1\n", await h.ReadTextAsync("/etc/fstab"));
        Assert.Equal(new FileState(true, false, 0x1A4, 27), await h.StatAsync("/etc/fstab"));
        Assert.False(await h.ExistsAsync("/etc/sysctl.d/99-kubernetes.conf"));
        Assert.Null(await h.ReadFileAsync("/etc/sysctl.d/99-kubernetes.conf"));
        Assert.Equal(0, below.Reads);
        Assert.Null(await h.ReadFileAsync("/etc/hosts")); // not in the snapshot: asked below
        Assert.Equal(1, below.Reads);
    }

    [Fact]
    public async Task WriteIfChangedSeesItsOwnWritesAndWritesOnlyOnce()
    {
        var (h, below, fake) = Make();
        var conf = "net.ipv4.ip_forward = 1\n"u8.ToArray();
        Assert.True(await h.WriteIfChangedAsync("/etc/sysctl.d/99-kubernetes.conf", conf, 0x1A4));
        Assert.False(await h.WriteIfChangedAsync("/etc/sysctl.d/99-kubernetes.conf", conf, 0x1A4));
        Assert.True(await h.WriteIfChangedAsync("/etc/sysctl.d/99-kubernetes.conf", conf, 0x180)); // a mode change is a change
        Assert.Equal(3 - 1, fake.Writes);
        Assert.Equal(0, below.Reads);
        await h.DeleteAsync("/etc/fstab");
        Assert.False(await h.ExistsAsync("/etc/fstab"));
        Assert.Equal(0, below.Reads);
    }

    [Fact]
    public async Task CommandsThatMayChangeFilesForgetTheSnapshotOthersDoNot()
    {
        var (h, below, fake) = Make();
        await h.RunAsync(["sysctl", "--system"]);
        await h.RunAsync(["/usr/bin/systemctl", "restart", "containerd"]);
        Assert.Equal("UUID=1 / ext4 defaults 0 1\n", await h.ReadTextAsync("/etc/fstab"));
        Assert.Equal(0, below.Reads);
        // a package install may rewrite any config file: the next read goes to the host and sees its change
        fake.Files["/etc/fstab"] = ("changed\n"u8.ToArray(), 0x1A4, 0x1ED);
        await h.RunAsync(["apt-get", "install", "-y", "containerd"]);
        Assert.Equal("changed\n", await h.ReadTextAsync("/etc/fstab"));
        Assert.Equal(1, below.Reads);
        // and a later write does not bring the forgotten snapshot back
        await h.WriteFileAsync("/etc/sysctl.d/99-kubernetes.conf", "x"u8.ToArray(), 0x1A4);
        await h.StatAsync("/etc/sysctl.d/99-kubernetes.conf");
        Assert.Equal(2, below.Reads);
    }

    [Fact]
    public async Task AFailedWriteLeavesThePathUnknown()
    {
        var fake = new FakeHost(true);
        var snap = new FileSnapshot(new Dictionary<string, SnapshotFile?> { ["/etc/a"] = null });
        var h = new SnapshotHost(new FailingWrites(fake), snap);
        await Assert.ThrowsAsync<IOException>(() => h.WriteFileAsync("/etc/a", [1], 0x1A4));
        Assert.False(snap.TryGet("/etc/a", out _));
    }

    private sealed class FailingWrites(FakeHost inner) : IHost
    {
        public string Name => inner.Name;
        public bool ManagesServices => true;
        public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) => inner.ReadFileAsync(path, ct);
        public Task<FileState> StatAsync(string path, CancellationToken ct = default) => inner.StatAsync(path, ct);
        public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) => inner.ListAsync(path, ct);
        public Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = 493, CancellationToken ct = default) => throw new IOException("disk full");
        public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default) => inner.CreateDirectoryAsync(path, mode, ct);
        public Task DeleteAsync(string path, CancellationToken ct = default) => inner.DeleteAsync(path, ct);
        public Task RenameAsync(string from, string to, CancellationToken ct = default) => inner.RenameAsync(from, to, ct);
        public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default) => inner.RunAsync(argv, stdin, ct);
    }
}
