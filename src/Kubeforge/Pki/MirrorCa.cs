using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;

namespace Kubeforge.Pki;

/// <summary>MirrorCa is the guide's §8: a private CA for a registry mirror, server certificates signed by it, and trusting it on
/// nodes (the OS trust store of the family and containerd's hosts.toml `ca`). The CA folder holds ca.crt and ca.key (0600).</summary>
public static class MirrorCa
{
    public const string CertName = "ca.crt";
    public const string KeyName = "ca.key";

    /// <summary>Create makes a self-signed CA (RSA-2048 unless another key algorithm is named) valid for days from now.</summary>
    public static CertAndKey Create(string commonName, int days, DateTimeOffset now, string? algorithm = null)
    {
        var key = Keys.Generate(algorithm ?? "RSA-2048");
        var subject = new CertSubject(commonName, [], CertUsage.None, AltNames.None);
        return new CertAndKey(CertFactory.CreateCa(subject, key, now - CertFactory.Backdate, now.AddDays(days), RandomSerial()), key);
    }

    /// <summary>Issue signs a server certificate for commonName with the given SANs (DNS names, wildcards or IPs).</summary>
    public static CertAndKey Issue(CertAndKey ca, string commonName, IEnumerable<string> sans, int days, DateTimeOffset now, string? algorithm = null)
    {
        var dns = new List<string>();
        var ips = new List<System.Net.IPAddress>();
        foreach (var s in sans.Append(commonName).Distinct(StringComparer.Ordinal))
        {
            if (AltNames.TryParseIp(s, out var ip))
            {
                ips.Add(ip);
            }
            else if (AltNames.IsDnsSubdomain(s) || AltNames.IsWildcardSubdomain(s))
            {
                dns.Add(s);
            }
            else
            {
                throw new UserError($"--san: \"{s}\" is neither an IP address nor a DNS name; give names like registry.example.cn, *.k8s.io or 10.0.0.5");
            }
        }
        var key = Keys.Generate(algorithm ?? "RSA-2048");
        var notAfter = now.AddDays(days) < ca.Cert.NotAfter ? now.AddDays(days) : new DateTimeOffset(ca.Cert.NotAfter.ToUniversalTime());
        var subject = new CertSubject(commonName, [], CertUsage.ServerAuth, new AltNames(dns, ips));
        return new CertAndKey(CertFactory.CreateSigned(subject, key, ca.Cert, ca.Key, now - CertFactory.Backdate, notAfter, RandomSerial()), key);
    }

    private static byte[] RandomSerial()
    {
        var b = RandomNumberGenerator.GetBytes(16);
        b[0] &= 0x7F;
        b[0] |= 0x01;
        return b;
    }

    /// <summary>FileBase names the files of an issued certificate ("*.k8s.io" → "wildcard.k8s.io").</summary>
    public static string FileBase(string commonName) => commonName.Replace("*", "wildcard").Replace('/', '_').Replace(' ', '_');

    /// <summary>WriteLocal writes cert (0644) and key (0600, created with that mode) into dir on this machine; existing files are
    /// refused so a CA is never silently replaced.</summary>
    public static (string Cert, string Key) WriteLocal(string dir, string baseName, CertAndKey ck, bool overwrite = false)
    {
        Directory.CreateDirectory(dir);
        var cert = Path.Join(dir, baseName + ".crt");
        var key = Path.Join(dir, baseName + ".key");
        if (!overwrite && (File.Exists(cert) || File.Exists(key)))
        {
            throw new UserError($"{cert} or {key} already exists; choose another --out folder or remove them first");
        }
        File.Delete(key);
        using (var fs = new FileStream(key, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            fs.Write(Encoding.ASCII.GetBytes(ck.KeyPem));
        }
        File.WriteAllText(cert, ck.CertPem);
        File.SetUnixFileMode(cert, (UnixFileMode)FileModes.Public);
        return (cert, key);
    }

    /// <summary>LoadLocal reads ca.crt and ca.key of a CA folder.</summary>
    public static CertAndKey LoadLocal(string dir)
    {
        var cert = Path.Join(dir, CertName);
        var key = Path.Join(dir, KeyName);
        if (!File.Exists(cert) || !File.Exists(key))
        {
            throw new UserError($"--ca: {dir} has no {CertName} and {KeyName}; create the CA first with `kubeforge ca create --out {dir}`");
        }
        var c = X509Certificate2.CreateFromPem(File.ReadAllText(cert));
        if (!CertFactory.IsCa(c))
        {
            throw new UserError($"--ca: {cert} is not a CA certificate");
        }
        var k = Keys.FromPem(File.ReadAllText(key), key);
        if (!Keys.PublicKeyMatches(c, k))
        {
            throw new UserError($"--ca: {key} does not belong to {cert}");
        }
        return new CertAndKey(c, k);
    }

    /// <summary>TrustTarget is where a family's trust store takes a CA file and the command that refreshes it.</summary>
    public static (string Path, IReadOnlyList<string> Refresh) TrustTarget(OsFamily family, string name) => family == OsFamily.Rpm
        ? ($"/etc/pki/ca-trust/source/anchors/{name}.crt", ["update-ca-trust", "extract"])
        : ($"/usr/local/share/ca-certificates/{name}.crt", ["update-ca-certificates"]);

    /// <summary>TrustAsync installs caPem into the host's trust store (refreshing it only when the file changed) and, with a
    /// registry, writes /etc/containerd/certs.d/&lt;registry&gt;/ca.crt and a hosts.toml naming it (endpoint https://registry).</summary>
    public static async Task<IReadOnlyList<PrepStep>> TrustAsync(IHost host, OsFamily family, string caPem, string name, string? registry, CancellationToken ct = default)
    {
        var steps = new List<PrepStep>();
        var (path, refresh) = TrustTarget(family, name);
        var wrote = await host.WriteIfChangedAsync(path, Encoding.ASCII.GetBytes(caPem), FileModes.Public, ct: ct).ConfigureAwait(false);
        if (wrote)
        {
            var r = await host.RunAsync(refresh, null, ct).ConfigureAwait(false);
            steps.Add(new PrepStep("ca-trust", true, $"wrote {path}; " + (r.Ok ? $"ran {ShellQuote.Join(refresh)}" : $"{refresh[0]} failed: {OsPrep.FirstLine(r.Stderr)}"), !r.Ok));
        }
        else
        {
            steps.Add(new PrepStep("ca-trust", false, $"{path} up to date"));
        }
        if (registry is not null)
        {
            var caPath = $"{Containerd.CertsDir}/{registry}/ca.crt";
            var a = await host.WriteIfChangedAsync(caPath, Encoding.ASCII.GetBytes(caPem), FileModes.Public, ct: ct).ConfigureAwait(false);
            var hosts = Containerd.RenderHostsToml(new RegistryMirror(registry, $"https://{registry}", caPath));
            var b = await host.WriteIfChangedAsync(Containerd.HostsTomlPath(registry), Encoding.UTF8.GetBytes(hosts), FileModes.Public, ct: ct).ConfigureAwait(false);
            steps.Add(new PrepStep("containerd-ca", a || b, a || b ? $"wrote {caPath} and {Containerd.HostsTomlPath(registry)}" : $"containerd trusts the CA for {registry}"));
        }
        return steps;
    }
}
