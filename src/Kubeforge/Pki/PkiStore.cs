using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Pki;

/// <summary>Pem encodes and decodes certificates as Go does (one "CERTIFICATE" block, newline-terminated).</summary>
public static class Pem
{
    /// <summary>Cert encodes a certificate as a PEM block ending with a newline.</summary>
    public static string Cert(X509Certificate2 cert) => cert.ExportCertificatePem() + "\n";

    /// <summary>LoadCert reads the first CERTIFICATE block of pem; what names the source in errors.</summary>
    public static X509Certificate2 LoadCert(string pem, string what)
    {
        try
        {
            var span = pem.AsSpan();
            while (PemEncoding.TryFind(span, out var f))
            {
                if (span[f.Label].SequenceEqual("CERTIFICATE"))
                {
                    return X509CertificateLoader.LoadCertificate(Convert.FromBase64String(span[f.Base64Data].ToString()));
                }
                span = span[f.Location.End.GetOffset(span.Length)..];
            }
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            throw new UserError($"{what}: the certificate cannot be read ({e.Message}); replace or delete the file");
        }
        throw new UserError($"{what}: no CERTIFICATE PEM block found; replace or delete the file");
    }
}

/// <summary>PkiStore reads and writes certificate/key files under a certificate dir through an IHost, with
/// kubeadm's modes: certificates 0644, keys (and sa.pub) 0600, directories 0755.</summary>
public static class PkiStore
{
    /// <summary>CertPath is "DIR/BASE.crt".</summary>
    public static string CertPath(string dir, string baseName) => NodePaths.Join(dir, baseName + ".crt");

    /// <summary>KeyPath is "DIR/BASE.key".</summary>
    public static string KeyPath(string dir, string baseName) => NodePaths.Join(dir, baseName + ".key");

    /// <summary>LoadCertAsync returns the certificate at path, or null when the file does not exist.</summary>
    public static async Task<X509Certificate2?> LoadCertAsync(IHost host, string path, CancellationToken ct = default)
    {
        var bytes = await host.ReadFileAsync(path, ct).ConfigureAwait(false);
        return bytes is null ? null : Pem.LoadCert(Encoding.UTF8.GetString(bytes), path);
    }

    /// <summary>LoadKeyAsync returns the private key at path, or null when the file does not exist.</summary>
    public static async Task<AsymmetricAlgorithm?> LoadKeyAsync(IHost host, string path, CancellationToken ct = default)
    {
        var bytes = await host.ReadFileAsync(path, ct).ConfigureAwait(false);
        return bytes is null ? null : Keys.FromPem(Encoding.UTF8.GetString(bytes), path);
    }

    /// <summary>LoadCaAsync loads a CA's certificate and (when present) key; null when the certificate is missing.</summary>
    public static async Task<(X509Certificate2 Cert, AsymmetricAlgorithm? Key)?> LoadCaAsync(IHost host, string dir, string baseName, CancellationToken ct = default)
    {
        var cert = await LoadCertAsync(host, CertPath(dir, baseName), ct).ConfigureAwait(false);
        if (cert is null)
        {
            return null;
        }
        if (!CertFactory.IsCa(cert))
        {
            throw new UserError($"{CertPath(dir, baseName)} is not a certificate authority (no CA:TRUE); replace it with a CA certificate or delete it");
        }
        var key = await LoadKeyAsync(host, KeyPath(dir, baseName), ct).ConfigureAwait(false);
        if (key is not null && !Keys.PublicKeyMatches(cert, key))
        {
            throw new UserError($"{KeyPath(dir, baseName)} does not belong to {CertPath(dir, baseName)}; restore the matching key or delete both files");
        }
        return (cert, key);
    }

    /// <summary>WriteCertAndKeyAsync writes BASE.key (0600) then BASE.crt (0644), skipping identical files.</summary>
    public static async Task WriteCertAndKeyAsync(IHost host, string dir, string baseName, CertAndKey ck, CancellationToken ct = default)
    {
        await host.WriteIfChangedAsync(KeyPath(dir, baseName), Encoding.UTF8.GetBytes(ck.KeyPem), FileModes.Private, FileModes.Dir, ct).ConfigureAwait(false);
        await host.WriteIfChangedAsync(CertPath(dir, baseName), Encoding.UTF8.GetBytes(ck.CertPem), FileModes.Public, FileModes.Dir, ct).ConfigureAwait(false);
    }
}
