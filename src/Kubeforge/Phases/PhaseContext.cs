using Kubeforge.Config;
using Kubeforge.Hosts;

namespace Kubeforge.Phases;

/// <summary>IUi is the one output port: phases report progress lines through it. The plain
/// implementation prints kubeadm-style "[phase] message" lines.</summary>
public interface IUi
{
    /// <summary>Info prints "[phase] message".</summary>
    void Info(string phase, string message);

    /// <summary>Warn prints "[phase] WARNING: message" to the error stream.</summary>
    void Warn(string phase, string message);

    /// <summary>Raw prints text as is (tables, file dumps, join commands).</summary>
    void Raw(string text);
}

/// <summary>PlainUi writes kubeadm-style lines to two writers.</summary>
public sealed class PlainUi(TextWriter stdout, TextWriter stderr) : IUi
{
    public void Info(string phase, string message) => stdout.WriteLine($"[{phase}] {message}");

    public void Warn(string phase, string message) => stderr.WriteLine($"[{phase}] WARNING: {message}");

    public void Raw(string text) => stdout.Write(text);
}

/// <summary>PhaseContext is what every node phase gets: the resolved config, the host it acts on,
/// the clock and the output port.</summary>
public sealed class PhaseContext
{
    public required KubeadmConfig Config { get; init; }
    public required IHost Host { get; init; }
    public required IUi Ui { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>StartTime is when the command started (kubeadm's certificate "creation time").</summary>
    public DateTimeOffset StartTime { get; init; } = DateTimeOffset.UtcNow;

    public bool DryRun { get; init; }
}

/// <summary>UserError is a problem with the user's input or environment: it is printed as one line
/// (no stack trace) and the command exits non-zero.</summary>
public class UserError(string message) : Exception(message);
