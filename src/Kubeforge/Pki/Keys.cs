using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kubeforge.Phases;

namespace Kubeforge.Pki;

/// <summary>Keys generates, encodes and loads private keys the way kubeadm does (spec/kubeadm.md §2.5, §2.6):
/// RSA keys as PKCS#1 "RSA PRIVATE KEY", ECDSA keys as SEC1 "EC PRIVATE KEY", public keys as PKIX "PUBLIC KEY".</summary>
public static class Keys
{
    /// <summary>Algorithms are the encryptionAlgorithm values Kubeforge can generate.</summary>
    public static readonly IReadOnlyList<string> Algorithms = ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"];

    /// <summary>Generate makes a new key for an encryptionAlgorithm value ("" means RSA-2048).</summary>
    public static AsymmetricAlgorithm Generate(string? algorithm) => (algorithm ?? "").ToUpperInvariant() switch
    {
        "" or "RSA-2048" => RSA.Create(2048),
        "RSA-3072" => RSA.Create(3072),
        "RSA-4096" => RSA.Create(4096),
        "ECDSA-P256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        "ECDSA-P384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        _ => throw new UserError($"encryptionAlgorithm \"{algorithm}\" is not supported; use one of {string.Join(", ", Algorithms)}"),
    };

    /// <summary>ToPem encodes a private key as kubeadm writes it (PKCS#1 for RSA, SEC1 for ECDSA).</summary>
    public static string ToPem(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => rsa.ExportRSAPrivateKeyPem() + "\n",
        ECDsa ec => ec.ExportECPrivateKeyPem() + "\n",
        _ => throw new ArgumentException($"unsupported key type {key.GetType().Name}"),
    };

    /// <summary>PublicPem encodes the public half as a PKIX "PUBLIC KEY" block (the format of sa.pub).</summary>
    public static string PublicPem(AsymmetricAlgorithm key) => key.ExportSubjectPublicKeyInfoPem() + "\n";

    /// <summary>FromPem loads a private key from PEM (PKCS#1, SEC1 or PKCS#8); what names the file in errors.</summary>
    public static AsymmetricAlgorithm FromPem(string pem, string what)
    {
        foreach (var label in new[] { "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY" })
        {
            if (!pem.Contains($"-----BEGIN {label}-----", StringComparison.Ordinal))
            {
                continue;
            }
            try
            {
                if (label == "RSA PRIVATE KEY")
                {
                    return Import(RSA.Create(), pem);
                }
                if (label == "EC PRIVATE KEY")
                {
                    return Import(ECDsa.Create(), pem);
                }
                try
                {
                    return Import(RSA.Create(), pem);
                }
                catch (CryptographicException)
                {
                    return Import(ECDsa.Create(), pem);
                }
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw new UserError($"{what}: the private key cannot be read ({e.Message}); replace or delete the file");
            }
        }
        throw new UserError($"{what}: no PEM private key found (expected RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY); replace or delete the file");
    }

    private static T Import<T>(T key, string pem) where T : AsymmetricAlgorithm
    {
        key.ImportFromPem(pem);
        return key;
    }

    /// <summary>SignatureGenerator signs with key the way Go does by default: SHA256-RSA (PKCS#1 v1.5) for
    /// RSA; ECDSA with SHA-256 for P-256 and SHA-384 for P-384.</summary>
    public static X509SignatureGenerator SignatureGenerator(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        _ => throw new ArgumentException($"unsupported key type {key.GetType().Name}"),
    };

    /// <summary>HashFor is the hash Go pairs with a signing key (SHA-384 for P-384, else SHA-256).</summary>
    public static HashAlgorithmName HashFor(AsymmetricAlgorithm key) =>
        key is ECDsa { KeySize: 384 } ? HashAlgorithmName.SHA384 : key is ECDsa { KeySize: 521 } ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;

    /// <summary>PublicKeyMatches tells whether key is the private half of cert's public key.</summary>
    public static bool PublicKeyMatches(X509Certificate2 cert, AsymmetricAlgorithm key) =>
        cert.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo());

    /// <summary>Describe names a key's type for messages ("RSA-2048", "ECDSA-P256").</summary>
    public static string Describe(AsymmetricAlgorithm key) => key switch
    {
        RSA r => $"RSA-{r.KeySize}",
        ECDsa e => $"ECDSA-P{e.KeySize}",
        _ => key.GetType().Name,
    };
}
