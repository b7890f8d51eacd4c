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

    /// <summary>ApiFactory builds the API port for a kubeconfig file of /etc/kubernetes ("admin.conf",
    /// "super-admin.conf"). Null: the default (dry run → printing fake; otherwise HTTPS from the file on the host).</summary>
    public Func<PhaseContext, string, CancellationToken, Task<ClusterObjects.IKubeApi>>? ApiFactory { get; init; }

    private readonly Dictionary<string, ClusterObjects.IKubeApi> _apis = new(StringComparer.Ordinal);

    /// <summary>ApiAsync returns the (cached) API port that acts with the credentials of the given kubeconfig.</summary>
    public async Task<ClusterObjects.IKubeApi> ApiAsync(string kubeconfig = "admin.conf", CancellationToken ct = default)
    {
        if (_apis.TryGetValue(kubeconfig, out var api))
        {
            return api;
        }
        if (ApiFactory is not null)
        {
            api = await ApiFactory(this, kubeconfig, ct).ConfigureAwait(false);
        }
        else if (DryRun)
        {
            api = _apis.Values.FirstOrDefault() ?? new ClusterObjects.DryRunKubeApi(Ui);
        }
        else
        {
            var path = Hosts.NodePaths.KubeConfig(kubeconfig);
            var bytes = await Host.ReadFileAsync(path, ct).ConfigureAwait(false)
                ?? throw new UserError($"{path} does not exist; run the kubeconfig phase first (kubeforge init phase kubeconfig all)");
            api = ClusterObjects.HttpKubeApi.FromKubeConfig(bytes);
        }
        _apis[kubeconfig] = api;
        return api;
    }

    /// <summary>Bag carries values between phases of one run (e.g. the tokens bootstrap-token created for show-join-command).</summary>
    public Dictionary<string, object> Bag { get; } = new(StringComparer.Ordinal);
}

/// <summary>UserError is a problem with the user's input or environment: it is printed as one line
/// (no stack trace) and the command exits non-zero.</summary>
public class UserError(string message) : Exception(message);
