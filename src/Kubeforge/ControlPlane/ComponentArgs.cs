using Kubeforge.Config;

namespace Kubeforge.ControlPlane;

/// <summary>ComponentArgs merges a component's default flags with the user's extraArgs the way kubeadm's
/// ArgumentsToCommand does: every override name drops all defaults of that name; before v1.36 the whole
/// list is then sorted by (name, value), from v1.36 only the remaining defaults are sorted and the
/// overrides follow in the user's order (kubernetes #135400). v1beta4 lists may repeat a flag.</summary>
public static class ComponentArgs
{
    /// <summary>ToCommand returns "--name=value" strings (values may be empty: "--name=").</summary>
    public static List<string> ToCommand(IEnumerable<Arg> defaults, IEnumerable<Arg> overrides, bool sortOverrides)
    {
        var over = overrides.ToList();
        var names = over.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var kept = defaults.Where(a => !names.Contains(a.Name)).ToList();
        List<Arg> all;
        if (sortOverrides)
        {
            all = [.. over, .. kept];
            Sort(all);
        }
        else
        {
            Sort(kept);
            all = [.. kept, .. over];
        }
        return all.Select(a => $"--{a.Name}={a.Value}").ToList();
    }

    /// <summary>LastValue returns the value of the last argument called name (a repeated flag's last value
    /// wins, as kubeadm's GetArgValue reads it), or null.</summary>
    public static string? LastValue(IEnumerable<Arg> args, string name) => args.LastOrDefault(a => a.Name == name)?.Value;

    /// <summary>Set replaces every argument called name with one (name, value), keeping the first position,
    /// or appends it (kubeadm's SetArgValues with n = 1).</summary>
    public static void Set(List<Arg> args, string name, string value)
    {
        var i = args.FindIndex(a => a.Name == name);
        args.RemoveAll(a => a.Name == name);
        args.Insert(i < 0 ? args.Count : i, new Arg(name, value));
    }

    // Go's sort.Slice is not stable, but names are unique among defaults and ties are broken by value.
    private static void Sort(List<Arg> args) => args.Sort((a, b) =>
    {
        var c = string.CompareOrdinal(a.Name, b.Name);
        return c != 0 ? c : string.CompareOrdinal(a.Value, b.Value);
    });
}
