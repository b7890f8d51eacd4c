using System.CommandLine;
using System.Globalization;
using Kubeforge.Cluster;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>UpCommand is the cluster-level entry point. With -f it runs the cluster file's plan over SSH with the cluster
/// runner (stages in order, tasks of a stage in parallel, a journal that makes reruns skip finished work). Without a
/// cluster file it means "a single-node cluster on this machine": prepare this host, then init with the built-in defaults
/// (newest Kubernetes, pod network 10.244.0.0/16, flannel).</summary>
public static class UpCommand
{
    /// <summary>DefaultPodNetwork is the pod CIDR of the built-in single-node cluster (flannel's default, as in the guide).</summary>
    public const string DefaultPodNetwork = "10.244.0.0/16";

    /// <summary>StateDirName is the folder next to the cluster file that holds the journal and logs of each cluster.</summary>
    public const string StateDirName = ".kubeforge";

    private sealed class Flags
    {
        public Option<string?> File { get; } = new("--file", "-f") { Description = "Cluster file describing the hosts (default: a single-node cluster on this machine)" };
        public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Show everything that would be done (per host: file diffs and commands) without changing anything" };
        public Option<int> Concurrency { get; } = new("--concurrency") { Description = "At most this many tasks (hosts) at once (default 64: host preparation works on the hosts, so more at once is faster until this machine or its network is the limit)", DefaultValueFactory = _ => 64 };
        public Option<string?> FromStep { get; } = new("--from-step") { Description = "Run this step and every later stage, whatever the journal says" };
        public Option<string[]> Hosts { get; } = new("--hosts") { Description = "Only tasks on these hosts (comma-separated names)", AllowMultipleArgumentsPerToken = true };
        public Option<string[]> Steps { get; } = new("--steps") { Description = "Only these steps (comma-separated, e.g. os-prepare,containerd)", AllowMultipleArgumentsPerToken = true };
        public Option<string> Output { get; } = new("--output", "-o") { Description = "Output: plain (timestamped lines; a live view on a terminal) or json (one event per line)", DefaultValueFactory = _ => "plain" };
        public Option<string?> StateDir { get; } = new("--state-dir") { Description = "Where the journal and logs live (default <cluster file folder>/.kubeforge/<cluster name>)" };
        public Option<string?> KnownHosts { get; } = new("--known-hosts") { Description = "known_hosts file host keys are checked against (default: spec.knownHosts, else ~/.ssh/known_hosts)" };
        public Option<bool> AcceptNew { get; } = new("--accept-new-host-keys") { Description = "Record the key of a host not yet in known_hosts (a changed key is always refused)" };
        public Option<string[]> Ignore { get; } = new("--ignore-preflight-errors") { Description = "Without -f: init's preflight checks whose errors become warnings, comma-separated, or 'all'", AllowMultipleArgumentsPerToken = true };
    }

    /// <summary>Build creates the up command.</summary>
    public static Command Build(CliIo io)
    {
        var f = new Flags();
        var up = new Command("up", "Create or converge a cluster (default: a single-node cluster on this machine)")
        {
            f.File, f.DryRun, f.Concurrency, f.FromStep, f.Hosts, f.Steps, f.Output, f.StateDir, f.KnownHosts, f.AcceptNew, f.Ignore,
        };
        up.SetAction(async (pr, ct) =>
        {
            if (pr.GetValue(f.File) is { } path)
            {
                return await RunFileAsync(io, f, pr, path, ct).ConfigureAwait(false);
            }
            var dry = pr.GetValue(f.DryRun) ? new[] { "--dry-run" } : [];
            io.Ui.Info("up", "No cluster file given: creating a single-node cluster on this machine");
            io.Ui.Info("up", "Step 1/2: prepare this host");
            var code = App.Run(["prepare", .. dry], io.Out, io.Err, io.Env);
            if (code != 0)
            {
                return code;
            }
            io.Ui.Info("up", $"Step 2/2: init (pod network {DefaultPodNetwork}, CNI flannel)");
            var ignored = InitFlagSet.Split(pr.GetValue(f.Ignore)).ToList();
            if (dry.Length > 0)
            {
                // a dry run of step 1 changed nothing, so init's checks would still see what step 1 fixes
                io.Ui.Info("up", $"Dry run: init's preflight does not stop on what step 1 fixes ({string.Join(", ", Node.NodePreflight.PrepareFixes)})");
                ignored.AddRange(Node.NodePreflight.PrepareFixes);
            }
            string[] ign = ignored.Count > 0 ? ["--ignore-preflight-errors", string.Join(',', ignored)] : [];
            return App.Run(["init", "--pod-network-cidr", DefaultPodNetwork, "--cni", "flannel", .. dry, .. ign], io.Out, io.Err, io.Env);
        });
        return up;
    }

    private static async Task<int> RunFileAsync(CliIo io, Flags f, ParseResult pr, string path, CancellationToken ct)
    {
        var output = pr.GetValue(f.Output);
        if (output is not ("plain" or "json"))
        {
            throw new UserError($"--output: \"{output}\" is not a format; use plain or json");
        }
        var concurrency = pr.GetValue(f.Concurrency);
        if (concurrency < 1)
        {
            throw new UserError($"--concurrency: {concurrency} is not a positive number; use e.g. 16");
        }
        var cluster = PlanCommand.Read(path);
        foreach (var w in cluster.Warnings)
        {
            io.Err.WriteLine($"warning: {w}");
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var dryRun = pr.GetValue(f.DryRun);
        var options = new RunOptions
        {
            Concurrency = concurrency,
            FromStep = pr.GetValue(f.FromStep),
            Hosts = Names(pr.GetValue(f.Hosts)),
            Steps = Names(pr.GetValue(f.Steps)),
            DryRun = dryRun,
            KubeforgeVersion = VersionCommand.Version,
        };
        var stateDir = pr.GetValue(f.StateDir) ?? Path.Join(dir, StateDirName, cluster.Name);
        var knownHosts = pr.GetValue(f.KnownHosts) ?? (cluster.KnownHosts is { } kh ? Resolve(dir, kh) : null);
        var acceptNew = pr.GetValue(f.AcceptNew);
        var stages = ClusterPlan.Build(cluster);
        var journal = dryRun ? Journal.InMemory() : Journal.Load(Path.Join(stateDir, Journal.FileName));

        Directory.CreateDirectory(Path.Join(stateDir, "logs"));
        var logPath = Path.Join(stateDir, "logs", $"up-{io.Env.Time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fff'Z'", CultureInfo.InvariantCulture)}.log");
        await using var log = new StreamWriter(new FileStream(logPath, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }));
        IRunSink screen = output == "json" ? new JsonRunSink(io.Out)
            : Terminal(io) ? new LiveRunSink(io.Out, cluster.Hosts.Select(h => h.Name).ToList())
            : new PlainRunSink(io.Out);
        var secrets = new Redactor();
        await using var pool = new HostPool(h =>
        {
            IHost real = h.Local ? io.Env.HostFactory(null) : Ssh(h, dir, knownHosts, acceptNew, secrets);
            return dryRun ? new DryRunHost(real) : real;
        });
        var runner = new ClusterRunner(cluster, ClusterSteps.Table, pool, journal, new RunSinks(screen, new LogFileSink(log)), io.Env.Time, secrets);
        var result = await runner.RunAsync(stages, options, ct).ConfigureAwait(false);
        var summary = RunSummary.Render(result);
        await log.WriteAsync(summary).ConfigureAwait(false);
        if (output != "json")
        {
            io.Out.Write(summary);
            if (dryRun)
            {
                foreach (var (name, host) in pool.Opened.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    io.Out.WriteLine($"\n=== {name} ===");
                    await HostOptions.PrintDryRunAsync(io, (DryRunHost)host, ct).ConfigureAwait(false);
                }
            }
            io.Out.WriteLine($"log: {logPath}" + (dryRun ? "" : $"; journal: {journal.Path}"));
        }
        return result.ExitCode;
    }

    private static List<string>? Names(string[]? values) => values is null or { Length: 0 } ? null : InitFlagSet.Split(values);

    internal static string Resolve(string dir, string p) =>
        p.StartsWith("~/", StringComparison.Ordinal) ? Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), p[2..])
        : Path.IsPathRooted(p) ? p : Path.GetFullPath(Path.Join(dir, p));

    private static bool Terminal(CliIo io) => ReferenceEquals(io.Out, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>Ssh builds the SSH host of a cluster host: key path relative to the cluster file, password from its reference
    /// (env:NAME or file:PATH; also used for sudo by a non-root user), known_hosts checking.</summary>
    internal static SshHost Ssh(ClusterHost h, string dir, string? knownHosts, bool acceptNew, Redactor secrets)
    {
        string? password = null;
        if (h.PasswordFrom is { } pf)
        {
            password = pf.StartsWith("env:", StringComparison.Ordinal)
                ? Environment.GetEnvironmentVariable(pf[4..]) ?? throw new UserError($"{h.Label}.passwordFrom: environment variable {pf[4..]} is not set; export it or use file:PATH")
                : File.Exists(Resolve(dir, pf[5..])) ? File.ReadAllText(Resolve(dir, pf[5..])).TrimEnd('\r', '\n')
                : throw new UserError($"{h.Label}.passwordFrom: file {pf[5..]} does not exist");
            secrets.Add(password);
        }
        var o = new SshHostOptions
        {
            Host = h.Address,
            Port = h.Port,
            User = h.User,
            PrivateKeyPath = h.SshKey is { } k ? Resolve(dir, k) : null,
            Password = password,
            SudoPassword = h.User == "root" ? null : password,
            AcceptNewHostKeys = acceptNew,
            DisplayName = h.Name,
        };
        return new SshHost(knownHosts is null ? o : o with { KnownHostsPath = knownHosts });
    }
}
