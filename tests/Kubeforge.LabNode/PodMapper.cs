using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Kubeforge.Yaml;

namespace Kubeforge.LabNode;

/// <summary>PodPlan is what the stand-in kubelet runs for one static pod manifest: the process argv (instead of a container),
/// the manifest's content hash (a change restarts the process), the flags dropped on the way, and the manifest itself.</summary>
public sealed record PodPlan(string Name, string[] Argv, string Hash, IReadOnlyList<string> Dropped, YMap Manifest);

/// <summary>PodMapper maps a static pod manifest to a host process: spec.containers[0].command + args, where `etcd` runs
/// /usr/bin/etcd (flags the installed etcd does not know are dropped) and kube-apiserver, kube-scheduler and
/// kube-controller-manager run this binary's stand-in subcommands with the same flags. Pure: no file or process access.</summary>
public static partial class PodMapper
{
    /// <summary>EtcdPath is where Debian's etcd-server package installs etcd.</summary>
    public const string EtcdPath = "/usr/bin/etcd";

    /// <summary>StandIns are the components run as subcommands of kubeforge-labnode.</summary>
    public static readonly IReadOnlySet<string> StandIns = new HashSet<string> { "kube-apiserver", "kube-scheduler", "kube-controller-manager" };

    /// <summary>Map parses a manifest and returns its plan; throws FormatException naming what is wrong or unsupported.
    /// etcdFlags is the set of flag names the installed etcd accepts (null: keep every flag).</summary>
    public static PodPlan Map(string manifestText, string source, string selfExe, IReadOnlySet<string>? etcdFlags)
    {
        YMap doc;
        try { doc = YamlReader.Read(manifestText, source) as YMap ?? throw new FormatException($"{source}: not a YAML mapping"); }
        catch (Exception e) when (e is not FormatException) { throw new FormatException($"{source}: {e.Message}"); }
        if (doc.Str("kind") != "Pod") throw new FormatException($"{source}: kind is \"{doc.Str("kind")}\", want Pod");
        var name = doc.Map("metadata")?.Str("name") is { Length: > 0 } n ? n : throw new FormatException($"{source}: metadata.name is missing");
        var container = (doc.Map("spec")?["containers"] as YSeq)?.Items.FirstOrDefault() as YMap
            ?? throw new FormatException($"{source}: spec.containers[0] is missing");
        var words = Strings(container["command"]).Concat(Strings(container["args"])).ToList();
        if (words.Count == 0) throw new FormatException($"{source}: spec.containers[0] has no command");
        var program = Path.GetFileName(words[0]);
        var rest = words.Skip(1).ToList();
        var dropped = new List<string>();
        string[] argv;
        if (program == "etcd")
        {
            (rest, dropped) = etcdFlags is null ? (rest, []) : FilterEtcdFlags(rest, etcdFlags);
            argv = [EtcdPath, .. rest];
        }
        else if (StandIns.Contains(program))
        {
            if (program == "kube-apiserver" && !rest.Any(a => a.StartsWith("--test-git-version", StringComparison.Ordinal)) &&
                ImageTag(container.Str("image")) is { } tag && tag.StartsWith('v'))
            {
                rest.Add("--test-git-version=" + tag); // /version answers the image's release, as the real server would
            }
            argv = [selfExe, program, .. rest];
        }
        else
        {
            throw new FormatException($"{source}: command \"{words[0]}\" has no stand-in (etcd, kube-apiserver, kube-scheduler, kube-controller-manager)");
        }
        return new PodPlan(name, argv, Hash(manifestText), dropped, doc);
    }

    /// <summary>FilterEtcdFlags keeps the flags whose name etcd knows (and non-flag words), returning the dropped ones.</summary>
    public static (List<string> Kept, List<string> Dropped) FilterEtcdFlags(IEnumerable<string> args, IReadOnlySet<string> known)
    {
        var kept = new List<string>();
        var dropped = new List<string>();
        foreach (var a in args)
        {
            if (!a.StartsWith('-')) { kept.Add(a); continue; }
            var flag = a.TrimStart('-');
            var eq = flag.IndexOf('=');
            (known.Contains(eq < 0 ? flag : flag[..eq]) ? kept : dropped).Add(a);
        }
        return (kept, dropped);
    }

    /// <summary>ParseEtcdHelp reads the flag names from `etcd --help` output (lines starting with spaces and `--name`).</summary>
    public static HashSet<string> ParseEtcdHelp(string help) =>
        HelpFlag().Matches(help).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>ImageTag returns the tag of an image reference (null when none).</summary>
    public static string? ImageTag(string? image)
    {
        if (string.IsNullOrEmpty(image)) return null;
        var at = image.IndexOf('@');
        if (at >= 0) image = image[..at];
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? image[(colon + 1)..] : null;
    }

    /// <summary>Hash is the first 16 hex digits of the SHA-256 of the manifest text.</summary>
    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];

    private static IEnumerable<string> Strings(YNode? node) =>
        node is YSeq seq ? seq.Items.Select(i => i is YScalar s ? s.Text : throw new FormatException("command/args must be strings")) : [];

    [GeneratedRegex(@"(?m)^\s+--([a-z0-9][a-z0-9-]*)")]
    private static partial Regex HelpFlag();
}
