using System.Text.Json.Nodes;
using Kubeforge.Cluster;
using Kubeforge.Node;
using Kubeforge.Tests.Cli;

namespace Kubeforge.Tests.Cluster;

/// <summary>ClusterPlanTests check stage order and which tasks run together.</summary>
public sealed class ClusterPlanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-plan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Render(IReadOnlyList<PlanStage> stages) =>
        string.Join("\n", stages.Select(s => $"{s.Name}: " + string.Join(" ", s.Tasks.Select(t => $"{t.Step}@{t.Host.Name}"))));

    [Fact]
    public void SingleNode()
    {
        var f = ClusterFile.Default(new NodeIdentity("n", "10.0.0.1"));
        Assert.Equal(
            """
            preflight: preflight@n
            os-prepare: os-prepare@n
            containerd: containerd@n
            packages: packages@n
            images: images@n
            init: init@n
            cni: cni@n
            checks: checks@n
            """.ReplaceLineEndings("\n"), Render(ClusterPlan.Build(f)));
    }

    [Fact]
    public void ThreeControlPlanesTwoWorkersHa()
    {
        var f = ClusterFile.Parse(ClusterFileTests.ThreePlusTwo("  network:\n    cni: none\n"), "c");
        Assert.Equal(
            """
            preflight: preflight@m1 preflight@m2 preflight@m3 preflight@w1 preflight@w2
            os-prepare: os-prepare@m1 os-prepare@m2 os-prepare@m3 os-prepare@w1 os-prepare@w2
            containerd: containerd@m1 containerd@m2 containerd@m3 containerd@w1 containerd@w2
            packages: packages@m1 packages@m2 packages@m3 packages@w1 packages@w2
            images: images@m1 images@m2 images@m3 images@w1 images@w2
            cluster-ca: cluster-ca@m1
            load-balancer: load-balancer@m1 load-balancer@m2 load-balancer@m3 vip@m1 vip@m2 vip@m3
            init: init@m1
            join-control-plane: join-control-plane@m2
            join-control-plane: join-control-plane@m3
            join-workers: join-worker@w1 join-worker@w2
            checks: label-nodes@m1 checks@m1
            """.ReplaceLineEndings("\n"), Render(ClusterPlan.Build(f)));
    }

    [Fact]
    public void AddingWorkersOnlyTouchesTheNewWorkers()
    {
        var f = ClusterFile.Parse(ClusterFileTests.ThreePlusTwo(), "c");
        Assert.Equal(
            """
            preflight: preflight@w2
            os-prepare: os-prepare@w2
            containerd: containerd@w2
            packages: packages@w2
            images: images@w2
            join-workers: join-worker@w2
            checks: label-nodes@m1 checks@m1
            """.ReplaceLineEndings("\n"), Render(ClusterPlan.Build(f, ["m1", "m2", "m3", "w1"])));
    }

    [Fact]
    public void AddingAControlPlaneReconfiguresEveryLoadBalancer()
    {
        var f = ClusterFile.Parse(ClusterFileTests.ThreePlusTwo(), "c");
        var stages = ClusterPlan.Build(f, ["m1", "m2", "w1", "w2"]);
        var lb = stages.Single(s => s.Name == "load-balancer");
        Assert.Equal(["m1", "m2", "m3"], lb.Hosts.Select(h => h.Name));
        Assert.DoesNotContain(stages, s => s.Name is "init" or "cni");
        Assert.Equal("m3", stages.Single(s => s.Name == "join-control-plane").Tasks.Single().Host.Name);
        Assert.Throws<Kubeforge.Phases.UserError>(() => ClusterPlan.Build(f, ["m2", "nope"]));
        Assert.Throws<Kubeforge.Phases.UserError>(() => ClusterPlan.Build(f, ["m2"]));
    }

    [Fact]
    public void SequenceAppendWhenAndMerge()
    {
        var a = new ClusterHost { Name = "a" };
        var b = new ClusterHost { Name = "b" };
        var s = new Sequence()
            .Append("one", [a, b], "x")
            .AppendWhen(false, "two", [a], "y")
            .Append("one2", [], "z")
            .Append("three", [a], "p")
            .Append("three", [b], "q")
            .AppendEach("each", [a, b], "r").Stages;
        Assert.Equal(["one", "three", "each", "each"], s.Select(x => x.Name));
        Assert.Equal(["p@a", "q@b"], s[1].Tasks.Select(t => $"{t.Step}@{t.Host.Name}"));
    }

    [Fact]
    public void PlanCommandPrintsTableAndJson()
    {
        var path = Path.Combine(_dir, "cluster.yaml");
        File.WriteAllText(path, ClusterExample.Text);
        var (code, output, err) = CliRun.Run("plan", "-f", path);
        Assert.True(code == 0, err);
        Assert.Contains("endpoint 192.168.10.10:8443 (haproxy + keepalived)", output);
        Assert.Matches(@"8\s+init\s+init\s+master1\s+192\.168\.10\.11", output);
        Assert.Matches(@"9\s+join-control-plane\s+join-control-plane\s+master2", output);

        (code, output, err) = CliRun.Run("plan", "-f", path, "--output", "json");
        Assert.True(code == 0, err);
        var json = JsonNode.Parse(output)!;
        Assert.Equal("192.168.10.10:8443", (string?)json["controlPlaneEndpoint"]);
        var stages = json["stages"]!.AsArray();
        Assert.Equal("preflight", (string?)stages[0]!["name"]);
        Assert.Equal(5, stages[0]!["tasks"]!.AsArray().Count);
        Assert.Equal("cluster-ca", (string?)stages[5]!["name"]);
        Assert.Equal("init", (string?)stages[7]!["name"]);
        Assert.Equal("master1", (string?)stages[7]!["tasks"]![0]!["host"]);
    }

    [Fact]
    public void PlanCommandErrors()
    {
        var (code, _, err) = CliRun.Run("plan", "-f", Path.Combine(_dir, "missing.yaml"));
        Assert.Equal(1, code);
        Assert.Contains("does not exist", err);
        var path = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(path, ClusterFileTests.Single("  ha:\n    vip: 10.0.0.300\n"));
        (code, _, err) = CliRun.Run("plan", "-f", path);
        Assert.Equal(1, code);
        Assert.Contains("spec.ha.vip (line 10): \"10.0.0.300\" is not an IP address", err);
        (code, _, err) = CliRun.Run("plan", "-f", path, "-o", "yaml");
        Assert.Equal(1, code);
    }

    [Fact]
    public void PlanWithoutFileIsTheSingleNodeCluster()
    {
        var (code, output, err) = CliRun.Run("plan");
        Assert.True(code == 0, err);
        Assert.Contains("1 control plane(s)", output);
        Assert.Contains("local", output);
    }

    [Fact]
    public void ConfigPrintClusterParses()
    {
        var (code, output, err) = CliRun.Run("config", "print", "cluster");
        Assert.True(code == 0, err);
        Assert.Contains("# ", output);
        var f = ClusterFile.Parse(output, "printed");
        Assert.Equal(5, f.Hosts.Count);
        Assert.Equal("aliyun", f.Mirror.Preset);
    }
}
