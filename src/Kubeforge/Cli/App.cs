using System.CommandLine;
using Kubeforge.Phases;
using Kubeforge.Yaml;

namespace Kubeforge.Cli;

/// <summary>App builds the command tree and runs it. Tests call Run with their own writers and read the
/// output and the exit code; nothing here touches Console directly.</summary>
public static class App
{
    /// <summary>Run parses args, runs the command and returns the process exit code. User errors print one
    /// line to stderr and return 1; unexpected failures print one line (stack trace with -v) and return 2.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CliEnvironment? env = null)
    {
        env ??= CliEnvironment.Default;
        var io = new CliIo(stdout, stderr, env);
        var root = BuildRoot(io);
        var parse = root.Parse(args);
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return ReportError(e, stderr, parse.GetValue(Verbose));
        }
    }

    internal static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Print details (stack traces of unexpected errors)",
        Recursive = true,
    };

    /// <summary>ReportError turns an exception into one line and an exit code.</summary>
    internal static int ReportError(Exception e, TextWriter stderr, bool verbose)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } agg)
        {
            e = agg.InnerExceptions[0];
        }
        switch (e)
        {
            case UserError or YamlFormatException:
                stderr.WriteLine($"error: {e.Message}");
                if (verbose)
                {
                    stderr.WriteLine(e.StackTrace);
                }
                return 1;
            case OperationCanceledException:
                stderr.WriteLine("error: interrupted");
                return 130;
            default:
                stderr.WriteLine($"error: {e.Message}");
                stderr.WriteLine(verbose ? e.ToString() : "(this is a bug or an unexpected environment; rerun with -v for details)");
                return 2;
        }
    }

    private static RootCommand BuildRoot(CliIo io)
    {
        var root = new RootCommand("Kubeforge: kubeadm-compatible node engine and highly available cluster installer");
        root.Options.Add(Verbose);
        root.Subcommands.Add(VersionCommand.Build(io));
        root.Subcommands.Add(ConfigCommands.Build(io));
        root.Subcommands.Add(InitCommand.Build(io));
        root.Subcommands.Add(JoinCli.Build(io));
        root.Subcommands.Add(CertsCommand.Build(io));
        root.Subcommands.Add(TokenCommand.Build(io));
        root.Subcommands.Add(ResetCommand.Build(io));
        root.Subcommands.Add(UpCommand.Build(io));
        root.Subcommands.Add(PlanCommand.Build(io));
        foreach (var c in ClusterCommands.Build(io))
        {
            root.Subcommands.Add(c);
        }
        foreach (var c in NodeCommands.Build(io))
        {
            root.Subcommands.Add(c);
        }
        root.Subcommands.Add(ImagesCommands.BuildCheck(io));
        root.Subcommands.Add(CaCommands.Build(io));
        return root;
    }
}

/// <summary>CliEnvironment carries what the CLI takes from the process (so tests can replace it).</summary>
public sealed record CliEnvironment(TimeProvider Time, Func<string?, Hosts.IHost> HostFactory)
{
    /// <summary>ReadLine reads one line of the operator's input (null at end of input), e.g. reset's confirmation.</summary>
    public Func<string?> ReadLine { get; init; } = Console.ReadLine;

    /// <summary>DiscoveryRetryInterval is how often join re-fetches cluster-info (kubeadm: 5 s; tests shorten it).</summary>
    public TimeSpan DiscoveryRetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>DiscoveryTimeout overrides the join discovery timeout of the configuration (tests shorten it).</summary>
    public TimeSpan? DiscoveryTimeout { get; init; }

    /// <summary>TlsBootstrapTimeout overrides how long join waits for the kubelet's TLS bootstrap (tests shorten it).</summary>
    public TimeSpan? TlsBootstrapTimeout { get; init; }

    public static CliEnvironment Default { get; } = new(TimeProvider.System, rootfs => new Hosts.LocalHost(rootfs));
}

/// <summary>CliIo is the output side of one CLI run.</summary>
public sealed class CliIo(TextWriter stdout, TextWriter stderr, CliEnvironment env)
{
    public TextWriter Out { get; } = stdout;
    public TextWriter Err { get; } = stderr;
    public CliEnvironment Env { get; } = env;
    public IUi Ui { get; } = new PlainUi(stdout, stderr);

    /// <summary>Context builds the phase context of one command run: this run's output, clock and start time.</summary>
    public PhaseContext Context(Config.KubeadmConfig config, Hosts.IHost host, bool dryRun = false) => new()
    {
        Config = config,
        Host = host,
        Ui = Ui,
        Time = Env.Time,
        StartTime = Env.Time.GetUtcNow(),
        DryRun = dryRun,
    };
}
