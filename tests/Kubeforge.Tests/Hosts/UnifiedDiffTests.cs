using Kubeforge.Hosts;
using Kubeforge.Tests.ControlPlane;

namespace Kubeforge.Tests.Hosts;

public class UnifiedDiffTests
{
    [Fact]
    public void EqualTextsHaveNoDiff() => Assert.Equal("", UnifiedDiff.Diff("a\n", "a\n", "a", "b"));

    [Fact]
    public void ChangedLineWithContext()
    {
        var old = string.Join("", Enumerable.Range(1, 10).Select(i => $"l{i}\n"));
        var neu = old.Replace("l5\n", "L5\n");
        Assert.Equal("--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n", UnifiedDiff.Diff(old, neu, "a/f", "b/f"));
    }

    [Fact]
    public void NewFileAndSeparateHunks()
    {
        Assert.Equal("--- /dev/null\n+++ b/x\n@@ -0,0 +1,2 @@\n+a\n+b\n", UnifiedDiff.Diff(null, "a\nb\n", "/dev/null", "b/x"));
        var old = string.Join("", Enumerable.Range(1, 20).Select(i => $"{i}\n"));
        var neu = old.Replace("2\n3\n", "2\nx\n3\n").Replace("\n18\n", "\n");
        var d = UnifiedDiff.Diff(old, neu, "a", "b");
        Assert.Equal(2, d.Split('\n').Count(l => l.StartsWith("@@")));
        Assert.Contains("@@ -1,5 +1,6 @@\n 1\n 2\n+x\n 3\n 4\n 5\n", d);
        Assert.Contains("-18\n", d);
    }

    [Fact]
    public async Task DryRunHostReportsNetChangesOnly()
    {
        var inner = new FakeHost(true);
        inner.Files["/etc/a"] = ("one\ntwo\n"u8.ToArray(), 0x1A4, 0);
        inner.Files["/etc/same"] = ("x\n"u8.ToArray(), 0x1A4, 0);
        var dry = new DryRunHost(inner);
        await dry.WriteFileAsync("/etc/a", "one\nTWO\n"u8.ToArray(), 0x1A4);
        await dry.WriteFileAsync("/etc/same", "x\n"u8.ToArray(), 0x1A4);
        await dry.WriteFileAsync("/etc/k.key", "secret"u8.ToArray(), 0x180);
        await dry.RunAsync(["sysctl", "--system"]);
        var changes = await dry.FileChangesAsync(p => p.EndsWith(".key"));
        Assert.Equal(["/etc/a", "/etc/k.key"], changes.Select(c => c.Path));
        Assert.Equal("--- a/etc/a\n+++ b/etc/a\n@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n", changes[0].Diff);
        Assert.Null(changes[1].Diff);
        Assert.True(changes[1].Created);
        Assert.Equal("one\ntwo\n", inner.Text("/etc/a"));
        Assert.Empty(inner.Commands);
    }
}
