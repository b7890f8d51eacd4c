using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Kubeforge.Node;

/// <summary>NodeIdentity is what kubeadm learns about the machine it runs on: the hostname and the address of
/// the default-route interface (kubeadm's ChooseHostInterface). Tests build it directly.</summary>
public sealed record NodeIdentity(string Hostname, string? DefaultIPv4, string? DefaultIPv6 = null)
{
    /// <summary>AdvertiseAddress is the IPv4 address of the default route, else its IPv6 address.</summary>
    public string? AdvertiseAddress => DefaultIPv4 ?? DefaultIPv6;

    /// <summary>NodeName is the hostname lower-cased and trimmed, as kubeadm's GetHostname gives it.</summary>
    public string NodeName => Hostname.Trim().ToLowerInvariant();

    /// <summary>Detect reads the hostname and the default-route interface addresses of this machine
    /// (/proc/net/route, /proc/net/ipv6_route and the interface list).</summary>
    public static NodeIdentity Detect(string procRoot = "/proc")
    {
        var host = ReadHostname(procRoot);
        string? v4 = null, v6 = null;
        try
        {
            var ifaces = NetworkInterface.GetAllNetworkInterfaces();
            var v4If = DefaultInterface(Path.Combine(procRoot, "net/route"), v6: false);
            var v6If = DefaultInterface(Path.Combine(procRoot, "net/ipv6_route"), v6: true);
            v4 = AddressOf(ifaces, v4If, AddressFamily.InterNetwork);
            v6 = AddressOf(ifaces, v6If, AddressFamily.InterNetworkV6);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NetworkInformationException or PlatformNotSupportedException)
        {
            // no route information: the caller asks the user for an advertise address
        }
        return new NodeIdentity(host, v4, v6);
    }

    private static string ReadHostname(string procRoot)
    {
        try
        {
            var p = Path.Combine(procRoot, "sys/kernel/hostname");
            if (File.Exists(p))
            {
                var h = File.ReadAllText(p).Trim();
                if (h.Length > 0)
                {
                    return h;
                }
            }
        }
        catch (IOException)
        {
        }
        return Environment.MachineName;
    }

    /// <summary>DefaultInterface returns the interface of the default route with the lowest metric.</summary>
    internal static string? DefaultInterface(string routeFile, bool v6)
    {
        if (!File.Exists(routeFile))
        {
            return null;
        }
        string? best = null;
        var bestMetric = long.MaxValue;
        foreach (var line in File.ReadLines(routeFile))
        {
            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (v6)
            {
                // dest(32 hex) prefix src srcprefix nexthop metric refcnt use flags iface
                if (f.Length < 10 || f[0] != new string('0', 32) || f[1] != "00" || f[9] == "lo")
                {
                    continue;
                }
                var metric = long.Parse(f[5], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (metric < bestMetric)
                {
                    (best, bestMetric) = (f[9], metric);
                }
            }
            else
            {
                // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
                if (f.Length < 8 || f[1] != "00000000" || f[7] != "00000000")
                {
                    continue;
                }
                if (!long.TryParse(f[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var metric))
                {
                    continue;
                }
                if (metric < bestMetric)
                {
                    (best, bestMetric) = (f[0], metric);
                }
            }
        }
        return best;
    }

    private static string? AddressOf(NetworkInterface[] ifaces, string? name, AddressFamily family)
    {
        if (name is null)
        {
            return null;
        }
        var nic = ifaces.FirstOrDefault(i => i.Name == name);
        var addr = nic?.GetIPProperties().UnicastAddresses
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == family && !IPAddress.IsLoopback(a) && !(family == AddressFamily.InterNetworkV6 && a.IsIPv6LinkLocal));
        return addr?.ToString();
    }
}
