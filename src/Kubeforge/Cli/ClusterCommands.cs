using System.CommandLine;
using System.Text.Json;
using Kubeforge.Cluster;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>ClusterCommands are the cluster-level commands besides up and plan: status, ha verify, add-node, remove-node and
/// reset -f. They read the cluster file, reach its hosts over SSH (the same connection settings as up) and reuse the node
/// workflows.</summary>
public static class ClusterCommands
{
    /// <summary>Session is an opened cluster file: the file, its folder, its state folder and one connection per host.</summary>
    internal sealed class Session(ClusterFile file, string dir, string stateDir, HostPool pool) : IAsyncDisposable
    {
        public ClusterFile File => file;
        public string Dir => dir;
        public string StateDir => stateDir;
        public HostPool Pool => pool;

        public ValueTask DisposeAsync() => pool.DisposeAsync();
    }

    private sealed class Common
    {
        public Option<string> File { get; } = new("--file", "-f") { Description = "Cluster file describing the hosts", Required = true };
        public Option<string?> KnownHosts { get; } = new("--known-hosts") { Description = "known_hosts file host keys are checked against (default: spec.knownHosts, else ~/.ssh/known_hosts)" };
        public Option<bool> AcceptNew { get; } = new("--accept-new-host-keys") { Description = "Record the key of a host not yet in known_hosts (a changed key is always refused)" };
        public Option<string?> StateDir { get; } = new("--state-dir") { Description = "Where the journal and logs live (default <cluster file folder>/.kubeforge/<cluster name>)" };

        public void AddTo(Command c)
        {
            c.Options.Add(File);
            c.Options.Add(KnownHosts);
            c.Options.Add(AcceptNew);
            c.Options.Add(StateDir);
        }

        public Session Open(CliIo io, ParseResult pr)
        {
            var path = pr.GetValue(File)!;
            var file = PlanCommand.Read(path);
            var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            var knownHosts = pr.GetValue(KnownHosts) ?? (file.KnownHosts is { } kh ? UpCommand.Resolve(dir, kh) : null);
            var acceptNew = pr.GetValue(AcceptNew);
            var secrets = new Redactor();
            var pool = new HostPool(h => h.Local ? io.Env.HostFactory(null) : UpCommand.Ssh(h, dir, knownHosts, acceptNew, secrets));
            return new Session(file, dir, pr.GetValue(StateDir) ?? Path.Join(dir, UpCommand.StateDirName, file.Name), pool);
        }
    }

    /// <summary>Build returns status, ha (verify), add-node and remove-node.</summary>
    public static IEnumerable<Command> Build(CliIo io) => [BuildStatus(io), BuildHa(io), BuildAddNode(io), BuildRemoveNode(io)];

    private static Command BuildStatus(CliIo io)
    {
        var c = new Common();
        var output = new Option<string>("--output", "-o") { Description = "Output: text or json", DefaultValueFactory = _ => "text" };
        var cmd = new Command("status", "Show the cluster's health: nodes, kubelet and containerd, certificate expiry, API through the VIP and each API server, etcd members, VIP holder and leader-election leases") { output };
        c.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            var o = pr.GetValue(output);
            if (o is not ("text" or "json"))
            {
                throw new UserError($"--output: \"{o}\" is not a format; use text or json");
            }
            await using var s = c.Open(io, pr);
            var report = await ClusterStatus.GatherAsync(s.File, s.Pool.Get, io.Env.Time, ct).ConfigureAwait(false);
            io.Out.Write(o == "json" ? report.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n" : report.ToText());
            return report.Problems().Count == 0 ? 0 : 2;
        });
        return cmd;
    }

    private static Command BuildHa(CliIo io)
    {
        var c = new Common();
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation" };
        var verify = new Command("verify", "Self-test the HA set-up: one at a time stop the VIP holder's load balancer, its API server and the lease holders, measure the API gap through the VIP and the lease takeover, restore everything") { yes };
        c.AddTo(verify);
        verify.SetAction(async (pr, ct) =>
        {
            await using var s = c.Open(io, pr);
            var v = new HaVerify(s.File, s.Pool.Get, io.Ui, s.StateDir);
            if (!pr.GetValue(yes))
            {
                io.Out.WriteLine($"ha verify stops, one at a time and briefly, the load balancer, an API server and the scheduler/controller-manager leaders of cluster \"{s.File.Name}\", then restores them. Continue? [y/N]");
                if (io.Env.ReadLine()?.Trim().ToLowerInvariant() is not ("y" or "yes"))
                {
                    io.Out.WriteLine("ha verify: cancelled, nothing was changed");
                    return 1;
                }
            }
            using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                interrupt.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                var results = await v.RunAsync(interrupt.Token).ConfigureAwait(false);
                io.Out.Write(HaVerify.Report(results));
                return results.All(r => r.Pass) ? 0 : 2;
            }
            catch (OperationCanceledException)
            {
                io.Err.WriteLine("ha verify: interrupted; everything it stopped has been restored");
                return 130;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return new Command("ha", "High-availability tools") { verify };
    }

    private static Command BuildAddNode(CliIo io)
    {
        var c = new Common();
        var names = new Argument<string[]>("hosts") { Description = "Names of the new hosts (already listed in the cluster file)", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("add-node", "Add hosts of the cluster file to the running cluster: only the new hosts are prepared and joined (and the load balancers reconfigured when a control plane comes)") { names };
        c.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            var added = pr.GetValue(names)!.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            await using var s = c.Open(io, pr);
            foreach (var n in added)
            {
                s.File.Host(n);
            }
            var existing = s.File.Hosts.Select(h => h.Name).Except(added).ToList();
            var stages = ClusterPlan.Build(s.File, existing);
            // the cluster-wide "checks" step wants every node and etcd member healthy; adding a node must also work while a
            // control plane is down, so add-node checks only what it did and points to status for the rest
            var steps = stages.SelectMany(st => st.Tasks).Select(t => t.Step).Distinct().Where(k => k != "checks").ToList();
            var code = await RunStagesAsync(io, s, stages, "add-node", ct, steps).ConfigureAwait(false);
            if (code == 0)
            {
                io.Ui.Info("add-node", $"see the whole cluster's health with: kubeforge status -f {s.File.Source}");
            }
            return code;
        });
        return cmd;
    }

    private static async Task<int> RunStagesAsync(CliIo io, Session s, IReadOnlyList<PlanStage> stages, string what, CancellationToken ct, IReadOnlyCollection<string>? steps = null)
    {
        var journal = Journal.Load(Path.Join(s.StateDir, Journal.FileName));
        var runner = new ClusterRunner(s.File, ClusterSteps.Table, s.Pool, journal, new PlainRunSink(io.Out), io.Env.Time);
        var result = await runner.RunAsync(stages, new RunOptions { KubeforgeVersion = VersionCommand.Version, Steps = steps }, ct).ConfigureAwait(false);
        io.Out.Write(RunSummary.Render(result));
        io.Ui.Info(what, result.Failed ? "failed; fix the problem above and run it again (finished work is skipped)" : "done");
        return result.ExitCode;
    }

    private static Command BuildRemoveNode(CliIo io)
    {
        var c = new Common();
        var name = new Argument<string>("host") { Description = "Name of the host to remove (still listed in the cluster file)" };
        var cmd = new Command("remove-node", "Remove one host from the cluster: its etcd member first (control planes), then reset the host, delete its Node object and reconfigure the load balancers; delete it from the cluster file afterwards") { name };
        c.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            await using var s = c.Open(io, pr);
            var host = s.File.Host(pr.GetValue(name)!);
            if (host == s.File.FirstControlPlane && s.File.ControlPlanes.Count() == 1)
            {
                throw new UserError($"{host.Label} is the only control plane; use kubeforge reset -f {s.File.Source} to remove the whole cluster");
            }
            var clean = await ClusterReset.ResetHostAsync(io, s, host, ct).ConfigureAwait(false);
            await ClusterReset.DeleteNodeAsync(io, s, host, ct).ConfigureAwait(false);
            if (host.IsControlPlane && s.File.Ha is not null)
            {
                var rest = s.File.Without(host.Name);
                var stages = new Sequence()
                    .Append("load-balancer", rest.ControlPlanes, "load-balancer")
                    .Append("load-balancer", rest.ControlPlanes, "vip").Stages;
                var journal = Journal.InMemory();
                var runner = new ClusterRunner(rest, ClusterSteps.Table, s.Pool, journal, new PlainRunSink(io.Out), io.Env.Time);
                var r = await runner.RunAsync(stages, new RunOptions { KubeforgeVersion = VersionCommand.Version }, ct).ConfigureAwait(false);
                if (r.Failed)
                {
                    io.Out.Write(RunSummary.Render(r));
                    return 1;
                }
            }
            var journalFile = Journal.Load(Path.Join(s.StateDir, Journal.FileName));
            journalFile.Forget(host.Name);
            io.Ui.Info("remove-node", $"{host.Name} removed{(clean.Count == 0 ? "" : $"; left on the host: {string.Join("; ", clean)}")}. Delete it from {s.File.Source} now.");
            return 0;
        });
        return cmd;
    }

    /// <summary>ResetClusterAsync is <c>reset -f FILE [--hosts a,b]</c>: workers first (in parallel), then control planes one at a
    /// time with the first last (each control plane's etcd member is removed before its files go), then a cleanliness check
    /// per host that names whatever remains.</summary>
    internal static async Task<int> ResetClusterAsync(CliIo io, string path, IReadOnlyCollection<string>? only, bool force, CancellationToken ct)
    {
        var file = PlanCommand.Read(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var secrets = new Redactor();
        await using var s = new Session(file, dir, Path.Join(dir, UpCommand.StateDirName, file.Name),
            new HostPool(h => h.Local ? io.Env.HostFactory(null) : UpCommand.Ssh(h, dir, file.KnownHosts is { } kh ? UpCommand.Resolve(dir, kh) : null, false, secrets)));
        var targets = (only is null ? file.Hosts : only.Select(file.Host)).ToList();
        if (!force)
        {
            io.Out.WriteLine($"reset removes Kubernetes from {string.Join(", ", targets.Select(t => t.Name))} of cluster \"{file.Name}\". Continue? [y/N]");
            if (io.Env.ReadLine()?.Trim().ToLowerInvariant() is not ("y" or "yes"))
            {
                io.Out.WriteLine("reset: cancelled, nothing was changed");
                return 1;
            }
        }
        var leftovers = new Dictionary<string, IReadOnlyList<string>>();
        var workers = targets.Where(t => !t.IsControlPlane).ToList();
        foreach (var (h, left) in await Task.WhenAll(workers.Select(async w => (w, await ClusterReset.ResetHostAsync(io, s, w, ct).ConfigureAwait(false)))).ConfigureAwait(false))
        {
            leftovers[h.Name] = left;
        }
        var cps = targets.Where(t => t.IsControlPlane).OrderBy(t => t == file.FirstControlPlane ? 1 : 0).ThenByDescending(t => t.Index).ToList();
        foreach (var cp in cps)
        {
            leftovers[cp.Name] = await ClusterReset.ResetHostAsync(io, s, cp, ct).ConfigureAwait(false);
        }
        if (only is null && file.Ha is not null)
        {
            foreach (var cp in file.ControlPlanes)
            {
                await ClusterReset.StopLoadBalancerAsync(s.Pool.Get(cp), file, ct).ConfigureAwait(false);
            }
        }
        if (only is null)
        {
            Journal.Load(Path.Join(s.StateDir, Journal.FileName)).Clear();
        }
        else
        {
            var j = Journal.Load(Path.Join(s.StateDir, Journal.FileName));
            foreach (var t in targets)
            {
                j.Forget(t.Name);
            }
        }
        foreach (var (name, left) in leftovers.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            io.Out.WriteLine(left.Count == 0 ? $"{name}: clean" : $"{name}: remains: {string.Join("; ", left)}");
        }
        return leftovers.Values.Any(l => l.Any(x => !x.StartsWith("note:", StringComparison.Ordinal))) ? 2 : 0;
    }
}
