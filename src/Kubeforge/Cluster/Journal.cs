using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kubeforge.Phases;

namespace Kubeforge.Cluster;

/// <summary>JournalEntry is the last result of one step on one host: the hash of the inputs it ran with, its status, when it
/// started and how long it took, and its one-line summary (never a secret).</summary>
public sealed record JournalEntry(string Host, string Step, string InputsHash, StepStatus Status, DateTimeOffset Start, TimeSpan Duration, string Summary);

/// <summary>Journal is the run state of <c>kubeforge up</c> on the operator's machine (journal.json in the state folder):
/// per (host, step) the last <see cref="JournalEntry"/>. A rerun skips a task whose entry is Done or Unchanged with the same
/// inputs hash. The file is rewritten atomically (temp file + rename, mode 0600) after every task, so killing the run at any
/// moment leaves either the previous or the next complete journal; a task interrupted mid-way has no entry and simply runs
/// again (steps are idempotent).</summary>
public sealed class Journal
{
    /// <summary>FileName is the journal's name inside the state folder.</summary>
    public const string FileName = "journal.json";

    private readonly Dictionary<(string Host, string Step), JournalEntry> _entries = new();
    private readonly Lock _lock = new();

    private Journal(string? path) => Path = path;

    /// <summary>Path is the journal file (null: kept in memory only, e.g. a dry run).</summary>
    public string? Path { get; }

    /// <summary>Entries lists the entries ordered by host and step.</summary>
    public IReadOnlyList<JournalEntry> Entries
    {
        get
        {
            lock (_lock)
            {
                return _entries.Values.OrderBy(e => e.Host, StringComparer.Ordinal).ThenBy(e => e.Step, StringComparer.Ordinal).ToList();
            }
        }
    }

    /// <summary>InMemory returns an empty journal that is never written.</summary>
    public static Journal InMemory() => new(null);

    /// <summary>Load reads the journal at path (an absent file is an empty journal); a file that is not a journal is a
    /// UserError naming it (delete it to start over).</summary>
    public static Journal Load(string path)
    {
        var j = new Journal(path);
        if (!File.Exists(path))
        {
            return j;
        }
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not an object");
            foreach (var t in root["tasks"] as JsonArray ?? [])
            {
                if (t is not JsonObject o)
                {
                    continue;
                }
                var e = new JournalEntry(
                    o["host"]!.GetValue<string>(), o["step"]!.GetValue<string>(), o["inputsHash"]?.GetValue<string>() ?? "",
                    ParseStatus(o["status"]?.GetValue<string>()),
                    DateTimeOffset.Parse(o["start"]!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                    TimeSpan.FromMilliseconds(o["durationMs"]?.GetValue<double>() ?? 0), o["summary"]?.GetValue<string>() ?? "");
                j._entries[(e.Host, e.Step)] = e;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new UserError($"{path}: not a Kubeforge journal ({e.Message}); delete it to run every step again");
        }
        return j;
    }

    /// <summary>StatusName is the journal's (and the output's) word for a status: done, unchanged, failed, skipped.</summary>
    public static string StatusName(StepStatus s) => s.ToString().ToLowerInvariant();

    private static StepStatus ParseStatus(string? s) => s switch
    {
        "done" => StepStatus.Done,
        "unchanged" => StepStatus.Unchanged,
        "skipped" => StepStatus.Skipped,
        _ => StepStatus.Failed,
    };

    /// <summary>Hash is the inputs hash: sha256 of the canonical inputs string and the Kubeforge version (a new version reruns
    /// every step), as "sha256:&lt;hex&gt;".</summary>
    public static string Hash(string inputs, string kubeforgeVersion) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(kubeforgeVersion + "\n" + inputs)));

    /// <summary>Get returns the entry of (host, step), or null.</summary>
    public JournalEntry? Get(string host, string step)
    {
        lock (_lock)
        {
            return _entries.GetValueOrDefault((host, step));
        }
    }

    /// <summary>IsCurrent tells whether (host, step) last ended Done or Unchanged with this inputs hash (so it can be skipped).</summary>
    public bool IsCurrent(string host, string step, string inputsHash) =>
        Get(host, step) is { Status: StepStatus.Done or StepStatus.Unchanged } e && e.InputsHash == inputsHash;

    /// <summary>Record stores an entry and rewrites the file atomically (mode 0600).</summary>
    public void Record(JournalEntry e)
    {
        lock (_lock)
        {
            _entries[(e.Host, e.Step)] = e;
            if (Path is not null)
            {
                Save();
            }
        }
    }

    /// <summary>Forget drops every entry of host (it was reset or removed: its steps must run again).</summary>
    public void Forget(string host)
    {
        lock (_lock)
        {
            foreach (var k in _entries.Keys.Where(k => k.Item1 == host).ToList())
            {
                _entries.Remove(k);
            }
            if (Path is not null)
            {
                Save();
            }
        }
    }

    /// <summary>Clear drops every entry (the whole cluster was reset).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _entries.Clear();
            if (Path is not null)
            {
                Save();
            }
        }
    }

    /// <summary>ToJson renders the journal (version 1 format).</summary>
    public string ToJson()
    {
        var tasks = new JsonArray();
        foreach (var e in Entries)
        {
            tasks.Add((JsonNode)new JsonObject
            {
                ["host"] = e.Host,
                ["step"] = e.Step,
                ["inputsHash"] = e.InputsHash,
                ["status"] = StatusName(e.Status),
                ["start"] = e.Start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["durationMs"] = Math.Round(e.Duration.TotalMilliseconds),
                ["summary"] = e.Summary,
            });
        }
        return new JsonObject { ["version"] = 1, ["tasks"] = tasks }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private void Save()
    {
        var dir = System.IO.Path.GetDirectoryName(Path!)!;
        Directory.CreateDirectory(dir);
        var tmp = System.IO.Path.Join(dir, $".{FileName}.{Environment.ProcessId}.tmp");
        using (var fs = new FileStream(tmp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            fs.Write(Encoding.UTF8.GetBytes(ToJson()));
            fs.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, Path!, overwrite: true);
    }
}
