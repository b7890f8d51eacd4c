using System.Text;

namespace Kubeforge.Hosts;

/// <summary>ShellQuote is the one quoting helper: it turns an argv list into a POSIX shell line where every
/// argument reaches the program unchanged. Nothing else in Kubeforge builds shell text.</summary>
public static class ShellQuote
{
    /// <summary>Quote returns s as one shell word (single-quoted unless it is made only of safe characters).</summary>
    public static string Quote(string s)
    {
        if (s.Contains('\0'))
        {
            throw new ArgumentException("a shell argument cannot contain a NUL character", nameof(s));
        }
        if (s.Length > 0 && s.All(IsSafe))
        {
            return s;
        }
        var sb = new StringBuilder("'");
        foreach (var c in s)
        {
            if (c == '\'')
            {
                sb.Append("'\\''");
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>Join quotes each argument and joins them with spaces. A first word containing '=' is always
    /// quoted, so the shell runs it as a program instead of reading it as a variable assignment.</summary>
    public static string Join(IEnumerable<string> argv) =>
        string.Join(' ', argv.Select((a, i) => i == 0 && a.Contains('=') && a.All(IsSafe) ? "'" + a + "'" : Quote(a)));

    private static bool IsSafe(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '=' or ',' or '+' or '@' or '%';
}
