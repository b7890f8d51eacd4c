using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubeforge.Cluster;

/// <summary>RunEventKind names the events of one <c>up</c> run.</summary>
public enum RunEventKind { RunStarted, TaskStarted, TaskFinished, Detail, RunFinished }

/// <summary>TaskFailure is what people need to act on a failed task: the error, the command that failed (if a command did),
/// its last output lines, and a hint for a known error.</summary>
public sealed record TaskFailure(string Message, string? Command, IReadOnlyList<string> LastLines, string? Hint);

/// <summary>RunEvent is one event of the stream every output is rendered from. Texts are already redacted.</summary>
public sealed record RunEvent(RunEventKind Kind, DateTimeOffset Time)
{
    public string? Host { get; init; }
    public string? Step { get; init; }
    public StepStatus? Status { get; init; }
    public TimeSpan? Duration { get; init; }
    public string? Summary { get; init; }
    public TaskFailure? Failure { get; init; }

    /// <summary>Stage is the 1-based stage number of a task event.</summary>
    public int Stage { get; init; }

    /// <summary>Counts are the per-status task counts of runFinished.</summary>
    public IReadOnlyDictionary<string, int>? Counts { get; init; }
}

/// <summary>IRunSink receives the events of a run (one output format, the log file, a test recorder).</summary>
public interface IRunSink
{
    /// <summary>Emit handles one event; calls are serialized by the runner.</summary>
    void Emit(RunEvent e);
}

/// <summary>RunSinks fans events out to several sinks.</summary>
public sealed class RunSinks(params IRunSink[] sinks) : IRunSink
{
    public void Emit(RunEvent e)
    {
        foreach (var s in sinks)
        {
            s.Emit(e);
        }
    }
}

/// <summary>PlainRunSink prints one timestamped line per task event: <c>HH:MM:SS.fff host step status duration summary</c>
/// (the format for logs and pipes; details only with verbose).</summary>
public sealed class PlainRunSink(TextWriter w, bool details = false) : IRunSink
{
    public void Emit(RunEvent e)
    {
        var t = RunFormat.Clock(e.Time);
        switch (e.Kind)
        {
            case RunEventKind.RunStarted:
                w.WriteLine($"{t} - up started: {e.Summary}");
                break;
            case RunEventKind.TaskStarted:
                w.WriteLine($"{t} {e.Host} {e.Step} started");
                break;
            case RunEventKind.TaskFinished:
                w.WriteLine($"{t} {e.Host} {e.Step} {Journal.StatusName(e.Status!.Value)} {RunFormat.Duration(e.Duration)} {e.Summary}".TrimEnd());
                break;
            case RunEventKind.Detail when details:
                w.WriteLine($"{t} {e.Host} {e.Step} | {e.Summary}");
                break;
            case RunEventKind.RunFinished:
                w.WriteLine($"{t} - up finished: {e.Summary} ({RunFormat.Duration(e.Duration)})");
                break;
        }
        w.Flush();
    }
}

/// <summary>JsonRunSink writes one JSON object per line per event (--output json): event, time, and for tasks host, step,
/// stage, status, durationMs, summary and failure {message, command, lastLines, hint}.</summary>
public sealed class JsonRunSink(TextWriter w, bool details = false) : IRunSink
{
    public void Emit(RunEvent e)
    {
        if (e.Kind == RunEventKind.Detail && !details)
        {
            return;
        }
        w.WriteLine(RunFormat.ToJson(e).ToJsonString());
        w.Flush();
    }
}

/// <summary>LogFileSink writes every event, details included, as plain lines to the run's log file.</summary>
public sealed class LogFileSink(TextWriter w) : IRunSink
{
    private readonly PlainRunSink _plain = new(w, details: true);

    public void Emit(RunEvent e)
    {
        _plain.Emit(e);
        if (e.Failure is { } f)
        {
            w.WriteLine($"    error: {f.Message}");
            if (f.Command is not null)
            {
                w.WriteLine($"    command: {f.Command}");
            }
            foreach (var l in f.LastLines)
            {
                w.WriteLine($"    | {l}");
            }
            if (f.Hint is not null)
            {
                w.WriteLine($"    hint: {f.Hint}");
            }
            w.Flush();
        }
    }
}

/// <summary>LiveRunSink is the terminal view: one line per host (its current step, how many tasks are finished, the last
/// status), redrawn in place with ANSI cursor movement on every task event. No dependency, AOT-safe.</summary>
public sealed class LiveRunSink(TextWriter w, IReadOnlyList<string> hosts) : IRunSink
{
    private readonly Dictionary<string, (string Now, int Done, int Failed, string Last)> _rows = hosts.ToDictionary(h => h, _ => ("waiting", 0, 0, ""));
    private int _drawn;
    private string _header = "";

    public void Emit(RunEvent e)
    {
        switch (e.Kind)
        {
            case RunEventKind.RunStarted:
                _header = $"up: {e.Summary}";
                break;
            case RunEventKind.TaskStarted when e.Host is not null:
                var r = _rows[e.Host];
                _rows[e.Host] = r with { Now = e.Step + "…" };
                break;
            case RunEventKind.TaskFinished when e.Host is not null:
                var f = _rows[e.Host];
                var failed = e.Status == StepStatus.Failed;
                _rows[e.Host] = (failed ? $"{e.Step} FAILED" : "idle", f.Done + 1, f.Failed + (failed ? 1 : 0), $"{e.Step} {Journal.StatusName(e.Status!.Value)} {RunFormat.Duration(e.Duration)}");
                break;
            case RunEventKind.RunFinished:
                foreach (var h in hosts)
                {
                    var x = _rows[h];
                    if (x.Now.EndsWith('…') || x.Now == "waiting" || x.Now == "idle")
                    {
                        _rows[h] = x with { Now = x.Failed > 0 ? "failed" : "finished" };
                    }
                }
                break;
            default:
                return;
        }
        Draw();
    }

    private void Draw()
    {
        var sb = new StringBuilder();
        if (_drawn > 0)
        {
            sb.Append($"\u001b[{_drawn}A");
        }
        var width = Math.Max(4, hosts.Max(h => h.Length));
        var lines = new List<string> { _header, $"{"HOST".PadRight(width)}  {"NOW",-28} {"TASKS",5}  LAST" };
        lines.AddRange(hosts.Select(h => _rows[h]).Zip(hosts, (r, h) => $"{h.PadRight(width)}  {r.Now,-28} {r.Done,5}  {r.Last}"));
        foreach (var l in lines)
        {
            sb.Append("\u001b[2K").Append(l).Append('\n');
        }
        _drawn = lines.Count;
        w.Write(sb.ToString());
        w.Flush();
    }
}

/// <summary>RunFormat holds the shared formatting of times, durations and JSON events.</summary>
public static class RunFormat
{
    /// <summary>Clock is HH:MM:SS.fff in local time.</summary>
    public static string Clock(DateTimeOffset t) => t.ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>Duration is "1.234s" (empty for null).</summary>
    public static string Duration(TimeSpan? d) => d is { } x ? x.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + "s" : "";

    /// <summary>ToJson is the JSON line of an event (camelCase event names: runStarted, taskStarted, taskFinished, detail, runFinished).</summary>
    public static JsonObject ToJson(RunEvent e)
    {
        var o = new JsonObject
        {
            ["event"] = char.ToLowerInvariant(e.Kind.ToString()[0]) + e.Kind.ToString()[1..],
            ["time"] = e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        };
        if (e.Host is not null)
        {
            o["host"] = e.Host;
        }
        if (e.Step is not null)
        {
            o["step"] = e.Step;
        }
        if (e.Stage > 0)
        {
            o["stage"] = e.Stage;
        }
        if (e.Status is { } s)
        {
            o["status"] = Journal.StatusName(s);
        }
        if (e.Duration is { } d)
        {
            o["durationMs"] = Math.Round(d.TotalMilliseconds);
        }
        if (e.Summary is not null)
        {
            o["summary"] = e.Summary;
        }
        if (e.Counts is { } c)
        {
            var counts = new JsonObject();
            foreach (var (k, v) in c)
            {
                counts[k] = v;
            }
            o["counts"] = counts;
        }
        if (e.Failure is { } f)
        {
            o["failure"] = new JsonObject
            {
                ["message"] = f.Message,
                ["command"] = f.Command,
                ["lastLines"] = new JsonArray(f.LastLines.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
                ["hint"] = f.Hint,
            };
        }
        return o;
    }
}

/// <summary>Redactor removes secrets from every text that reaches the output or the log: values registered during the run
/// (bootstrap tokens, certificate keys, passwords) and anything shaped like a bootstrap token or a certificate key.</summary>
public sealed partial class Redactor
{
    /// <summary>Mask replaces a secret.</summary>
    public const string Mask = "<redacted>";

    private readonly List<string> _secrets = [];
    private readonly Lock _lock = new();

    [GeneratedRegex(@"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")]
    private static partial Regex TokenShape();

    [GeneratedRegex(@"\b[0-9a-f]{64}\b")]
    private static partial Regex CertificateKeyShape();

    [GeneratedRegex(@"(?i)(password|passwd|token|secret)(\s*[=:]\s*)\S+")]
    private static partial Regex Assignment();

    /// <summary>Add registers a secret value (ignored when shorter than 4 characters).</summary>
    public void Add(string? secret)
    {
        if (secret is { Length: >= 4 })
        {
            lock (_lock)
            {
                if (!_secrets.Contains(secret))
                {
                    _secrets.Add(secret);
                }
            }
        }
    }

    /// <summary>Clean returns text with every secret masked.</summary>
    public string Clean(string text)
    {
        string[] secrets;
        lock (_lock)
        {
            secrets = [.. _secrets];
        }
        foreach (var s in secrets)
        {
            text = text.Replace(s, Mask, StringComparison.Ordinal);
        }
        text = TokenShape().Replace(text, Mask);
        text = CertificateKeyShape().Replace(text, Mask);
        return Assignment().Replace(text, m => m.Groups[1].Value + m.Groups[2].Value + Mask);
    }
}

/// <summary>FailureHints maps known error texts to a suggested fix (a small regex table; the first match wins).</summary>
public static partial class FailureHints
{
    private static readonly (Regex Pattern, string Hint)[] Table =
    [
        (new Regex(@"(?i)x509: certificate signed by unknown authority|unknown authority|certificate verify failed"),
            "the registry or API certificate is not trusted: add the mirror's CA (spec.mirror.registryMirrors[].caFile, or \"kubeforge ca trust\") or check the endpoint"),
        (new Regex(@"(?i)no such host|temporary failure in name resolution|could not resolve|name or service not known|dial tcp .*: i/o timeout|connection timed out"),
            "the host cannot reach a name or mirror: check DNS (/etc/resolv.conf) and spec.mirror (an air-gapped host needs a reachable mirror or images: preinstalled)"),
        (new Regex(@"(?i)address already in use|port \d+ is in use|\[ERROR Port-\d+\]"),
            "a port Kubernetes needs is taken: find the process (ss -ltnp) and stop it, or reset the node (kubeforge reset) if it is an old install"),
        (new Regex(@"(?i)swap is (on|enabled)|running with swap on|\[ERROR Swap\]|swapoff -a failed"),
            "swap is on: run the os-prepare step (swapoff -a and fstab) or turn swap off on the host"),
        (new Regex(@"(?i)cgroup ?driver|SystemdCgroup = false|\[ERROR CgroupDriver"),
            "kubelet and containerd disagree on the cgroup driver: the containerd step writes SystemdCgroup = true; rerun it (up --steps containerd)"),
        (new Regex(@"(?i)permission denied \(publickey|authentication failed|host key"),
            "SSH login failed: check the host's user, sshKey/passwordFrom and known_hosts (--accept-new-host-keys records new hosts)"),
        (new Regex(@"(?i)sudo: a password is required|sudo.*password"),
            "the SSH user needs sudo: give passwordFrom for the host or allow NOPASSWD sudo"),
        (new Regex(@"(?i)not found.*manifest|manifest unknown|pull access denied|failed to resolve reference"),
            "an image is missing on the mirror: check \"kubeforge images check\" with the cluster's image repository"),
        (new Regex(@"(?i)kubelet is v[0-9.]+, the cluster wants"),
            "the host's kubelet is another release: install the cluster's release (spec.kubernetesBinaries: packages) or set spec.kubernetesVersion to the installed one"),
        (new Regex(@"(?i)kubelet is not installed|kubelet: (command )?not found"),
            "kubelet is missing: install the packages (spec.kubernetesBinaries: packages) or the golden image's binaries"),
        (new Regex(@"(?i)not found in system path"),
            "a tool Kubernetes needs is missing: install the package named in the message (or list the check in spec.ignorePreflightErrors)"),
        (new Regex(@"(?i)connection refused"),
            "nothing answers on that port: check that the service (containerd, kubelet, apiserver, load balancer) runs on the host"),
    ];

    /// <summary>For returns the hint for the first known error in text, or null.</summary>
    public static string? For(string text) => Table.FirstOrDefault(t => t.Pattern.IsMatch(text)).Hint;
}

/// <summary>RunSummary renders the end-of-run table: per host and step the status and time, then for every failure the
/// error, the command, its last output lines and a hint.</summary>
public static class RunSummary
{
    /// <summary>Render returns the summary text for people.</summary>
    public static string Render(RunResult r)
    {
        var sb = new StringBuilder();
        var rows = new List<string[]> { new[] { "HOST", "STEP", "STATUS", "TIME", "SUMMARY" } };
        foreach (var g in r.Tasks.GroupBy(t => t.Host))
        {
            var first = true;
            foreach (var t in g.OrderBy(t => t.Stage))
            {
                var summary = t.Summary.Split('\n')[0];
                rows.Add([first ? t.Host : "", t.Step, t.Status == StepStatus.Failed ? "FAILED" : Journal.StatusName(t.Status), RunFormat.Duration(t.Duration), summary.Length > 100 ? summary[..100] + "…" : summary]);
                first = false;
            }
        }
        var widths = Enumerable.Range(0, 4).Select(c => rows.Max(x => x[c].Length)).ToArray();
        sb.Append('\n');
        foreach (var row in rows)
        {
            sb.Append(string.Join("  ", row.Select((cell, c) => c < 4 ? cell.PadRight(widths[c]) : cell)).TrimEnd()).Append('\n');
        }
        foreach (var t in r.Tasks.Where(t => t.Failure is not null))
        {
            var f = t.Failure!;
            sb.Append($"\nFAILED {t.Step} on {t.Host}: {f.Message}\n");
            if (f.Command is not null)
            {
                sb.Append($"  command: {f.Command}\n");
            }
            if (f.LastLines.Count > 0)
            {
                sb.Append("  last output:\n");
                foreach (var l in f.LastLines)
                {
                    sb.Append("    ").Append(l).Append('\n');
                }
            }
            if (f.Hint is not null)
            {
                sb.Append($"  hint: {f.Hint}\n");
            }
        }
        var c2 = r.Counts;
        sb.Append($"\n{r.Tasks.Count} tasks: {c2["done"]} done, {c2["unchanged"]} unchanged, {c2["skipped"]} skipped, {c2["failed"]} failed in {RunFormat.Duration(r.Elapsed)}");
        if (r.StagesNotStarted > 0)
        {
            sb.Append($"; {r.StagesNotStarted} later stage(s) not started — fix the failure and run up again (done tasks are skipped)");
        }
        return sb.Append('\n').ToString();
    }
}
