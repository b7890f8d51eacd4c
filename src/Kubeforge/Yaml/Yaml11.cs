using System.Globalization;
using System.Text.RegularExpressions;

namespace Kubeforge.Yaml;

/// <summary>Yaml11 resolves plain scalars the way Go's YAML 1.1 readers (gopkg.in/yaml.v2, used by
/// sigs.k8s.io/yaml in kubeadm and the kubelet) do. It decides which strings must be quoted on write.</summary>
public static partial class Yaml11
{
    private static readonly HashSet<string> TrueWords = ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"];
    private static readonly HashSet<string> FalseWords = ["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"];
    private static readonly HashSet<string> NullWords = ["", "~", "null", "Null", "NULL"];
    private static readonly HashSet<string> FloatWords = [".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"];

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex StyleFloat();

    [GeneratedRegex(@"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")]
    private static partial Regex Base60Float();

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?(Z|[+-][0-9]{1,2}(:[0-9]{2})?)?)?$")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")]
    private static partial Regex GoInt();

    /// <summary>Resolve returns the kind a YAML 1.1 reader gives an unquoted scalar.</summary>
    public static ScalarKind Resolve(string plain)
    {
        if (NullWords.Contains(plain))
        {
            return ScalarKind.Null;
        }
        if (TrueWords.Contains(plain) || FalseWords.Contains(plain))
        {
            return ScalarKind.Bool;
        }
        if (FloatWords.Contains(plain))
        {
            return ScalarKind.Float;
        }
        if (plain == "<<" || plain == "=")
        {
            return ScalarKind.Float; // merge/value keys: anything but a plain string
        }
        var c = plain[0];
        if (char.IsAsciiDigit(c) || c == '+' || c == '-' || c == '.')
        {
            var noUnderscore = plain.Replace("_", "", StringComparison.Ordinal);
            if (noUnderscore.Length > 0 && GoInt().IsMatch(noUnderscore))
            {
                return ScalarKind.Int;
            }
            if (StyleFloat().IsMatch(noUnderscore))
            {
                return ScalarKind.Float;
            }
            if (Timestamp().IsMatch(plain))
            {
                return ScalarKind.Float; // a timestamp: not a string either
            }
        }
        return ScalarKind.String;
    }

    /// <summary>IsBase60Float reports strings yaml.v2 quotes for YAML 1.1 sexagesimal compatibility ("1:20").</summary>
    public static bool IsBase60Float(string s) => s.Length > 0 && Base60Float().IsMatch(s);

    /// <summary>ParseBool returns the boolean a YAML 1.1 reader sees in a plain scalar.</summary>
    public static bool? ParseBool(string plain) =>
        TrueWords.Contains(plain) ? true : FalseWords.Contains(plain) ? false : null;

    /// <summary>ParseInt parses a plain integer as Go's strconv.ParseInt(s, 0, 64) would.</summary>
    public static bool TryParseInt(string plain, out long value)
    {
        value = 0;
        var s = plain.Replace("_", "", StringComparison.Ordinal);
        var neg = false;
        if (s.StartsWith('-') || s.StartsWith('+'))
        {
            neg = s[0] == '-';
            s = s[1..];
        }
        if (s.Length == 0)
        {
            return false;
        }
        try
        {
            ulong u;
            if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                u = ulong.Parse(s[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            else if (s.StartsWith("0o", StringComparison.OrdinalIgnoreCase))
            {
                u = Convert.ToUInt64(s[2..], 8);
            }
            else if (s.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
            {
                u = Convert.ToUInt64(s[2..], 2);
            }
            else if (s.Length > 1 && s[0] == '0')
            {
                u = Convert.ToUInt64(s[1..], 8);
            }
            else if (s.All(char.IsAsciiDigit))
            {
                u = ulong.Parse(s, CultureInfo.InvariantCulture);
            }
            else
            {
                return false;
            }
            if (u > long.MaxValue)
            {
                return false;
            }
            value = neg ? -(long)u : (long)u;
            return true;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return false;
        }
    }
}
