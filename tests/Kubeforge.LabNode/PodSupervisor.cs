using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Kubeforge.LabNode;

/// <summary>RunningPod is one static pod process as the supervisor sees it.</summary>
public sealed record RunningPod(string Name, int Pid, string Hash, DateTimeOffset Started, int Restarts, PodPlan? Plan);

/// <summary>PodSupervisor runs the static pods of a manifest folder as host processes, the way the kubelet runs their
/// containers: one process per manifest, restarted with backoff when it exits, restarted when the manifest changes, stopped
/// (SIGTERM, then SIGKILL after 10 s) when the manifest is removed. Processes outlive the supervisor like containers outlive
/// the kubelet: each one is recorded in RunDir/NAME.pid (pid, manifest hash, argv) and adopted by the next supervisor when
/// /proc/PID/cmdline still matches. Output goes to LogDir/NAME.log.</summary>
public sealed class PodSupervisor(string manifestDir, string runDir, string logDir, string selfExe, Action<string> log)
{
    private sealed class Slot
    {
        public int Pid;
        public string Hash = "";
        public string[] Argv = [];
        public Process? Child;
        public DateTimeOffset Started;
        public int Restarts;
        public TimeSpan Backoff = TimeSpan.FromSeconds(1);
        public DateTimeOffset NextStart;
        public PodPlan? Plan;
    }

    private readonly Dictionary<string, Slot> slots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> reported = new(StringComparer.Ordinal);
    private IReadOnlySet<string>? etcdFlags;
    private volatile IReadOnlyList<RunningPod> running = [];

    /// <summary>Running is a snapshot of the pods with a live process.</summary>
    public IReadOnlyList<RunningPod> Running => running;

    /// <summary>RunAsync adopts recorded processes, then reconciles every second until cancelled (processes keep running).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(runDir);
        Directory.CreateDirectory(logDir);
        Adopt();
        while (!ct.IsCancellationRequested)
        {
            try { Reconcile(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { log($"static pods: {e.Message}"); }
            try { await Task.Delay(1000, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    private void Adopt()
    {
        foreach (var file in Directory.GetFiles(runDir, "*.pid"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            var lines = File.ReadAllLines(file);
            if (lines.Length >= 3 && int.TryParse(lines[0], out var pid) && CmdlineMatches(pid, lines[2..]))
            {
                slots[name] = new Slot { Pid = pid, Hash = lines[1], Argv = lines[2..], Started = StartTime(pid) };
                log($"static pod {name}: adopted running process {pid}");
            }
            else
            {
                File.Delete(file);
            }
        }
    }

    private void Reconcile()
    {
        var desired = ReadManifests();
        var now = DateTimeOffset.UtcNow;
        foreach (var name in slots.Keys.Union(desired.Keys).ToList())
        {
            var slot = slots.GetValueOrDefault(name);
            var plan = desired.GetValueOrDefault(name);
            if (slot is { Pid: > 0 } && !Alive(slot))
            {
                var code = slot.Child is { HasExited: true } c ? $" with code {c.ExitCode}" : "";
                var ran = now - slot.Started;
                slot.Backoff = ran > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Min(slot.Backoff.TotalSeconds * 2, 20));
                slot.NextStart = now + slot.Backoff;
                log($"static pod {name}: process {slot.Pid} exited{code} after {ran.TotalSeconds:0}s; restarting in {slot.Backoff.TotalSeconds:0}s");
                Forget(name, slot);
            }
            if (slot is { Pid: > 0 } && (plan is null || plan.Hash != slot.Hash))
            {
                log(plan is null ? $"static pod {name}: manifest removed, stopping process {slot.Pid}"
                    : $"static pod {name}: manifest changed, restarting process {slot.Pid}");
                Stop(slot);
                Forget(name, slot);
                slot.NextStart = now;
            }
            if (plan is null)
            {
                slots.Remove(name);
                continue;
            }
            slot ??= slots[name] = new Slot();
            slot.Plan = plan;
            if (slot.Pid == 0 && now >= slot.NextStart) Start(name, slot, plan);
        }
        running = slots.Where(s => s.Value.Pid > 0)
            .Select(s => new RunningPod(s.Key, s.Value.Pid, s.Value.Hash, s.Value.Started, s.Value.Restarts, s.Value.Plan)).ToList();
    }

    private Dictionary<string, PodPlan> ReadManifests()
    {
        var plans = new Dictionary<string, PodPlan>(StringComparer.Ordinal);
        if (!Directory.Exists(manifestDir)) return plans;
        foreach (var file in Directory.GetFiles(manifestDir).Order(StringComparer.Ordinal))
        {
            var fileName = Path.GetFileName(file);
            if (fileName.StartsWith('.') || !(fileName.EndsWith(".yaml") || fileName.EndsWith(".yml") || fileName.EndsWith(".json"))) continue;
            string text;
            try { text = File.ReadAllText(file); }
            catch (IOException) { continue; }
            try
            {
                var plan = PodMapper.Map(text, file, selfExe, text.Contains("etcd", StringComparison.Ordinal) ? EtcdFlags() : null);
                plans[plan.Name] = plan;
                if (reported.GetValueOrDefault(file) != plan.Hash && plan.Dropped.Count > 0)
                    log($"static pod {plan.Name}: dropping flags the installed etcd does not know: {string.Join(' ', plan.Dropped)}");
                reported[file] = plan.Hash;
            }
            catch (FormatException e)
            {
                var h = PodMapper.Hash(text);
                if (reported.GetValueOrDefault(file) != h) log($"static pod: skipping {e.Message}");
                reported[file] = h;
            }
        }
        return plans;
    }

    private IReadOnlySet<string>? EtcdFlags()
    {
        if (etcdFlags is not null || !File.Exists(PodMapper.EtcdPath)) return etcdFlags;
        try
        {
            var psi = new ProcessStartInfo(PodMapper.EtcdPath, "--help") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var help = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            var set = PodMapper.ParseEtcdHelp(help);
            if (set.Count > 10) etcdFlags = set;
        }
        catch (System.ComponentModel.Win32Exception e) { log($"etcd --help: {e.Message}"); }
        return etcdFlags;
    }

    private void Start(string name, Slot slot, PodPlan plan)
    {
        var logPath = Path.Join(logDir, name + ".log");
        File.AppendAllText(logPath, $"--- {DateTimeOffset.UtcNow:O} kubeforge-labnode starts: {string.Join(' ', plan.Argv)}\n");
        // the shell redirects and execs: the process keeps the pid, writes to its log file and not to a pipe of ours, so it
        // survives the stand-in kubelet's restart (KillMode=process) like a container survives the kubelet's
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var a in (string[])["-c", "exec \"$@\" >>\"$0\" 2>&1 </dev/null", logPath, .. plan.Argv]) psi.ArgumentList.Add(a);
        try
        {
            var child = Process.Start(psi)!;
            if (slot.Started != default) slot.Restarts++;
            slot.Pid = child.Id;
            slot.Child = child;
            slot.Hash = plan.Hash;
            slot.Argv = plan.Argv;
            slot.Started = DateTimeOffset.UtcNow;
            File.WriteAllLines(Path.Join(runDir, name + ".pid"), [child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), plan.Hash, .. plan.Argv]);
            log($"static pod {name}: started process {child.Id}: {string.Join(' ', plan.Argv)}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            slot.NextStart = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(10);
            log($"static pod {name}: cannot start {plan.Argv[0]}: {e.Message}");
        }
    }

    private void Forget(string name, Slot slot)
    {
        slot.Child?.Dispose();
        slot.Child = null;
        slot.Pid = 0;
        File.Delete(Path.Join(runDir, name + ".pid"));
    }

    private void Stop(Slot slot)
    {
        _ = Kill(slot.Pid, 15);
        for (var i = 0; i < 100 && Alive(slot); i++) Thread.Sleep(100);
        if (Alive(slot)) _ = Kill(slot.Pid, 9);
        for (var i = 0; i < 20 && Alive(slot); i++) Thread.Sleep(100);
    }

    private static bool Alive(Slot slot)
    {
        if (slot.Child is { } c) return !c.HasExited;
        return CmdlineMatches(slot.Pid, slot.Argv);
    }

    /// <summary>CmdlineMatches tells whether process pid is alive (not a zombie) and runs exactly argv.</summary>
    public static bool CmdlineMatches(int pid, IReadOnlyList<string> argv)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            if (state is 'Z' or 'X') return false;
            var cmd = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            var words = cmd.Length > 0 && cmd[^1].Length == 0 ? cmd[..^1] : cmd;
            return words.SequenceEqual(argv);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException) { return false; }
    }

    private static DateTimeOffset StartTime(int pid)
    {
        try { return new DateTimeOffset(Directory.GetCreationTimeUtc($"/proc/{pid}")); }
        catch (IOException) { return DateTimeOffset.UtcNow; }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
