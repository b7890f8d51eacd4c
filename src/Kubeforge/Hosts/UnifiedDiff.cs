using System.Text;

namespace Kubeforge.Hosts;

/// <summary>UnifiedDiff renders a line diff in unified format (---/+++ headers, @@ hunks with 3 lines of context) from a
/// longest-common-subsequence table. Meant for config files (quadratic in lines).</summary>
public static class UnifiedDiff
{
    /// <summary>Diff returns "" when the texts are equal, else the unified diff of oldText → newText.</summary>
    public static string Diff(string? oldText, string newText, string oldName, string newName, int context = 3)
    {
        if (oldText == newText)
        {
            return "";
        }
        var a = Lines(oldText ?? "");
        var b = Lines(newText);
        var n = a.Length;
        var m = b.Length;
        var lcs = new int[n + 1, m + 1];
        for (var i = n - 1; i >= 0; i--)
        {
            for (var j = m - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }
        // edit script: (' ', line, oldIndex, newIndex)
        var ops = new List<(char Op, string Line)>();
        int x = 0, y = 0;
        while (x < n || y < m)
        {
            if (x < n && y < m && a[x] == b[y])
            {
                ops.Add((' ', a[x])); x++; y++;
            }
            else if (x < n && (y == m || lcs[x + 1, y] >= lcs[x, y + 1]))
            {
                ops.Add(('-', a[x])); x++;
            }
            else
            {
                ops.Add(('+', b[y])); y++;
            }
        }
        var sb = new StringBuilder($"--- {oldName}\n+++ {newName}\n");
        var k = 0;
        while (k < ops.Count)
        {
            if (ops[k].Op == ' ')
            {
                k++;
                continue;
            }
            var start = Math.Max(0, k - context);
            var end = k;
            // extend over changes separated by at most 2*context unchanged lines
            var last = k;
            while (end < ops.Count)
            {
                if (ops[end].Op != ' ')
                {
                    last = end;
                }
                else if (end - last > 2 * context)
                {
                    break;
                }
                end++;
            }
            end = Math.Min(ops.Count, last + context + 1);
            int oldStart = 1, newStart = 1;
            for (var i = 0; i < start; i++)
            {
                if (ops[i].Op != '+') oldStart++;
                if (ops[i].Op != '-') newStart++;
            }
            var oldLen = ops.Skip(start).Take(end - start).Count(o => o.Op != '+');
            var newLen = ops.Skip(start).Take(end - start).Count(o => o.Op != '-');
            sb.Append($"@@ -{(oldLen == 0 ? oldStart - 1 : oldStart)},{oldLen} +{(newLen == 0 ? newStart - 1 : newStart)},{newLen} @@\n");
            for (var i = start; i < end; i++)
            {
                sb.Append(ops[i].Op).Append(ops[i].Line).Append('\n');
            }
            k = end;
        }
        return sb.ToString();
    }

    private static string[] Lines(string s)
    {
        if (s.Length == 0)
        {
            return [];
        }
        var t = s.EndsWith('\n') ? s[..^1] : s;
        return t.Split('\n');
    }
}
