using System.Globalization;
using System.Text.RegularExpressions;

namespace Kubeforge.Versions;

/// <summary>KubeVersion is a Kubernetes release version such as v1.22.3 (pre-release and build parts kept as text).</summary>
public sealed partial record KubeVersion(int Major, int Minor, int Patch, string Suffix = "") : IComparable<KubeVersion>
{
    [GeneratedRegex(@"^v?(\d+)\.(\d+)(?:\.(\d+))?([-+][0-9A-Za-z.+-]*)?$")]
    private static partial Regex Pattern();

    /// <summary>TryParse accepts "v1.22.3", "1.22.3", "v1.30.0-rc.1", "1.29" (patch 0).</summary>
    public static bool TryParse(string? text, out KubeVersion version)
    {
        version = new KubeVersion(0, 0, 0);
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var m = Pattern().Match(text.Trim());
        if (!m.Success)
        {
            return false;
        }
        version = new KubeVersion(
            int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            m.Groups[3].Success ? int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : 0,
            m.Groups[4].Success ? m.Groups[4].Value : "");
        return true;
    }

    public static KubeVersion Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"\"{text}\" is not a Kubernetes version (expected e.g. v1.22.3)");

    /// <summary>ToString gives the canonical "v1.22.3" form.</summary>
    public override string ToString() => $"v{Major}.{Minor}.{Patch}{Suffix}";

    /// <summary>ImageTag is the version as used in image tags ("+" is not allowed in tags and becomes "_").</summary>
    public string ImageTag => ToString().Replace('+', '_');

    /// <summary>MinorString is "1.22".</summary>
    public string MinorString => $"{Major}.{Minor}";

    public int CompareTo(KubeVersion? other)
    {
        if (other is null)
        {
            return 1;
        }
        var c = Major.CompareTo(other.Major);
        if (c != 0) return c;
        c = Minor.CompareTo(other.Minor);
        if (c != 0) return c;
        c = Patch.CompareTo(other.Patch);
        if (c != 0) return c;
        // a pre-release sorts before the release
        if (Suffix.StartsWith('-') != other.Suffix.StartsWith('-'))
        {
            return Suffix.StartsWith('-') ? -1 : 1;
        }
        return string.CompareOrdinal(Suffix, other.Suffix);
    }
}
