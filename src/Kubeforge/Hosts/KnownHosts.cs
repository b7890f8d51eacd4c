using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Kubeforge.Hosts;

/// <summary>HostKeyVerdict is what a known_hosts file says about a host's key.</summary>
public enum HostKeyVerdict
{
    /// <summary>Known: an entry for the host holds exactly this key.</summary>
    Known,
    /// <summary>Unknown: no entry for the host holds a key of this type.</summary>
    Unknown,
    /// <summary>Changed: the host has an entry of this key type with a different key.</summary>
    Changed,
    /// <summary>Revoked: the key is marked @revoked.</summary>
    Revoked,
}

/// <summary>HostKeyCheck is a verdict plus, for Changed, the line and fingerprint of the recorded key.</summary>
public sealed record HostKeyCheck(HostKeyVerdict Verdict, int Line = 0, string? KnownFingerprint = null);

/// <summary>KnownHosts reads an OpenSSH known_hosts file (plain, wildcard, negated, hashed "|1|salt|hash" and
/// "[host]:port" names, @revoked markers) and compares host key BLOBS, never algorithm names: an "ssh-rsa"
/// entry matches a key the server offered under the rsa-sha2-512 algorithm.</summary>
public sealed class KnownHosts
{
    private sealed record Entry(int Line, string? Marker, string[] Patterns, string KeyType, byte[] Blob);

    private readonly List<Entry> _entries = [];

    /// <summary>Path is the file this was read from (null when parsed from text).</summary>
    public string? Path { get; }

    private KnownHosts(string? path) => Path = path;

    /// <summary>Load reads a known_hosts file; a missing file is an empty list.</summary>
    public static KnownHosts Load(string path) =>
        Parse(File.Exists(path) ? File.ReadAllText(path) : "", path);

    /// <summary>Parse reads known_hosts text; malformed lines are ignored as OpenSSH does.</summary>
    public static KnownHosts Parse(string text, string? path = null)
    {
        var kh = new KnownHosts(path);
        var n = 0;
        foreach (var raw in text.Split('\n'))
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            string? marker = null;
            if (f.Length > 0 && f[0].StartsWith('@'))
            {
                marker = f[0];
                f = f[1..];
            }
            if (f.Length < 3)
            {
                continue;
            }
            byte[] blob;
            try
            {
                blob = Convert.FromBase64String(f[2]);
            }
            catch (FormatException)
            {
                continue;
            }
            kh._entries.Add(new Entry(n, marker, f[0].Split(','), f[1], blob));
        }
        return kh;
    }

    /// <summary>HostPattern is the name OpenSSH stores for host and port: "host" for port 22, else "[host]:port".</summary>
    public static string HostPattern(string host, int port) => port == 22 ? host : $"[{host}]:{port}";

    /// <summary>KeyType reads the key type name embedded at the start of a public key blob ("ssh-ed25519").</summary>
    public static string KeyType(byte[] blob)
    {
        if (blob.Length < 4)
        {
            return "";
        }
        var len = BinaryPrimitives.ReadUInt32BigEndian(blob);
        return len <= blob.Length - 4 ? Encoding.ASCII.GetString(blob, 4, (int)len) : "";
    }

    /// <summary>Fingerprint formats a key blob as OpenSSH does: "SHA256:" + unpadded base64 of its SHA-256.</summary>
    public static string Fingerprint(byte[] blob) => "SHA256:" + Convert.ToBase64String(SHA256.HashData(blob)).TrimEnd('=');

    /// <summary>Check looks up host:port with the key blob the server offered.</summary>
    public HostKeyCheck Check(string host, int port, byte[] blob)
    {
        var name = HostPattern(host, port);
        var type = KeyType(blob);
        HostKeyCheck? changed = null;
        var known = false;
        foreach (var e in _entries)
        {
            if (e.Marker == "@cert-authority" || !Matches(e.Patterns, name))
            {
                continue;
            }
            var same = e.Blob.AsSpan().SequenceEqual(blob);
            if (e.Marker == "@revoked")
            {
                if (same)
                {
                    return new HostKeyCheck(HostKeyVerdict.Revoked, e.Line);
                }
                continue;
            }
            if (same)
            {
                known = true;
            }
            else if (KeyType(e.Blob) == type)
            {
                changed ??= new HostKeyCheck(HostKeyVerdict.Changed, e.Line, Fingerprint(e.Blob));
            }
        }
        return known ? new HostKeyCheck(HostKeyVerdict.Known) : changed ?? new HostKeyCheck(HostKeyVerdict.Unknown);
    }

    /// <summary>Append adds a plain entry for host:port to the file (created with mode 0600, its folder 0700).</summary>
    public static void Append(string path, string host, int port, byte[] blob)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var line = $"{HostPattern(host, port)} {KeyType(blob)} {Convert.ToBase64String(blob)}\n";
        var needsNewline = File.Exists(path) && new FileInfo(path).Length > 0 && !File.ReadAllText(path).EndsWith('\n');
        using var fs = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        fs.Write(Encoding.ASCII.GetBytes((needsNewline ? "\n" : "") + line));
    }

    private static bool Matches(string[] patterns, string name)
    {
        var hit = false;
        foreach (var p in patterns)
        {
            if (p.StartsWith("|1|", StringComparison.Ordinal))
            {
                hit |= HashedMatch(p, name);
            }
            else if (p.StartsWith('!'))
            {
                if (Glob(p[1..], name))
                {
                    return false;
                }
            }
            else
            {
                hit |= Glob(p, name);
            }
        }
        return hit;
    }

    private static bool HashedMatch(string pattern, string name)
    {
        var parts = pattern.Split('|');
        if (parts.Length != 4)
        {
            return false;
        }
        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var want = Convert.FromBase64String(parts[3]);
            return CryptographicOperations.FixedTimeEquals(HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(name)), want);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Glob matches OpenSSH host patterns: '*' any run, '?' one character, case-insensitive.</summary>
    private static bool Glob(string p, string s)
    {
        int pi = 0, si = 0, star = -1, mark = 0;
        while (si < s.Length)
        {
            if (pi < p.Length && (p[pi] == '?' || char.ToLowerInvariant(p[pi]) == char.ToLowerInvariant(s[si])))
            {
                pi++;
                si++;
            }
            else if (pi < p.Length && p[pi] == '*')
            {
                star = pi++;
                mark = si;
            }
            else if (star >= 0)
            {
                pi = star + 1;
                si = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (pi < p.Length && p[pi] == '*')
        {
            pi++;
        }
        return pi == p.Length;
    }
}
