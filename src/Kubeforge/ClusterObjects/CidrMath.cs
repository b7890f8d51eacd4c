using System.Net;
using System.Net.Sockets;
using System.Numerics;
using Kubeforge.Phases;

namespace Kubeforge.ClusterObjects;

/// <summary>CidrMath answers "the n-th address of a CIDR" for IPv4 and IPv6 (kubeadm's GetAPIServerVirtualIP = 1st,
/// GetDNSIP = 10th of the first service subnet).</summary>
public static class CidrMath
{
    /// <summary>IndexedIp returns network address + n; a UserError when the CIDR is malformed or too small.</summary>
    public static IPAddress IndexedIp(string cidr, int n)
    {
        var slash = cidr.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(cidr[..slash], out var ip) || !int.TryParse(cidr[(slash + 1)..], out var prefix))
        {
            throw new UserError($"\"{cidr}\" is not a CIDR such as 10.96.0.0/12: fix networking.serviceSubnet");
        }
        var bytes = ip.GetAddressBytes();
        var bits = bytes.Length * 8;
        if (prefix < 0 || prefix > bits)
        {
            throw new UserError($"\"{cidr}\" has an invalid prefix length: fix networking.serviceSubnet");
        }
        var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
        var hostBits = bits - prefix;
        var mask = ((BigInteger.One << bits) - 1) ^ ((BigInteger.One << hostBits) - 1);
        var size = BigInteger.One << hostBits;
        if (n < 0 || n >= size)
        {
            throw new UserError($"the service subnet \"{cidr}\" is too small to hold address index {n}: use a larger networking.serviceSubnet");
        }
        var result = (value & mask) + n;
        var outBytes = result.ToByteArray(isUnsigned: true, isBigEndian: true);
        var padded = new byte[bytes.Length];
        Array.Copy(outBytes, 0, padded, bytes.Length - outBytes.Length, outBytes.Length);
        return new IPAddress(padded);
    }

    /// <summary>FirstCidr is the first entry of a comma-separated (dual-stack) subnet list.</summary>
    public static string FirstCidr(string subnets) => subnets.Split(',')[0].Trim();

    /// <summary>DnsIp is the 10th address of the first service subnet, as text.</summary>
    public static string DnsIp(string serviceSubnet) => IndexedIp(FirstCidr(serviceSubnet), 10).ToString();

    /// <summary>IsIPv6 reports whether an address text is IPv6.</summary>
    public static bool IsIPv6(string address) => IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6;
}
