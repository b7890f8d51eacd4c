using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Cluster;

/// <summary>StepStatus is the outcome of one step on one host.</summary>
public enum StepStatus
{
    /// <summary>Done: the step changed the host (or the cluster) and finished.</summary>
    Done,

    /// <summary>Unchanged: the target state already held; nothing was changed.</summary>
    Unchanged,

    /// <summary>Failed: the step stopped with an error.</summary>
    Failed,

    /// <summary>Skipped: the journal says the step is done with the same inputs (not run), or it was filtered out.</summary>
    Skipped,
}

/// <summary>StepResult is what a step implementation returns: its status, one line for people and optional detail lines
/// (files changed, commands run).</summary>
public sealed record StepResult(StepStatus Status, string Summary, IReadOnlyList<string>? Details = null)
{
    /// <summary>Changed returns Done when changed is true, else Unchanged.</summary>
    public static StepResult Of(bool changed, string summary, IReadOnlyList<string>? details = null) =>
        new(changed ? StepStatus.Done : StepStatus.Unchanged, summary, details);
}

/// <summary>StepContext is what a cluster step gets: the cluster file, the host it runs for and its IHost (SSH, local or
/// dry-run), the way to reach any other host of the cluster, output, clock, and a per-run bag shared by all steps.</summary>
public sealed class StepContext
{
    public required ClusterFile File { get; init; }
    public required ClusterHost Host { get; init; }

    /// <summary>Node is the IHost of Host (one connection per host, reused by every step of the run).</summary>
    public required IHost Node { get; init; }

    /// <summary>HostOf returns the IHost of any host of the cluster (e.g. the first control plane's, to read its files).</summary>
    public required Func<ClusterHost, IHost> HostOf { get; init; }

    public required IUi Ui { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;
    public bool DryRun { get; init; }

    /// <summary>Shared carries values between steps of one run (e.g. the join token and certificate key made by init).</summary>
    public required System.Collections.Concurrent.ConcurrentDictionary<string, object> Shared { get; init; }

    /// <summary>Secrets is the run's redactor: a step registers every secret it makes or reads (bootstrap tokens, certificate
    /// keys) so no output or log line carries it.</summary>
    public Redactor Secrets { get; init; } = new();
}

/// <summary>StepRun is the signature of every step implementation.</summary>
public delegate Task<StepResult> StepRun(StepContext ctx, CancellationToken ct);
