using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kubeforge.Config;
using Kubeforge.Versions;

namespace Kubeforge.Pki;

/// <summary>CertSubject is what a certificate says: CN, O, extended key usage and SANs (already normalized).</summary>
public sealed record CertSubject(string CommonName, IReadOnlyList<string> Organizations, CertUsage Usage, AltNames AltNames);

/// <summary>CertAndKey is a certificate with its private key.</summary>
public sealed record CertAndKey(X509Certificate2 Cert, AsymmetricAlgorithm Key)
{
    /// <summary>CertPem is the "CERTIFICATE" PEM block (newline-terminated, like Go's pem.Encode).</summary>
    public string CertPem => Pem.Cert(Cert);

    /// <summary>KeyPem is the key as kubeadm writes it.</summary>
    public string KeyPem => Keys.ToPem(Key);
}

/// <summary>CertFactory makes certificates the way kubeadm's pkiutil does with Go's x509.CreateCertificate
/// (spec/kubeadm.md §2.4): subject of O then CN only, critical KeyUsage and BasicConstraints, a Subject Key
/// Identifier on CAs and an Authority Key Identifier on signed certificates, serials and validity by the
/// version's <see cref="PkiTimeModel"/>. Pure: no I/O; the clock is the caller's "now".</summary>
public static class CertFactory
{
    /// <summary>Backdate is kubeadm's CertificateBackdate.</summary>
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    /// <summary>CaValidity returns a new CA's NotBefore/NotAfter for the config's time model.</summary>
    public static (DateTimeOffset NotBefore, DateTimeOffset NotAfter) CaValidity(KubeadmConfig cfg, DateTimeOffset now)
    {
        now = Trunc(now);
        var period = cfg.Cluster.CaCertificateValidityPeriod;
        return cfg.Profile.PkiTimeModel switch
        {
            PkiTimeModel.Legacy => (now, now + period),
            _ => (now - Backdate, now + period),
        };
    }

    /// <summary>LeafValidity returns a signed certificate's NotBefore/NotAfter: Legacy and Backdated take the CA's
    /// NotBefore and now + validity; Configurable takes now − 5 min and now + validity.</summary>
    public static (DateTimeOffset NotBefore, DateTimeOffset NotAfter) LeafValidity(KubeadmConfig cfg, DateTimeOffset now, X509Certificate2 ca)
    {
        now = Trunc(now);
        var period = cfg.Cluster.CertificateValidityPeriod;
        return cfg.Profile.PkiTimeModel switch
        {
            PkiTimeModel.Configurable => (now - Backdate, now + period),
            _ => (new DateTimeOffset(ca.NotBefore.ToUniversalTime(), TimeSpan.Zero), now + period),
        };
    }

    /// <summary>Serial returns big-endian serial bytes: 0 for a Legacy CA, else a random number in [1, 2^63−1).</summary>
    public static byte[] Serial(bool isCa, PkiTimeModel model)
    {
        if (isCa && model == PkiTimeModel.Legacy)
        {
            return [0];
        }
        Span<byte> b = stackalloc byte[8];
        BigInteger v;
        do
        {
            RandomNumberGenerator.Fill(b);
            b[0] &= 0x7F;
            v = new BigInteger(b, isUnsigned: true, isBigEndian: true);
        }
        while (v.IsZero || v == long.MaxValue);
        return v.ToByteArray(isUnsigned: true, isBigEndian: true);
    }

    /// <summary>NewCa makes a self-signed CA for a table row with a fresh key of the configured algorithm.</summary>
    public static CertAndKey NewCa(CertSpec row, KubeadmConfig cfg, DateTimeOffset now)
    {
        var key = Keys.Generate(cfg.Cluster.EncryptionAlgorithm);
        var (nb, na) = CaValidity(cfg, now);
        var cn = row.CommonName(cfg);
        var subject = new CertSubject(cn, row.Organizations(cfg), CertUsage.None, new AltNames([cn], []));
        return new CertAndKey(CreateCa(subject, key, nb, na, Serial(true, cfg.Profile.PkiTimeModel)), key);
    }

    /// <summary>NewSigned makes a certificate for subject signed by ca, with a fresh key of the configured algorithm.</summary>
    public static CertAndKey NewSigned(CertSubject subject, KubeadmConfig cfg, CertAndKey ca, DateTimeOffset now)
    {
        var key = Keys.Generate(cfg.Cluster.EncryptionAlgorithm);
        var (nb, na) = LeafValidity(cfg, now, ca.Cert);
        return new CertAndKey(CreateSigned(subject, key, ca.Cert, ca.Key, nb, na, Serial(false, cfg.Profile.PkiTimeModel)), key);
    }

    /// <summary>CreateCa builds a self-signed CA certificate (KeyUsage digitalSignature, keyEncipherment, keyCertSign;
    /// CA:TRUE; SKI; SAN DNS = CN).</summary>
    public static X509Certificate2 CreateCa(CertSubject subject, AsymmetricAlgorithm key, DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] serial)
    {
        var pub = new PublicKey(key);
        var req = new CertificateRequest(Name(subject), pub, Keys.HashFor(key));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyCertSign, critical: true));
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(pub, critical: false));
        AddSans(req, subject.AltNames);
        return req.Create(req.SubjectName, Keys.SignatureGenerator(key), Trunc(notBefore), Trunc(notAfter), serial);
    }

    /// <summary>CreateSigned builds a certificate signed by caCert/caKey (KeyUsage digitalSignature, keyEncipherment;
    /// CA:FALSE; EKU; AKI = the CA's SKI when it has one; SANs). Any key type may sign any other.</summary>
    public static X509Certificate2 CreateSigned(CertSubject subject, AsymmetricAlgorithm key, X509Certificate2 caCert, AsymmetricAlgorithm caKey,
        DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] serial)
    {
        var req = new CertificateRequest(Name(subject), new PublicKey(key), Keys.HashFor(caKey));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        var eku = new OidCollection();
        if (subject.Usage.HasFlag(CertUsage.ServerAuth))
        {
            eku.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        }
        if (subject.Usage.HasFlag(CertUsage.ClientAuth))
        {
            eku.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        }
        if (eku.Count > 0)
        {
            req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(eku, critical: false));
        }
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        if (SubjectKeyId(caCert) is { } ski)
        {
            req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        }
        AddSans(req, subject.AltNames);
        return req.Create(caCert.SubjectName, Keys.SignatureGenerator(caKey), Trunc(notBefore), Trunc(notAfter), serial);
    }

    /// <summary>SubjectKeyId returns a certificate's Subject Key Identifier bytes (null when absent).</summary>
    public static byte[]? SubjectKeyId(X509Certificate2 cert) =>
        cert.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()?.SubjectKeyIdentifierBytes.ToArray();

    /// <summary>AuthorityKeyId returns a certificate's Authority Key Identifier key id (null when absent).</summary>
    public static byte[]? AuthorityKeyId(X509Certificate2 cert) =>
        cert.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().FirstOrDefault()?.KeyIdentifier?.ToArray();

    /// <summary>SubjectOf reads CN, O, EKU and SANs back from a certificate (for renewal and checks).</summary>
    public static CertSubject SubjectOf(X509Certificate2 cert)
    {
        string cn = "";
        var orgs = new List<string>();
        foreach (var rdn in cert.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            var oid = rdn.GetSingleElementType().Value;
            var v = rdn.GetSingleElementValue() ?? "";
            if (oid == "2.5.4.3") cn = v;
            else if (oid == "2.5.4.10") orgs.Add(v);
        }
        var usage = CertUsage.None;
        foreach (var e in cert.Extensions.OfType<X509EnhancedKeyUsageExtension>())
        {
            foreach (var o in e.EnhancedKeyUsages)
            {
                usage |= o.Value switch { "1.3.6.1.5.5.7.3.1" => CertUsage.ServerAuth, "1.3.6.1.5.5.7.3.2" => CertUsage.ClientAuth, _ => CertUsage.None };
            }
        }
        var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        var alt = san is null ? AltNames.None : new AltNames(san.EnumerateDnsNames().ToList(), san.EnumerateIPAddresses().ToList());
        return new CertSubject(cn, orgs, usage, alt);
    }

    /// <summary>IsCa tells whether a certificate has BasicConstraints CA:TRUE.</summary>
    public static bool IsCa(X509Certificate2 cert) =>
        cert.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);

    /// <summary>VerifiesWith checks cert's signature with issuer's public key (kubeadm CheckSignatureFrom).</summary>
    public static bool VerifiesWith(X509Certificate2 cert, X509Certificate2 issuer)
    {
        if (!cert.IssuerName.RawData.AsSpan().SequenceEqual(issuer.SubjectName.RawData))
        {
            return false;
        }
        var reader = new AsnReader(cert.RawData, AsnEncodingRules.DER).ReadSequence();
        var tbs = reader.ReadEncodedValue();
        var alg = reader.ReadSequence().ReadObjectIdentifier();
        var sig = reader.ReadBitString(out _);
        try
        {
            switch (alg)
            {
                case "1.2.840.113549.1.1.11" or "1.2.840.113549.1.1.12" or "1.2.840.113549.1.1.13":
                    using (var rsa = issuer.GetRSAPublicKey())
                    {
                        return rsa is not null && rsa.VerifyData(tbs.Span, sig, HashOf(alg), RSASignaturePadding.Pkcs1);
                    }
                case "1.2.840.10045.4.3.2" or "1.2.840.10045.4.3.3" or "1.2.840.10045.4.3.4":
                    using (var ec = issuer.GetECDsaPublicKey())
                    {
                        return ec is not null && ec.VerifyData(tbs.Span, sig, HashOf(alg), DSASignatureFormat.Rfc3279DerSequence);
                    }
                default:
                    return false;
            }
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static HashAlgorithmName HashOf(string oid) => oid switch
    {
        "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
        "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512,
        _ => HashAlgorithmName.SHA256,
    };

    /// <summary>Name builds a subject of O values then CN (Go's pkix.Name order), PrintableString when possible like Go.</summary>
    public static X500DistinguishedName Name(CertSubject s)
    {
        // X500DistinguishedNameBuilder encodes in reverse order of the Add calls: add CN first so the DER reads O..., CN.
        var b = new X500DistinguishedNameBuilder();
        if (s.CommonName.Length > 0)
        {
            b.Add("2.5.4.3", s.CommonName, Encoding(s.CommonName));
        }
        foreach (var o in s.Organizations.Reverse())
        {
            b.Add("2.5.4.10", o, Encoding(o));
        }
        return b.Build();
    }

    private static UniversalTagNumber Encoding(string v) =>
        v.All(c => char.IsAsciiLetterOrDigit(c) || " '()+,-./:=?".Contains(c)) ? UniversalTagNumber.PrintableString : UniversalTagNumber.UTF8String;

    private static void AddSans(CertificateRequest req, AltNames names)
    {
        if (names.IsEmpty)
        {
            return;
        }
        var b = new SubjectAlternativeNameBuilder();
        foreach (var d in names.Dns)
        {
            b.AddDnsName(d);
        }
        foreach (var ip in names.Ips)
        {
            b.AddIpAddress(ip);
        }
        req.CertificateExtensions.Add(b.Build());
    }

    private static DateTimeOffset Trunc(DateTimeOffset t) =>
        new DateTimeOffset(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
}
