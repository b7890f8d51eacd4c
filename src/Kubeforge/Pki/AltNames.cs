using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Text.RegularExpressions;
using Kubeforge.Phases;

namespace Kubeforge.Pki;

/// <summary>AltNames are a certificate's subject alternative names. <see cref="Normalized"/> gives the order
/// kubeadm writes them in (RemoveDuplicateAltNames): DNS names de-duplicated and sorted, IPs de-duplicated in
/// first-seen order.</summary>
public sealed partial record AltNames(IReadOnlyList<string> Dns, IReadOnlyList<IPAddress> Ips)
{
    /// <summary>None is an empty set of SANs.</summary>
    public static readonly AltNames None = new([], []);

    /// <summary>Normalized de-duplicates and orders the names as kubeadm does.</summary>
    public AltNames Normalized()
    {
        var dns = Dns.Distinct(StringComparer.Ordinal).ToList();
        dns.Sort(StringComparer.Ordinal);
        var ips = new List<IPAddress>();
        foreach (var ip in Ips)
        {
            if (!ips.Contains(ip))
            {
                ips.Add(ip);
            }
        }
        return new AltNames(dns, ips);
    }

    /// <summary>IsEmpty is true when there is no name at all.</summary>
    public bool IsEmpty => Dns.Count == 0 && Ips.Count == 0;

    /// <summary>ToString prints "DNS names [a b] and IPs [1.2.3.4 ::1]" like Go's %v of the slices.</summary>
    public override string ToString() => $"DNS names [{string.Join(' ', Dns)}] and IPs [{string.Join(' ', Ips)}]";

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Rfc1123Subdomain();

    /// <summary>IsDnsSubdomain is Kubernetes' IsDNS1123Subdomain (lower case, at most 253 characters).</summary>
    public static bool IsDnsSubdomain(string s) => s.Length <= 253 && Rfc1123Subdomain().IsMatch(s);

    /// <summary>IsWildcardSubdomain is Kubernetes' IsWildcardDNS1123Subdomain ("*.example.com").</summary>
    public static bool IsWildcardSubdomain(string s) => s.Length <= 253 && s.StartsWith("*.", StringComparison.Ordinal) && IsDnsSubdomain(s[2..]);

    /// <summary>AppendSans adds certSANs-style entries to dns/ips: an IP if it parses, a DNS name if it is an
    /// RFC 1123 subdomain or wildcard, otherwise it is dropped and warn is called (kubeadm appendSANsToAltNames).</summary>
    public static void AppendSans(List<string> dns, List<IPAddress> ips, IEnumerable<string> sans, string field, Action<string>? warn)
    {
        foreach (var raw in sans)
        {
            var s = raw.Trim();
            if (TryParseIp(s, out var ip))
            {
                ips.Add(ip);
            }
            else if (IsDnsSubdomain(s) || IsWildcardSubdomain(s))
            {
                dns.Add(s);
            }
            else
            {
                warn?.Invoke($"'{s}' was not added to the '{field}' SAN, because it is not a valid IP or RFC-1123 compliant DNS entry");
            }
        }
    }

    /// <summary>TryParseIp parses a literal IPv4/IPv6 address (no brackets, no zone, no port).</summary>
    public static bool TryParseIp(string s, out IPAddress ip)
    {
        ip = IPAddress.None;
        if (s.Length == 0 || s.Contains('%') || (!s.Contains(':') && s.Count(c => c == '.') != 3))
        {
            return false;
        }
        if (!IPAddress.TryParse(s, out var parsed))
        {
            return false;
        }
        ip = parsed;
        return true;
    }

    /// <summary>SplitHostPort splits "host:port", "[v6]:port", "host" or a bare IPv6 into host and optional port.</summary>
    public static (string Host, int? Port) SplitHostPort(string endpoint)
    {
        var e = endpoint.Trim();
        if (e.StartsWith('['))
        {
            var close = e.IndexOf(']');
            if (close < 0)
            {
                throw new UserError($"controlPlaneEndpoint \"{endpoint}\" is not a valid host[:port]; fix the IPv6 brackets");
            }
            var host = e[1..close];
            var rest = e[(close + 1)..];
            return (host, rest.StartsWith(':') ? ParsePort(rest[1..], endpoint) : null);
        }
        var colons = e.Count(c => c == ':');
        if (colons == 1)
        {
            var i = e.IndexOf(':');
            return (e[..i], ParsePort(e[(i + 1)..], endpoint));
        }
        return (e, null);
    }

    private static int ParsePort(string s, string endpoint) =>
        int.TryParse(s, out var p) && p is > 0 and < 65536 ? p
            : throw new UserError($"controlPlaneEndpoint \"{endpoint}\" has an invalid port \"{s}\"; use host:port with a port from 1 to 65535");

    /// <summary>JoinHostPort is Go's net.JoinHostPort: IPv6 hosts go in brackets.</summary>
    public static string JoinHostPort(string host, int port) => host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";

    /// <summary>FirstServiceIp returns address index 1 of the first CIDR in a (comma separated) service subnet (kubeadm GetAPIServerVirtualIP).</summary>
    public static IPAddress ServiceIp(string serviceSubnet, int index)
    {
        var first = serviceSubnet.Split(',')[0].Trim();
        var slash = first.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(first[..slash], out var net) || !int.TryParse(first[(slash + 1)..], out var bits))
        {
            throw new UserError($"networking.serviceSubnet \"{serviceSubnet}\" is not a CIDR (e.g. 10.96.0.0/12); fix the config");
        }
        var bytes = net.GetAddressBytes();
        var width = bytes.Length * 8;
        if (bits < 0 || bits > width)
        {
            throw new UserError($"networking.serviceSubnet \"{serviceSubnet}\" has an invalid prefix length; fix the config");
        }
        var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
        var mask = ((BigInteger.One << width) - 1) ^ ((BigInteger.One << (width - bits)) - 1);
        var size = BigInteger.One << (width - bits);
        if (index >= size)
        {
            throw new UserError($"networking.serviceSubnet \"{serviceSubnet}\" is too small to hold address index {index}; use a larger subnet");
        }
        var result = (value & mask) + index;
        var outBytes = result.ToByteArray(isUnsigned: true, isBigEndian: true);
        var padded = new byte[bytes.Length];
        outBytes.CopyTo(padded, padded.Length - outBytes.Length);
        return new IPAddress(padded);
    }

    internal static bool IsV6(IPAddress ip) => ip.AddressFamily == AddressFamily.InterNetworkV6;
}
