using System.Text.Json.Nodes;
using Kubeforge.Cluster;
using Kubeforge.Phases;

namespace Kubeforge.Tests.Cluster;

/// <summary>JournalTests check the journal file: private mode, atomic replacement, round trip, and what makes a task current.</summary>
public sealed class JournalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kf-journal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf => Path.Join(_dir, "state", Journal.FileName);

    private static JournalEntry Entry(string host, string step, StepStatus s, string hash = "sha256:1") =>
        new(host, step, hash, s, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), TimeSpan.FromMilliseconds(1234), $"{step} on {host}");

    [Fact]
    public void RecordWritesAPrivateFileAtomicallyAndLoadRoundTrips()
    {
        var j = Journal.Load(PathOf);
        Assert.Empty(j.Entries);
        j.Record(Entry("h1", "containerd", StepStatus.Done));
        j.Record(Entry("h2", "containerd", StepStatus.Failed));
        j.Record(Entry("h1", "containerd", StepStatus.Unchanged, "sha256:2"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PathOf));
        Assert.Equal([Journal.FileName], Directory.GetFiles(Path.GetDirectoryName(PathOf)!).Select(Path.GetFileName));
        var doc = JsonNode.Parse(File.ReadAllText(PathOf))!;
        Assert.Equal(1, doc["version"]!.GetValue<int>());
        var first = doc["tasks"]![0]!;
        Assert.Equal(("h1", "containerd", "unchanged", "sha256:2", "2026-01-02T03:04:05.000Z", 1234.0),
            (first["host"]!.GetValue<string>(), first["step"]!.GetValue<string>(), first["status"]!.GetValue<string>(), first["inputsHash"]!.GetValue<string>(),
             first["start"]!.GetValue<string>(), first["durationMs"]!.GetValue<double>()));
        var back = Journal.Load(PathOf);
        Assert.Equal(j.Entries, back.Entries);
        Assert.True(back.IsCurrent("h1", "containerd", "sha256:2"));
        Assert.False(back.IsCurrent("h1", "containerd", "sha256:1"));
        Assert.False(back.IsCurrent("h2", "containerd", "sha256:1"));
        Assert.False(back.IsCurrent("h3", "containerd", "sha256:1"));
    }

    [Fact]
    public void ConcurrentRecordsAllLand()
    {
        var j = Journal.Load(PathOf);
        Parallel.For(0, 64, i => j.Record(Entry($"h{i}", "os-prepare", StepStatus.Done)));
        Assert.Equal(64, Journal.Load(PathOf).Entries.Count);
    }

    [Fact]
    public void HashCoversInputsAndVersion()
    {
        Assert.Equal(Journal.Hash("a", "1"), Journal.Hash("a", "1"));
        Assert.NotEqual(Journal.Hash("a", "1"), Journal.Hash("b", "1"));
        Assert.NotEqual(Journal.Hash("a", "1"), Journal.Hash("a", "2"));
        Assert.Matches("^sha256:[0-9a-f]{64}$", Journal.Hash("a", "1"));
    }

    [Fact]
    public void AFileThatIsNotAJournalIsOneClearError()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PathOf)!);
        File.WriteAllText(PathOf, "{not json");
        var e = Assert.Throws<UserError>(() => Journal.Load(PathOf));
        Assert.Contains("not a Kubeforge journal", e.Message);
        Assert.Contains("delete it", e.Message);
    }

    [Fact]
    public void InputsChangeWithTheClusterFile()
    {
        var a = RunnerTests.File(1);
        var b = RunnerTests.File(1);
        b.Containerd.SandboxImage = "registry.example/pause:3.9";
        var cp = a.Hosts[0];
        Assert.Equal(ClusterSteps.Inputs("containerd", a, cp), ClusterSteps.Inputs("containerd", b.Hosts[0].Name == cp.Name ? a : b, cp));
        Assert.NotEqual(ClusterSteps.Inputs("containerd", a, cp), ClusterSteps.Inputs("containerd", b, b.Hosts[0]));
        Assert.Equal(ClusterSteps.Inputs("os-prepare", a, cp), ClusterSteps.Inputs("os-prepare", b, b.Hosts[0]));
        Assert.All(ClusterPlan.Steps.Keys, s => Assert.True(ClusterSteps.Table.ContainsKey(s), s));
    }
}

/// <summary>UpCliTests check that bad input to "up -f" is one clear line and a non-zero exit code.</summary>
public sealed class UpCliTests
{
    private static (int Code, string Out, string Err) Up(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = Kubeforge.Cli.App.Run(["up", .. args], o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void BadInputIsOneLine()
    {
        var dir = Directory.CreateTempSubdirectory("kf-up-cli-").FullName;
        try
        {
            var missing = Up("-f", Path.Join(dir, "nope.yaml"));
            Assert.Equal(1, missing.Code);
            Assert.Single(missing.Err.Trim().Split('\n'));
            Assert.Contains("does not exist", missing.Err);
            var file = Path.Join(dir, "c.yaml");
            File.WriteAllText(file, ClusterFileTests.Single());
            var step = Up("-f", file, "--steps", "bogus");
            Assert.Equal(1, step.Code);
            Assert.StartsWith("error: unknown step \"bogus\"", step.Err);
            Assert.Single(step.Err.Trim().Split('\n'));
            var conc = Up("-f", file, "--concurrency", "0");
            Assert.Equal(1, conc.Code);
            Assert.Contains("--concurrency", conc.Err);
            var output = Up("-f", file, "--output", "yaml");
            Assert.Equal(1, output.Code);
            Assert.Contains("plain or json", output.Err);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
