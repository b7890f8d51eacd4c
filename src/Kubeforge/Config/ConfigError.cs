using Kubeforge.Phases;

namespace Kubeforge.Config;

/// <summary>ConfigError is a problem in kubeadm's configuration (file or flags). Each entry of Errors is one
/// line naming the document, the field path, the bad value and the fix; Message joins them.</summary>
public sealed class ConfigError : UserError
{
    /// <summary>ConfigError wraps one or more error lines.</summary>
    public ConfigError(IReadOnlyList<string> errors)
        : base(string.Join("\n", errors)) => Errors = errors;

    /// <summary>ConfigError wraps a single error line.</summary>
    public ConfigError(string error)
        : this([error]) { }

    public IReadOnlyList<string> Errors { get; }
}
