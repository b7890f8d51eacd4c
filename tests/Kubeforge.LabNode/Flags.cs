namespace Kubeforge.LabNode;

/// <summary>Flags parses Kubernetes component command lines the way the stand-ins need them: `--name=value`, a bare `--name`
/// (value "true"), and `--name value` when the next word is not a flag. Keys are stored without the dashes; the last one wins.</summary>
public static class Flags
{
    /// <summary>Parse returns the flags of args (non-flag words that are not values are ignored).</summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> args)
    {
        var list = args.ToList();
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith('-') || a == "-" || a == "--") continue;
            var name = a.TrimStart('-');
            var eq = name.IndexOf('=');
            if (eq >= 0) flags[name[..eq]] = name[(eq + 1)..];
            else if (i + 1 < list.Count && !list[i + 1].StartsWith('-')) flags[name] = list[++i];
            else flags[name] = "true";
        }
        return flags;
    }

    /// <summary>Has tells whether args set the flag (in any of the accepted forms).</summary>
    public static bool Has(IEnumerable<string> args, string name) =>
        args.Any(a => a == "--" + name || a.StartsWith("--" + name + "=", StringComparison.Ordinal));

    /// <summary>Bool reads a Go-style boolean flag (true/false/1/0/t/f) with a default.</summary>
    public static bool Bool(IReadOnlyDictionary<string, string> flags, string name, bool defaultValue) =>
        !flags.TryGetValue(name, out var v) ? defaultValue : v.ToLowerInvariant() switch
        {
            "true" or "1" or "t" => true,
            "false" or "0" or "f" => false,
            _ => throw new ArgumentException($"invalid value \"{v}\" for flag --{name}: expected true or false"),
        };

    /// <summary>Int reads an integer flag with a default.</summary>
    public static int Int(IReadOnlyDictionary<string, string> flags, string name, int defaultValue) =>
        !flags.TryGetValue(name, out var v) ? defaultValue
        : int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n
        : throw new ArgumentException($"invalid value \"{v}\" for flag --{name}: expected a number");
}
