using System.Text;
using Kubeforge.Hosts;

namespace Kubeforge.Tests.Hosts;

public sealed class LocalHostTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-host-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task RootfsMapsPathsAndWritesAtomicallyWithMode()
    {
        var host = new LocalHost(_root);
        Assert.False(host.ManagesServices);
        await host.WriteFileAsync("/etc/kubernetes/pki/ca.key", Encoding.ASCII.GetBytes("k"), FileModes.Private);
        var real = Path.Join(_root, "etc/kubernetes/pki/ca.key");
        Assert.True(File.Exists(real));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(real));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(real)!, "*.tmp"));
        var st = await host.StatAsync("/etc/kubernetes/pki/ca.key");
        Assert.True(st.Exists);
        Assert.Equal(FileModes.Private, st.Mode);
    }

    [Fact]
    public void RootfsRefusesPathsThatLeaveIt()
    {
        var host = new LocalHost(_root);
        Assert.Throws<ArgumentException>(() => host.Resolve("/../../etc/passwd"));
    }

    [Fact]
    public async Task WriteIfChangedSkipsIdenticalContent()
    {
        var host = new LocalHost(_root);
        Assert.True(await host.WriteIfChangedAsync("/a/b.txt", [1, 2], FileModes.Public));
        Assert.False(await host.WriteIfChangedAsync("/a/b.txt", [1, 2], FileModes.Public));
        Assert.True(await host.WriteIfChangedAsync("/a/b.txt", [1, 2], FileModes.Private));
        Assert.True(await host.WriteIfChangedAsync("/a/b.txt", [1, 3], FileModes.Private));
    }

    [Fact]
    public async Task RunPassesArgumentsUnchanged()
    {
        var host = new LocalHost(_root);
        var r = await host.RunAsync(["printf", "%s|", "a b", "$(x)", "'q'"]);
        Assert.True(r.Ok);
        Assert.Equal("a b|$(x)|'q'|", r.Stdout);
        var missing = await host.RunAsync(["/nonexistent/tool"]);
        Assert.Equal(127, missing.ExitCode);
    }

    [Fact]
    public async Task DryRunHostChangesNothingButShowsItsOwnWrites()
    {
        var inner = new LocalHost(_root);
        await inner.WriteFileAsync("/x/old.txt", [9], FileModes.Public);
        var dry = new DryRunHost(inner);
        await dry.WriteFileAsync("/x/new.txt", [1], FileModes.Public);
        await dry.DeleteAsync("/x/old.txt");
        await dry.RunAsync(["systemctl", "restart", "kubelet"]);
        Assert.Equal([1], await dry.ReadFileAsync("/x/new.txt"));
        Assert.Null(await dry.ReadFileAsync("/x/old.txt"));
        Assert.Equal(["new.txt"], await dry.ListAsync("/x"));
        Assert.False(File.Exists(Path.Join(_root, "x/new.txt")));
        Assert.True(File.Exists(Path.Join(_root, "x/old.txt")));
        Assert.Equal(3, dry.Actions.Count);
        Assert.Equal(["systemctl", "restart", "kubelet"], dry.Actions[2].Argv);
    }
}
