using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Text.RegularExpressions;

namespace Kubeforge.Config;

/// <summary>KubeadmValidation checks a defaulted <see cref="KubeadmConfig"/> like kubeadm's
/// ValidateInitConfiguration / ValidateClusterConfiguration. Each problem is one line: where (document,
/// field path, line or flag), the bad value, and the fix.</summary>
public static partial class KubeadmValidation
{
    /// <summary>MaximumBitsForServiceSubnet is kubeadm's limit on the host bits of a service subnet (IPv4 /12).</summary>
    public const int MaximumBitsForServiceSubnet = 20;
    public const int MinimumAddressesInServiceSubnet = 10;
    public const int MinimumAddressesInPodSubnet = 14;

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex(@"^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex WildcardSubdomain();

    [GeneratedRegex(@"^[a-z0-9]{6}\.[a-z0-9]{16}$")]
    private static partial Regex TokenFormat();

    [GeneratedRegex(@"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")]
    private static partial Regex TokenGroup();

    [GeneratedRegex(@"^[0-9a-fA-F]{64}$")]
    private static partial Regex CertificateKey();

    /// <summary>IsIp is Go's net.ParseIP: dotted-quad IPv4 (exactly four parts) or IPv6.</summary>
    public static bool IsIp(string s) =>
        s.Contains(':') ? IPAddress.TryParse(s, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6
            : s.Split('.') is { Length: 4 } parts && parts.All(x => x.Length is > 0 and <= 3 && x.All(char.IsAsciiDigit) && int.Parse(x) <= 255);

    /// <summary>IsDns1123Subdomain: lower-case RFC 1123 subdomain of at most 253 characters.</summary>
    public static bool IsDns1123Subdomain(string s) => s.Length is > 0 and <= 253 && Dns1123Subdomain().IsMatch(s);

    /// <summary>Validate adds error lines (and warning lines) for everything wrong in cfg; where(path) names the field's origin.</summary>
    public static void Validate(KubeadmConfig cfg, Func<string, string> where, List<string> errors, List<string> warnings)
    {
        var c = cfg.Cluster;
        var i = cfg.Init;
        const string cc = "ClusterConfiguration";
        const string ic = "InitConfiguration";
        void Err(string path, string problem) => errors.Add($"{where(path)}: {problem}");
        void Warn(string path, string problem) => cfg.Warnings.Add($"{where(path)}: {problem}");

        // networking
        var svc = ParseCidrList(c.Networking.ServiceSubnet, $"{cc}.networking.serviceSubnet", "--service-cidr", Err);
        foreach (var n in svc)
        {
            var hostBits = n.Bits - n.Prefix;
            if (hostBits > MaximumBitsForServiceSubnet)
            {
                Err($"{cc}.networking.serviceSubnet", $"service subnet \"{n}\" is too large; for {n.Bits}-bit addresses the mask must be /{n.Bits - MaximumBitsForServiceSubnet} or longer (e.g. {(n.Bits == 32 ? "10.96.0.0/12" : "fd00:10:96::/108")})");
            }
            else if (BigInteger.Pow(2, hostBits) < MinimumAddressesInServiceSubnet)
            {
                Err($"{cc}.networking.serviceSubnet", $"service subnet \"{n}\" is too small ({BigInteger.Pow(2, hostBits)} addresses); it must hold at least {MinimumAddressesInServiceSubnet} addresses (e.g. a /{n.Bits - 4} or shorter mask)");
            }
        }
        if (c.Networking.PodSubnet is { Length: > 0 } podText)
        {
            var pods = ParseCidrList(podText, $"{cc}.networking.podSubnet", "--pod-network-cidr", Err);
            var maskArg = c.ControllerManager.ExtraArgs.LastOrDefault(a => a.Name is "node-cidr-mask-size" or "node-cidr-mask-size-ipv4" or "node-cidr-mask-size-ipv6");
            var allocate = c.ControllerManager.ExtraArgs.LastOrDefault(a => a.Name == "allocate-node-cidrs")?.Value != "false";
            foreach (var n in pods)
            {
                var hostBits = n.Bits - n.Prefix;
                if (BigInteger.Pow(2, hostBits) < MinimumAddressesInPodSubnet)
                {
                    Err($"{cc}.networking.podSubnet", $"pod subnet \"{n}\" is too small; it must hold at least {MinimumAddressesInPodSubnet} addresses");
                    continue;
                }
                if (allocate)
                {
                    var nodeMask = NodeMask(c, n.Bits == 32);
                    if (n.Prefix > nodeMask)
                    {
                        Err($"{cc}.networking.podSubnet", $"pod subnet \"{n}\" is smaller than one node's /{nodeMask} range; use a /{nodeMask} or shorter mask{(maskArg is null ? "" : " or lower controllerManager node-cidr-mask-size")}");
                    }
                    else if (n.Bits == 128 && nodeMask - n.Prefix > 16)
                    {
                        Err($"{cc}.networking.podSubnet", $"pod subnet \"{n}\" is too large for /{nodeMask} node ranges (at most 16 bits difference); use a /{nodeMask - 16} or longer mask");
                    }
                }
                foreach (var s in svc.Where(s => s.Overlaps(n)))
                {
                    Err($"{cc}.networking.podSubnet", $"pod subnet \"{n}\" overlaps service subnet \"{s}\"; choose ranges that do not overlap (e.g. pods 10.244.0.0/16, services 10.96.0.0/12)");
                }
            }
        }
        if (!IsDns1123Subdomain(c.Networking.DnsDomain))
        {
            Err($"{cc}.networking.dnsDomain", $"\"{c.Networking.DnsDomain}\" is not a valid DNS domain; use lower-case letters, digits, '-' and '.' (e.g. cluster.local)");
        }

        // node
        var name = i.NodeRegistration.Name;
        if (!IsDns1123Subdomain(name))
        {
            Err($"{ic}.nodeRegistration.name", $"node name \"{name}\" is not valid; it must be a lower-case RFC 1123 subdomain (letters, digits, '-', '.'), e.g. \"{Suggestion(name)}\"");
        }
        if (i.NodeRegistration.ImagePullPolicy is not ("Always" or "IfNotPresent" or "Never"))
        {
            Err($"{ic}.nodeRegistration.imagePullPolicy", $"\"{i.NodeRegistration.ImagePullPolicy}\" is not an image pull policy; use Always, IfNotPresent or Never");
        }
        foreach (var (t, idx) in (i.NodeRegistration.Taints ?? []).Select((t, idx) => (t, idx)))
        {
            if (t.Key.Length == 0 || t.Effect is not ("NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            {
                Err($"{ic}.nodeRegistration.taints[{idx}]", $"taint \"{t}\" needs a key and an effect of NoSchedule, PreferNoSchedule or NoExecute");
            }
        }

        // endpoints
        var adv = i.LocalApiEndpoint.AdvertiseAddress;
        if (adv.Length > 0 && !IsIp(adv))
        {
            Err($"{ic}.localAPIEndpoint.advertiseAddress", $"\"{adv}\" is not an IP address; use this node's IP (e.g. 192.168.1.10)");
        }
        if (i.LocalApiEndpoint.BindPort is < 1 or > 65535)
        {
            Err($"{ic}.localAPIEndpoint.bindPort", $"port {i.LocalApiEndpoint.BindPort} is out of range; use 1-65535 (default 6443)");
        }
        if (c.ControlPlaneEndpoint.Length > 0 && ValidateHostPort(c.ControlPlaneEndpoint) is { } why)
        {
            Err($"{cc}.controlPlaneEndpoint", $"\"{c.ControlPlaneEndpoint}\" is not a valid endpoint ({why}); use host or host:port, e.g. cp.example.com:6443 or 10.0.0.10:6443");
        }

        // version-dependent fields
        var p = cfg.Profile;
        if (!p.EncryptionAlgorithms.Contains(c.EncryptionAlgorithm))
        {
            Err($"{cc}.encryptionAlgorithm", $"\"{c.EncryptionAlgorithm}\" is not supported by kubeadm v1.{p.Minor}; use one of {string.Join(", ", p.EncryptionAlgorithms)}");
        }
        if (c.CertificateValidityPeriod <= TimeSpan.Zero)
        {
            Err($"{cc}.certificateValidityPeriod", $"{GoDuration.Format(c.CertificateValidityPeriod)} must be positive (default 8760h0m0s)");
        }
        if (c.CaCertificateValidityPeriod <= TimeSpan.Zero)
        {
            Err($"{cc}.caCertificateValidityPeriod", $"{GoDuration.Format(c.CaCertificateValidityPeriod)} must be positive (default 87600h0m0s)");
        }
        else if (c.CertificateValidityPeriod > c.CaCertificateValidityPeriod)
        {
            Warn($"{cc}.certificateValidityPeriod", $"{GoDuration.Format(c.CertificateValidityPeriod)} is longer than caCertificateValidityPeriod {GoDuration.Format(c.CaCertificateValidityPeriod)}");
        }

        // paths and etcd
        if (!c.CertificatesDir.StartsWith('/'))
        {
            Err($"{cc}.certificatesDir", $"\"{c.CertificatesDir}\" is not an absolute path; use e.g. /etc/kubernetes/pki");
        }
        if (c.Etcd.Local is { } local && !local.DataDir.StartsWith('/'))
        {
            Err($"{cc}.etcd.local.dataDir", $"\"{local.DataDir}\" is not an absolute path; use e.g. /var/lib/etcd");
        }
        if (c.Etcd.External is { } ext)
        {
            if (c.Etcd.Local is not null)
            {
                Err($"{cc}.etcd", "local and external etcd are both set; keep only one of etcd.local and etcd.external");
            }
            if (ext.Endpoints.Count == 0)
            {
                Err($"{cc}.etcd.external.endpoints", "no endpoints; list the external etcd URLs (e.g. https://10.0.0.5:2379)");
            }
            foreach (var e in ext.Endpoints.Where(e => !Uri.TryCreate(e, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
            {
                Err($"{cc}.etcd.external.endpoints", $"\"{e}\" is not an http(s) URL; write e.g. https://10.0.0.5:2379");
            }
            if ((ext.CertFile.Length == 0) != (ext.KeyFile.Length == 0))
            {
                Err($"{cc}.etcd.external", "certFile and keyFile must be given together");
            }
        }

        // SANs: kubeadm only rejects them when generating certificates; warn early
        var sanLists = new (string Path, List<string> Values)[]
        {
            ($"{cc}.apiServer.certSANs", c.ApiServer.CertSans),
            ($"{cc}.etcd.local.serverCertSANs", c.Etcd.Local?.ServerCertSans ?? []),
            ($"{cc}.etcd.local.peerCertSANs", c.Etcd.Local?.PeerCertSans ?? []),
        };
        foreach (var (path, values) in sanLists)
        {
            foreach (var san in values.Where(s => !IsIp(s) && !IsDns1123Subdomain(s) && !WildcardSubdomain().IsMatch(s)))
            {
                Warn(path, $"\"{san}\" is neither an IP address nor a DNS name and will not be a valid SAN; use lower-case DNS names or IPs");
            }
        }

        // bootstrap tokens
        for (var t = 0; t < i.BootstrapTokens.Count; t++)
        {
            var tok = i.BootstrapTokens[t];
            var path = $"{ic}.bootstrapTokens[{t}]";
            if (tok.Token is { } secret && !TokenFormat().IsMatch(secret))
            {
                Err($"{path}.token", "the token does not match [a-z0-9]{6}.[a-z0-9]{16}; use e.g. abcdef.0123456789abcdef or leave it empty to generate one");
            }
            if (tok.Ttl is { } ttl && ttl < TimeSpan.Zero)
            {
                Err($"{path}.ttl", $"{GoDuration.Format(ttl)} is negative; use a positive duration or 0 for a token that never expires");
            }
            foreach (var u in tok.Usages.Where(u => u is not ("signing" or "authentication")))
            {
                Err($"{path}.usages", $"\"{u}\" is not a token usage; use signing and/or authentication");
            }
            foreach (var g in tok.Groups.Where(g => !TokenGroup().IsMatch(g)))
            {
                Err($"{path}.groups", $"\"{g}\" is not a bootstrap group; group names must match system:bootstrappers:[a-z0-9:-]{{0,255}}[a-z0-9]");
            }
        }
        if (i.CertificateKey is { Length: > 0 } key && !CertificateKey().IsMatch(key))
        {
            Err($"{ic}.certificateKey", "the certificate key must be 64 hex characters (a 32-byte AES key); leave it empty to generate one");
        }
    }

    private static int NodeMask(ClusterConfiguration c, bool ipv4)
    {
        var args = c.ControllerManager.ExtraArgs;
        var specific = args.LastOrDefault(a => a.Name == (ipv4 ? "node-cidr-mask-size-ipv4" : "node-cidr-mask-size-ipv6"));
        var generic = args.LastOrDefault(a => a.Name == "node-cidr-mask-size");
        var text = specific?.Value ?? generic?.Value;
        return text is not null && int.TryParse(text, out var m) ? m : ipv4 ? 24 : 64;
    }

    private static string Suggestion(string name)
    {
        var s = new string(name.ToLowerInvariant().Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.' ? ch : '-').ToArray()).Trim('-', '.');
        return s.Length == 0 ? "node-1" : s;
    }

    /// <summary>ValidateHostPort checks "host", "host:port" or "[v6]:port"; returns why it is invalid, or null.</summary>
    public static string? ValidateHostPort(string endpoint)
    {
        string host;
        string? port = null;
        if (endpoint.StartsWith('['))
        {
            var close = endpoint.IndexOf(']');
            if (close < 0)
            {
                return "missing ']'";
            }
            host = endpoint[1..close];
            var rest = endpoint[(close + 1)..];
            if (rest.Length > 0)
            {
                if (!rest.StartsWith(':'))
                {
                    return "unexpected text after ']'";
                }
                port = rest[1..];
            }
            if (!IPAddress.TryParse(host, out var a) || a.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return $"\"{host}\" is not an IPv6 address";
            }
        }
        else if (endpoint.Count(ch => ch == ':') > 1)
        {
            if (!IPAddress.TryParse(endpoint, out _))
            {
                return "an IPv6 address with a port must be written [addr]:port";
            }
            return null;
        }
        else
        {
            var colon = endpoint.IndexOf(':');
            host = colon < 0 ? endpoint : endpoint[..colon];
            port = colon < 0 ? null : endpoint[(colon + 1)..];
            if (!IsIp(host) && !IsDns1123Subdomain(host))
            {
                return $"\"{host}\" is neither an IP address nor a lower-case DNS name";
            }
        }
        if (port is not null && (!int.TryParse(port, out var n) || n is < 1 or > 65535))
        {
            return $"port \"{port}\" is not 1-65535";
        }
        return null;
    }

    private static List<Cidr> ParseCidrList(string text, string path, string flag, Action<string, string> err)
    {
        var list = new List<Cidr>();
        var parts = text.Split(',');
        foreach (var part in parts)
        {
            if (!Cidr.TryParse(part.Trim(), out var cidr))
            {
                err(path, $"\"{part.Trim()}\" is not a CIDR; write e.g. 10.96.0.0/12 (dual-stack: an IPv4 and an IPv6 CIDR separated by a comma)");
                return [];
            }
            list.Add(cidr);
        }
        if (list.Count > 2)
        {
            err(path, $"\"{text}\" has {list.Count} CIDRs; give one, or two for dual-stack (one IPv4, one IPv6)");
        }
        else if (list.Count == 2 && list[0].Bits == list[1].Bits)
        {
            err(path, $"\"{text}\" lists two IPv{(list[0].Bits == 32 ? 4 : 6)} CIDRs; dual-stack needs one IPv4 and one IPv6 CIDR");
        }
        return list;
    }
}

/// <summary>Cidr is a parsed IP network (address masked to its prefix).</summary>
public readonly record struct Cidr(IPAddress Network, int Prefix)
{
    public int Bits => Network.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    /// <summary>TryParse reads "a.b.c.d/n" or "v6/n" (the address must be given with its prefix).</summary>
    public static bool TryParse(string s, out Cidr cidr)
    {
        cidr = default;
        var slash = s.IndexOf('/');
        if (slash < 0 || !KubeadmValidation.IsIp(s[..slash]) || !IPAddress.TryParse(s[..slash], out var ip) || !int.TryParse(s[(slash + 1)..], out var prefix) || s.Contains(' '))
        {
            return false;
        }
        var bits = ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefix < 0 || prefix > bits || (ip.AddressFamily == AddressFamily.InterNetwork && s[..slash].Count(ch => ch == '.') != 3))
        {
            return false;
        }
        cidr = new Cidr(Mask(ip, prefix), prefix);
        return true;
    }

    /// <summary>Overlaps is true when the two networks share an address.</summary>
    public bool Overlaps(Cidr other)
    {
        if (Bits != other.Bits)
        {
            return false;
        }
        var p = Math.Min(Prefix, other.Prefix);
        return Mask(Network, p).Equals(Mask(other.Network, p));
    }

    /// <summary>Nth returns the n-th address of the network (n = 1 is the API server VIP, 10 the DNS IP).</summary>
    public IPAddress Nth(int n)
    {
        var b = Network.GetAddressBytes();
        var v = new BigInteger(b, isUnsigned: true, isBigEndian: true) + n;
        var bytes = v.ToByteArray(isUnsigned: true, isBigEndian: true);
        var full = new byte[b.Length];
        Array.Copy(bytes, 0, full, full.Length - bytes.Length, bytes.Length);
        return new IPAddress(full);
    }

    private static IPAddress Mask(IPAddress ip, int prefix)
    {
        var b = ip.GetAddressBytes();
        for (var i = 0; i < b.Length; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            b[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(b);
    }

    public override string ToString() => $"{Network}/{Prefix}";
}
