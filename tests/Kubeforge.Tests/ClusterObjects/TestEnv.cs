using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Tests.ClusterObjects;

/// <summary>ListUi records every line.</summary>
public sealed class ListUi : IUi
{
    public List<string> Lines { get; } = [];
    public void Info(string phase, string message) => Lines.Add($"[{phase}] {message}");
    public void Warn(string phase, string message) => Lines.Add($"[{phase}] WARNING: {message}");
    public void Raw(string text) => Lines.Add(text);
}

/// <summary>FixedTime is a TimeProvider whose clock the test moves; Delay completes at once by advancing it.</summary>
public sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;
    public override DateTimeOffset GetUtcNow() => Now;
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Now += dueTime;
        callback(state);
        return new NoTimer();
    }

    private sealed class NoTimer : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;
        public void Dispose() { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

public static class TestEnv
{
    public static readonly DateTimeOffset Now = new(2026, 11, 26, 23, 45, 45, TimeSpan.Zero);

    public static KubeadmConfig Config(string version, Action<KubeadmConfig>? tweak = null)
    {
        var v = KubeVersion.Parse(version);
        Assert.True(VersionTable.TryGet(v, out var p));
        var cfg = new KubeadmConfig { Version = v, Profile = p };
        cfg.Init.NodeRegistration.Name = "master1";
        cfg.Init.LocalApiEndpoint.AdvertiseAddress = "192.168.10.100";
        cfg.Init.BootstrapTokens[0].Token = "abcdef.0123456789abcdef";
        cfg.Cluster.Networking.PodSubnet = "10.244.0.0/16";
        tweak?.Invoke(cfg);
        return cfg;
    }

    public static (PhaseContext Ctx, ListUi Ui, FixedTime Time) Ctx(KubeadmConfig cfg, bool dryRun = false, IHost? host = null)
    {
        var ui = new ListUi();
        var time = new FixedTime(Now);
        var ctx = new PhaseContext
        {
            Config = cfg,
            Host = host ?? new DryRunHost(new LocalHost(Path.GetTempPath())),
            Ui = ui,
            Time = time,
            StartTime = Now,
            DryRun = dryRun,
        };
        return (ctx, ui, time);
    }
}
