using System.Text;
using Kubeforge.Hosts;

namespace Kubeforge.Tests.Hosts;

/// <summary>UndoHostTests check that a rollback removes created files and folders and restores replaced files.</summary>
public sealed class UndoHostTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-undo-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task RollbackPutsTheTreeBack()
    {
        var local = new LocalHost(_root);
        await local.WriteFileAsync("/etc/kubernetes/existing.conf", Encoding.UTF8.GetBytes("old"), FileModes.Private);
        var undo = new UndoHost(local);
        Assert.False(undo.Changed);
        await undo.WriteFileAsync("/etc/kubernetes/existing.conf", Encoding.UTF8.GetBytes("new"), FileModes.Private);
        await undo.WriteFileAsync("/etc/kubernetes/pki/ca.crt", Encoding.UTF8.GetBytes("ca"), FileModes.Public);
        await undo.WriteFileAsync("/var/lib/kubelet/config.yaml", Encoding.UTF8.GetBytes("k"), FileModes.Public, FileModes.PrivateDir);
        await undo.CreateDirectoryAsync("/var/lib/etcd", FileModes.PrivateDir);
        Assert.True(undo.Changed);

        await undo.RollbackAsync();
        Assert.Equal("old", File.ReadAllText(Path.Join(_root, "etc/kubernetes/existing.conf")));
        Assert.False(Directory.Exists(Path.Join(_root, "etc/kubernetes/pki")));
        Assert.False(Directory.Exists(Path.Join(_root, "var")));
        Assert.Equal(["kubernetes"], Directory.GetDirectories(Path.Join(_root, "etc")).Select(Path.GetFileName));
    }
}
