using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kubeforge.Phases;

namespace Kubeforge.Pki;

/// <summary>PubKeyPin is kubeadm's discovery-token-ca-cert-hash (spec/kubeadm.md §8): "sha256:" + lowercase hex of
/// SHA-256 over the CA certificate's DER SubjectPublicKeyInfo.</summary>
public static class PubKeyPin
{
    /// <summary>Hash returns "sha256:&lt;64 hex&gt;" for a certificate's public key.</summary>
    public static string Hash(X509Certificate2 cert) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo()));

    /// <summary>Parse validates "format:hex" (format case-insensitive, only sha256, 64 hex digits) and returns the
    /// canonical "sha256:&lt;lowercase hex&gt;".</summary>
    public static string Parse(string pin)
    {
        var i = pin.IndexOf(':');
        if (i < 0)
        {
            throw new UserError($"invalid hash \"{pin}\", expected \"format:hex-value\" (e.g. sha256:<64 hex digits>)");
        }
        var format = pin[..i].ToLowerInvariant();
        var value = pin[(i + 1)..];
        if (format != "sha256")
        {
            throw new UserError($"unknown hash format \"{pin[..i]}\"; known format(s) are: sha256");
        }
        if (value.Length != 64 || !value.All(char.IsAsciiHexDigit))
        {
            throw new UserError($"hash value \"{value}\" is not 64 hex digits; copy the sha256:... value from the join command");
        }
        return "sha256:" + value.ToLowerInvariant();
    }

    /// <summary>TryParse is Parse without the exception.</summary>
    public static bool TryParse(string pin, out string canonical)
    {
        try
        {
            canonical = Parse(pin);
            return true;
        }
        catch (UserError)
        {
            canonical = "";
            return false;
        }
    }

    /// <summary>Matches tells whether cert's public key hash is one of pins (each parsed with <see cref="Parse"/>).</summary>
    public static bool Matches(X509Certificate2 cert, IEnumerable<string> pins)
    {
        var h = Hash(cert);
        return pins.Any(p => Parse(p) == h);
    }
}
