using System.Globalization;
using System.Text;

namespace Kubeforge.Yaml;

/// <summary>GoYamlWriter writes a YNode the way kubeadm's YAML marshalling does (sigs.k8s.io/yaml over
/// gopkg.in/yaml.v2): mapping keys in yaml.v2's sort order, two-space indent, sequences not indented
/// under their key, multi-line strings as literal blocks, and every string a YAML 1.1 reader would
/// re-type (on, yes, y, 0755, 1.20, "", null…) double-quoted.</summary>
public static class GoYamlWriter
{
    /// <summary>Write renders one YAML document (no leading "---"), ending with a newline.</summary>
    public static string Write(YNode root)
    {
        var sb = new StringBuilder();
        switch (root)
        {
            case YMap m when m.Count > 0:
                WriteMap(sb, m, 0);
                break;
            case YSeq s when s.Count > 0:
                WriteSeq(sb, s, 0);
                break;
            default:
                sb.Append(InlineValue(root, 0, 0)).Append('\n');
                break;
        }
        return sb.ToString();
    }

    /// <summary>WriteBytes is Write encoded as UTF-8.</summary>
    public static byte[] WriteBytes(YNode root) => Encoding.UTF8.GetBytes(Write(root));

    /// <summary>SortedKeys orders keys as yaml.v2's keyList does (natural order of digit runs,
    /// non-letters before letters).</summary>
    public static IEnumerable<KeyValuePair<string, YNode>> Sorted(YMap m)
    {
        var list = m.Entries.ToList();
        list.Sort((a, b) => Less(a.Key, b.Key) ? -1 : Less(b.Key, a.Key) ? 1 : 0);
        return list;
    }

    internal static bool Less(string a, string b)
    {
        var ar = a.EnumerateRunes().ToArray();
        var br = b.EnumerateRunes().ToArray();
        for (var i = 0; i < ar.Length && i < br.Length; i++)
        {
            if (ar[i] == br[i])
            {
                continue;
            }
            var al = Rune.IsLetter(ar[i]);
            var bl = Rune.IsLetter(br[i]);
            if (al && bl)
            {
                return ar[i] < br[i];
            }
            if (al || bl)
            {
                return bl;
            }
            long an = 0, bn = 0;
            int ai, bi;
            if (ar[i].Value == '0' || br[i].Value == '0')
            {
                for (var j = i - 1; j >= 0 && Rune.IsDigit(ar[j]); j--)
                {
                    if (ar[j].Value != '0')
                    {
                        an = 1;
                        bn = 1;
                        break;
                    }
                }
            }
            for (ai = i; ai < ar.Length && Rune.IsDigit(ar[ai]); ai++)
            {
                an = an * 10 + (ar[ai].Value - '0');
            }
            for (bi = i; bi < br.Length && Rune.IsDigit(br[bi]); bi++)
            {
                bn = bn * 10 + (br[bi].Value - '0');
            }
            if (an != bn)
            {
                return an < bn;
            }
            if (ai != bi)
            {
                return ai < bi;
            }
            return ar[i] < br[i];
        }
        return ar.Length < br.Length;
    }

    private static void WriteMap(StringBuilder sb, YMap m, int indent, bool firstInline = false)
    {
        var first = true;
        foreach (var (key, value) in Sorted(m))
        {
            if (!(first && firstInline))
            {
                sb.Append(' ', indent);
            }
            first = false;
            var keyText = ScalarText(key, indent, isKey: true, column: indent);
            sb.Append(keyText).Append(':');
            WriteValueAfterKey(sb, value, indent, indent + RuneCount(keyText) + 2);
        }
    }

    private static int RuneCount(string s) => s.EnumerateRunes().Count();

    private static void WriteValueAfterKey(StringBuilder sb, YNode value, int indent, int column)
    {
        switch (value)
        {
            case YMap vm when vm.Count > 0:
                sb.Append('\n');
                WriteMap(sb, vm, indent + 2);
                break;
            case YSeq vs when vs.Count > 0:
                sb.Append('\n');
                WriteSeq(sb, vs, indent);
                break;
            default:
                sb.Append(' ').Append(InlineValue(value, indent + 2, column)).Append('\n');
                break;
        }
    }

    private static void WriteSeq(StringBuilder sb, YSeq s, int indent, bool firstInline = false)
    {
        var first = true;
        foreach (var item in s)
        {
            if (!(first && firstInline))
            {
                sb.Append(' ', indent);
            }
            first = false;
            sb.Append('-');
            switch (item)
            {
                case YMap im when im.Count > 0:
                    sb.Append(' ');
                    WriteMap(sb, im, indent + 2, firstInline: true);
                    break;
                case YSeq iseq when iseq.Count > 0:
                    sb.Append(' ');
                    WriteSeq(sb, iseq, indent + 2, firstInline: true);
                    break;
                default:
                    sb.Append(' ').Append(InlineValue(item, indent + 2, indent + 2)).Append('\n');
                    break;
            }
        }
    }

    // column: where the scalar starts on its line (yaml.v2 folds long values with spaces past column 80).
    private static string InlineValue(YNode node, int blockIndent, int column) => node switch
    {
        YMap => "{}",
        YSeq => "[]",
        YScalar { Kind: ScalarKind.String } s => ScalarText(s.Text, blockIndent, isKey: false, column),
        YScalar s => s.Text,
        _ => throw new InvalidOperationException("unknown node"),
    };

    /// <summary>BestWidth is yaml.v2's line width: sigs.k8s.io/yaml never calls FutureLineWrap, so plain and
    /// quoted values (not keys, not literal blocks) are folded at a space once the line passes 80 columns.</summary>
    private const int BestWidth = 80;

    private static string ScalarText(string s, int blockIndent, bool isKey, int column)
    {
        if (s.Length == 0)
        {
            return "\"\"";
        }
        var resolvesToString = Yaml11.Resolve(s) == ScalarKind.String && !Yaml11.IsBase60Float(s);
        var a = Analyze(s);
        if (!isKey && s.Contains('\n') && a.BlockAllowed)
        {
            return Literal(s, blockIndent);
        }
        if (!resolvesToString || s.Contains('\n'))
        {
            return DoubleQuoted(s, blockIndent, column, allowBreaks: !isKey);
        }
        if (a.PlainAllowed)
        {
            return Plain(s, blockIndent, column, allowBreaks: !isKey);
        }
        if (a.SingleAllowed)
        {
            return SingleQuoted(s, blockIndent, column, allowBreaks: !isKey);
        }
        return DoubleQuoted(s, blockIndent, column, allowBreaks: !isKey);
    }

    // libyaml's yaml_emitter_write_plain_scalar (no line breaks reach here).
    private static string Plain(string s, int indent, int column, bool allowBreaks)
    {
        var r = s.EnumerateRunes().ToArray();
        var sb = new StringBuilder();
        var spaces = false;
        for (var i = 0; i < r.Length; i++)
        {
            if (r[i].Value == ' ')
            {
                if (allowBreaks && !spaces && column > BestWidth && !(i + 1 < r.Length && r[i + 1].Value == ' '))
                {
                    column = Break(sb, indent);
                }
                else
                {
                    sb.Append(' ');
                    column++;
                }
                spaces = true;
            }
            else
            {
                sb.Append(r[i].ToString());
                column++;
                spaces = false;
            }
        }
        return sb.ToString();
    }

    // libyaml's yaml_emitter_write_single_quoted_scalar (single quoting is never chosen for text with breaks).
    private static string SingleQuoted(string s, int indent, int column, bool allowBreaks)
    {
        var r = s.EnumerateRunes().ToArray();
        var sb = new StringBuilder("'");
        column++;
        var spaces = false;
        for (var i = 0; i < r.Length; i++)
        {
            if (r[i].Value == ' ')
            {
                if (allowBreaks && !spaces && column > BestWidth && i > 0 && i < r.Length - 1 && r[i + 1].Value != ' ')
                {
                    column = Break(sb, indent);
                }
                else
                {
                    sb.Append(' ');
                    column++;
                }
                spaces = true;
            }
            else
            {
                if (r[i].Value == '\'')
                {
                    sb.Append('\'');
                    column++;
                }
                sb.Append(r[i].ToString());
                column++;
                spaces = false;
            }
        }
        return sb.Append('\'').ToString();
    }

    private static int Break(StringBuilder sb, int indent)
    {
        sb.Append('\n').Append(' ', indent);
        return indent;
    }

    private readonly record struct Analysis(bool PlainAllowed, bool SingleAllowed, bool BlockAllowed);

    // A port of the decisions libyaml's yaml_emitter_analyze_scalar makes for block context.
    private static Analysis Analyze(string value)
    {
        bool blockIndicators = false, specialCharacters = false, lineBreaks = false;
        bool leadingSpace = false, leadingBreak = false, trailingSpace = false, trailingBreak = false;
        bool breakSpace = false, spaceBreak = false;
        bool precededByWhitespace = true, previousSpace = false, previousBreak = false;

        if (value.StartsWith("---", StringComparison.Ordinal) || value.StartsWith("...", StringComparison.Ordinal))
        {
            blockIndicators = true;
        }
        var runes = value.EnumerateRunes().ToArray();
        for (var i = 0; i < runes.Length; i++)
        {
            var c = runes[i].Value;
            var followedByWhitespace = i + 1 >= runes.Length || IsBlankOrBreak(runes[i + 1].Value);
            if (i == 0)
            {
                switch (c)
                {
                    case '#' or ',' or '[' or ']' or '{' or '}' or '&' or '*' or '!' or '|' or '>' or '\'' or '"' or '%' or '@' or '`':
                        blockIndicators = true;
                        break;
                    case '?' or ':':
                        if (followedByWhitespace)
                        {
                            blockIndicators = true;
                        }
                        break;
                    case '-':
                        if (followedByWhitespace)
                        {
                            blockIndicators = true;
                        }
                        break;
                }
            }
            else
            {
                switch (c)
                {
                    case ':':
                        if (followedByWhitespace)
                        {
                            blockIndicators = true;
                        }
                        break;
                    case '#':
                        if (precededByWhitespace)
                        {
                            blockIndicators = true;
                        }
                        break;
                }
            }
            if (!IsPrintable(c) || c == 0xFEFF)
            {
                specialCharacters = true;
            }
            if (c == '\n' || c == '\r' || c == 0x85 || c == 0x2028 || c == 0x2029)
            {
                lineBreaks = true;
            }
            if (c == ' ')
            {
                if (i == 0)
                {
                    leadingSpace = true;
                }
                if (i == runes.Length - 1)
                {
                    trailingSpace = true;
                }
                if (previousBreak)
                {
                    breakSpace = true;
                }
                previousSpace = true;
                previousBreak = false;
            }
            else if (c == '\n' || c == '\r' || c == 0x85 || c == 0x2028 || c == 0x2029)
            {
                if (i == 0)
                {
                    leadingBreak = true;
                }
                if (i == runes.Length - 1)
                {
                    trailingBreak = true;
                }
                if (previousSpace)
                {
                    spaceBreak = true;
                }
                previousSpace = false;
                previousBreak = true;
            }
            else
            {
                previousSpace = false;
                previousBreak = false;
            }
            precededByWhitespace = IsBlankOrBreak(c);
        }

        bool plain = true, single = true, block = true;
        if (leadingSpace || leadingBreak || trailingSpace || trailingBreak)
        {
            plain = false;
        }
        if (trailingSpace)
        {
            block = false;
        }
        if (breakSpace)
        {
            plain = false;
            single = false;
        }
        if (spaceBreak || specialCharacters)
        {
            plain = false;
            single = false;
            block = false;
        }
        if (lineBreaks)
        {
            plain = false;
        }
        if (blockIndicators)
        {
            plain = false;
        }
        return new Analysis(plain, single, block);
    }

    private static bool IsBlankOrBreak(int c) => c is ' ' or '\t' or '\n' or '\r' or 0x85 or 0x2028 or 0x2029;

    // yaml.v2's is_printable: LF, ASCII 0x20-0x7E, U+00A0-U+D7FF, U+E000-U+FFFD without the BOM. Unlike
    // libyaml it rejects NEL (U+0085) and everything above U+FFFF, so those strings are double-quoted and
    // such characters escaped (an emoji becomes \U0001F600).
    private static bool IsPrintable(int c) =>
        c == 0x0A || (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF);

    private static string Literal(string s, int indent)
    {
        var sb = new StringBuilder("|");
        if (s[0] == ' ' || s[0] == '\n')
        {
            sb.Append('2');
        }
        if (!s.EndsWith('\n'))
        {
            sb.Append('-');
        }
        else if (s.Length == 1 || s[^2] == '\n')
        {
            sb.Append('+');
        }
        var body = s.EndsWith('\n') ? s[..^1] : s;
        foreach (var line in body.Split('\n'))
        {
            sb.Append('\n');
            if (line.Length > 0)
            {
                sb.Append(' ', indent).Append(line);
            }
        }
        return sb.ToString();
    }

    // libyaml's yaml_emitter_write_double_quoted_scalar: non-printable characters, breaks, '"' and '\' are
    // escaped (printable ones such as U+00A0 are written as they are).
    private static string DoubleQuoted(string s, int indent, int column, bool allowBreaks)
    {
        var runes = s.EnumerateRunes().ToArray();
        var sb = new StringBuilder("\"");
        column++;
        var spaces = false;
        for (var i = 0; i < runes.Length; i++)
        {
            var r = runes[i];
            var c = r.Value;
            var escape = !IsPrintable(c) || c == 0xFEFF || c is '\n' or '\r' or 0x85 or 0x2028 or 0x2029 or '"' or '\\';
            if (!escape)
            {
                if (c == ' ' && allowBreaks && !spaces && column > BestWidth && i > 0 && i < runes.Length - 1)
                {
                    column = Break(sb, indent);
                    if (runes[i + 1].Value == ' ')
                    {
                        sb.Append('\\');
                        column++;
                    }
                }
                else
                {
                    sb.Append(r.ToString());
                    column++;
                }
                spaces = c == ' ';
                continue;
            }
            spaces = false;
            var before = sb.Length;
            switch (c)
            {
                case 0: sb.Append("\\0"); break;
                case 7: sb.Append("\\a"); break;
                case 8: sb.Append("\\b"); break;
                case 9: sb.Append("\\t"); break;
                case 0x0A: sb.Append("\\n"); break;
                case 0x0B: sb.Append("\\v"); break;
                case 0x0C: sb.Append("\\f"); break;
                case 0x0D: sb.Append("\\r"); break;
                case 0x1B: sb.Append("\\e"); break;
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case 0x85: sb.Append("\\N"); break;
                case 0x2028: sb.Append("\\L"); break;
                case 0x2029: sb.Append("\\P"); break;
                default:
                    sb.Append(c <= 0xFF ? "\\x" + c.ToString("X2", CultureInfo.InvariantCulture)
                        : c <= 0xFFFF ? "\\u" + c.ToString("X4", CultureInfo.InvariantCulture)
                        : "\\U" + c.ToString("X8", CultureInfo.InvariantCulture));
                    break;
            }
            column += sb.Length - before;
        }
        return sb.Append('"').ToString();
    }
}
