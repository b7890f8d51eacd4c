using System.Diagnostics;
using Kubeforge.Cli;
using Kubeforge.IntegrationTests.Kit;
using Xunit.Abstractions;

namespace Kubeforge.IntegrationTests.Lab;

/// <summary>LabRunnerTests run "kubeforge up -f" on three lab hosts (tests/lab/lab.sh up 3) with the host-preparation steps
/// (the lab hosts have no kubelet yet): the first run changes the hosts, the second reports every task skipped from the
/// journal and is much faster, and "--from-step containerd" re-executes containerd on all hosts and finds it unchanged.
/// It stops the lab it started.</summary>
[Collection("lab")]
public sealed class LabRunnerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-lab-runner-").FullName;

    private string ClusterFile => Path.Join(_dir, "cluster.yaml");

    private (int Code, string Out, string Err, TimeSpan Took) Up(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var sw = Stopwatch.StartNew();
        var code = App.Run(["up", "-f", ClusterFile, .. args], o, e);
        sw.Stop();
        output.WriteLine($"$ up {string.Join(' ', args)} -> {code} in {sw.Elapsed.TotalSeconds:0.00}s\n{o}{e}");
        return (code, o.ToString(), e.ToString(), sw.Elapsed);
    }

    [Fact]
    public void UpPreparesThreeHostsThenSkipsEverythingOnRerun()
    {
        var (upCode, upOut) = Proc.RunWithTimeout(TimeSpan.FromMinutes(15), LabKit.LabSh, "up", "3");
        Assert.True(upCode == 0, upOut);
        var hosts = string.Join("", Enumerable.Range(1, 3).Select(i =>
            $"    - name: h{i}\n      address: {LabKit.Addr(i)}\n      sshKey: {LabKit.Key}\n      roles: [{(i == 1 ? "control-plane" : "worker")}]\n"));
        File.WriteAllText(ClusterFile, $"""
            apiVersion: kubeforge.io/v1alpha1
            kind: Cluster
            metadata:
              name: lab
            spec:
              kubernetesVersion: v1.29.3
              kubernetesBinaries: preinstalled
              images: preinstalled
              knownHosts: {LabKit.KnownHosts}
              ignorePreflightErrors: [NumCPU, Mem, FileExisting-conntrack]
              hosts:
            {hosts}
            """);
        const string steps = "preflight,os-prepare,containerd";
        var first = Up("--steps", steps);
        Assert.True(first.Code == 0, first.Out + first.Err);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d\.\d{3} h1 containerd (done|unchanged) ", first.Out);
        Assert.Contains(" os-prepare done ", first.Out);
        Assert.Contains("9 tasks:", first.Out);
        Assert.DoesNotContain(" failed ", first.Out.Split("tasks:")[0]);

        var second = Up("--steps", steps);
        Assert.True(second.Code == 0, second.Out + second.Err);
        Assert.Contains("9 tasks: 0 done, 0 unchanged, 9 skipped, 0 failed", second.Out);
        output.WriteLine($"first run {first.Took.TotalSeconds:0.00}s, second run {second.Took.TotalSeconds:0.00}s");
        Assert.True(second.Took * 5 < first.Took, $"second run {second.Took} is not much faster than the first {first.Took}");

        var again = Up("--from-step", "containerd", "--steps", "containerd", "--output", "json");
        Assert.True(again.Code == 0, again.Out + again.Err);
        var finished = again.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!)
            .Where(n => n["event"]!.GetValue<string>() == "taskFinished").ToList();
        Assert.Equal(3, finished.Count);
        Assert.All(finished, n => Assert.Equal(("containerd", "unchanged"), (n["step"]!.GetValue<string>(), n["status"]!.GetValue<string>())));

        var state = Path.Join(_dir, ".kubeforge", "lab");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Join(state, "journal.json")));
        Assert.Equal(3, Directory.GetFiles(Path.Join(state, "logs"), "up-*.log").Length);
    }

    public void Dispose()
    {
        Proc.RunWithTimeout(TimeSpan.FromMinutes(2), LabKit.LabSh, "down");
        Directory.Delete(_dir, recursive: true);
    }
}
