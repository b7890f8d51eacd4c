using System.Globalization;
using System.Text;

namespace Kubeforge.Config;

/// <summary>GoDuration parses and prints durations the way Go's time package does ("24h0m0s", "4m", "1h30m").</summary>
public static class GoDuration
{
    private static readonly (string Unit, double Ticks)[] Units =
    [
        ("ns", 0.01), ("us", 10), ("µs", 10), ("μs", 10), ("ms", TimeSpan.TicksPerMillisecond),
        ("s", TimeSpan.TicksPerSecond), ("m", TimeSpan.TicksPerMinute), ("h", TimeSpan.TicksPerHour),
    ];

    /// <summary>TryParse reads a Go duration string (time.ParseDuration rules).</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        var s = text;
        var neg = false;
        if (s[0] is '-' or '+')
        {
            neg = s[0] == '-';
            s = s[1..];
        }
        if (s == "0")
        {
            return true;
        }
        if (s.Length == 0)
        {
            return false;
        }
        double ticks = 0;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }
            if (i == start || !double.TryParse(s[start..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
            {
                return false;
            }
            var u = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }
            var unit = s[u..i];
            var match = Units.FirstOrDefault(x => x.Unit == unit);
            if (match.Unit is null)
            {
                return false;
            }
            ticks += n * match.Ticks;
        }
        value = TimeSpan.FromTicks((long)Math.Round(neg ? -ticks : ticks));
        return true;
    }

    /// <summary>Format prints a duration like Go's Duration.String ("8760h0m0s", "4m0s", "1.5s", "0s").</summary>
    public static string Format(TimeSpan d)
    {
        if (d == TimeSpan.Zero)
        {
            return "0s";
        }
        var sb = new StringBuilder();
        var ticks = d.Ticks;
        if (ticks < 0)
        {
            sb.Append('-');
            ticks = -ticks;
        }
        if (ticks < TimeSpan.TicksPerSecond)
        {
            // sub-second: Go prints ms/µs/ns with fractions
            if (ticks >= TimeSpan.TicksPerMillisecond)
            {
                return sb.Append(Frac(ticks, TimeSpan.TicksPerMillisecond)).Append("ms").ToString();
            }
            return sb.Append(Frac(ticks, 10)).Append("µs").ToString();
        }
        var hours = ticks / TimeSpan.TicksPerHour;
        var rest = ticks % TimeSpan.TicksPerHour;
        var minutes = rest / TimeSpan.TicksPerMinute;
        rest %= TimeSpan.TicksPerMinute;
        if (hours > 0)
        {
            sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }
        if (hours > 0 || minutes > 0)
        {
            sb.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }
        return sb.Append(Frac(rest, TimeSpan.TicksPerSecond)).Append('s').ToString();
    }

    private static string Frac(long ticks, long unit)
    {
        var whole = ticks / unit;
        var frac = ticks % unit;
        if (frac == 0)
        {
            return whole.ToString(CultureInfo.InvariantCulture);
        }
        var digits = (unit.ToString(CultureInfo.InvariantCulture).Length - 1);
        return whole.ToString(CultureInfo.InvariantCulture) + "." + frac.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
    }
}
