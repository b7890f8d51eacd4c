using System.Security.Cryptography;
using Kubeforge.Phases;

namespace Kubeforge.Pki;

/// <summary>CertificateKey is the key that encrypts the kubeadm-certs Secret (spec/kubeadm.md §10.2): 32 random
/// bytes shown as 64 lowercase hex digits; AES-256-GCM with a 12-byte random nonce, no AAD, stored as
/// nonce || ciphertext || tag(16) (Go's gcm.Seal(nonce, nonce, data, nil)).</summary>
public static class CertificateKey
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    /// <summary>Generate returns a new certificate key as 64 lowercase hex digits.</summary>
    public static string Generate() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>Decode validates and decodes a certificate key (64 hex digits).</summary>
    public static byte[] Decode(string keyHex)
    {
        if (keyHex.Length != 64 || !keyHex.All(char.IsAsciiHexDigit))
        {
            throw new UserError("the certificate key must be 64 hex digits (32 bytes); use the value printed by `init phase upload-certs --upload-certs` or `certs certificate-key`");
        }
        return Convert.FromHexString(keyHex);
    }

    /// <summary>Encrypt seals data with the key: nonce || ciphertext || tag.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> data, string keyHex)
    {
        var key = Decode(keyHex);
        var output = new byte[NonceSize + data.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(key, TagSize);
        gcm.Encrypt(nonce, data, output.AsSpan(NonceSize, data.Length), output.AsSpan(NonceSize + data.Length, TagSize));
        return output;
    }

    /// <summary>Decrypt opens nonce || ciphertext || tag; a wrong key or damaged data is a UserError.</summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> sealedData, string keyHex)
    {
        var key = Decode(keyHex);
        if (sealedData.Length < NonceSize + TagSize)
        {
            throw new UserError("the encrypted certificate data is too short; upload the certificates again with `init phase upload-certs --upload-certs`");
        }
        var len = sealedData.Length - NonceSize - TagSize;
        var plain = new byte[len];
        using var gcm = new AesGcm(key, TagSize);
        try
        {
            gcm.Decrypt(sealedData[..NonceSize], sealedData.Slice(NonceSize, len), sealedData[(NonceSize + len)..], plain);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new UserError("cannot decrypt the uploaded certificates: the certificate key is wrong or the data is damaged; check --certificate-key");
        }
        return plain;
    }
}
