using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Tests.Pki;

/// <summary>FixedTime is a clock that returns a set instant.</summary>
public sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>RecordingUi keeps every line a phase prints.</summary>
public sealed class RecordingUi : IUi
{
    public List<string> Infos { get; } = [];
    public List<string> Warnings { get; } = [];
    public System.Text.StringBuilder RawText { get; } = new();

    public void Info(string phase, string message) => Infos.Add($"[{phase}] {message}");

    public void Warn(string phase, string message) => Warnings.Add($"[{phase}] WARNING: {message}");

    public void Raw(string text) => RawText.Append(text);
}

/// <summary>PkiSandbox is a temp rootfs with a LocalHost and a phase context; deleted on dispose.</summary>
public sealed class PkiSandbox : IDisposable
{
    public static readonly DateTimeOffset Start = new(2025, 3, 4, 10, 20, 30, TimeSpan.Zero);

    public PkiSandbox(KubeadmConfig cfg)
    {
        Root = Directory.CreateTempSubdirectory("kf-pki-").FullName;
        Host = new LocalHost(Root);
        Config = cfg;
        Ctx = NewContext();
    }

    public string Root { get; }
    public LocalHost Host { get; }
    public KubeadmConfig Config { get; }
    public RecordingUi Ui { get; private set; } = new();
    public FixedTime Time { get; } = new(Start);
    public PhaseContext Ctx { get; private set; }

    /// <summary>NewContext gives a fresh context (new UI recorder) over the same rootfs.</summary>
    public PhaseContext NewContext()
    {
        Ui = new RecordingUi();
        Ctx = new PhaseContext { Config = Config, Host = Host, Ui = Ui, Time = Time, StartTime = Time.Now };
        return Ctx;
    }

    public string Path(string nodePath) => Host.Resolve(nodePath);

    public byte[] Read(string nodePath) => File.ReadAllBytes(Path(nodePath));

    public int Mode(string nodePath) => (int)File.GetUnixFileMode(Path(nodePath));

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
