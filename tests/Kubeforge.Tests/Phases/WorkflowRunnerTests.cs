using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Tests.Phases;

public class WorkflowRunnerTests
{
    private static (WorkflowRunner Runner, List<string> Log) Tree()
    {
        var log = new List<string>();
        Func<PhaseContext, CancellationToken, Task> Rec(string name) => (_, _) => { log.Add(name); return Task.CompletedTask; };
        var phases = new List<Phase>
        {
            new("a", "A") { Run = Rec("a") },
            new("b", "B")
            {
                Run = Rec("b"),
                Children = [Phase.All("b"), new Phase("x", "X") { Run = Rec("b/x") }, new Phase("y", "Y") { Run = Rec("b/y") }],
            },
            new("c", "C") { Run = Rec("c"), RunIf = _ => false, Children = [new Phase("z", "Z") { Run = Rec("c/z") }] },
        };
        return (new WorkflowRunner(phases), log);
    }

    private static PhaseContext Ctx()
    {
        var v = KubeVersion.Parse("v1.22.3");
        VersionTable.TryGet(v, out var p);
        return new PhaseContext { Config = new KubeadmConfig { Version = v, Profile = p }, Host = new DryRunHost(new LocalHost(Path.GetTempPath())), Ui = new PlainUi(TextWriter.Null, TextWriter.Null) };
    }

    [Fact]
    public async Task FullRunRunsParentsThenChildrenAndHonoursRunIf()
    {
        var (r, log) = Tree();
        await r.RunAsync(Ctx(), null, [], default);
        Assert.Equal(["a", "b", "b/x", "b/y"], log);
    }

    [Fact]
    public async Task AllSelectsParentAndSiblings()
    {
        var (r, log) = Tree();
        await r.RunAsync(Ctx(), "b/all", [], default);
        Assert.Equal(["b", "b/x", "b/y"], log);
    }

    [Fact]
    public async Task SingleLeafRunsOnlyThatLeaf()
    {
        var (r, log) = Tree();
        await r.RunAsync(Ctx(), "b/y", [], default);
        Assert.Equal(["b/y"], log);
    }

    [Fact]
    public async Task SkippedParentSkipsChildren()
    {
        var (r, log) = Tree();
        await r.RunAsync(Ctx(), null, ["b"], default);
        Assert.Equal(["a"], log);
    }

    [Fact]
    public async Task SkippedLeafOnly()
    {
        var (r, log) = Tree();
        await r.RunAsync(Ctx(), null, ["b/x"], default);
        Assert.Equal(["a", "b", "b/y"], log);
    }

    [Fact]
    public void UnknownSkipNamesAreReported()
    {
        var (r, _) = Tree();
        Assert.Equal(["nope", "b/all"], r.UnknownPhases(["a", "b/x", "nope", "b/all"]));
    }
}
