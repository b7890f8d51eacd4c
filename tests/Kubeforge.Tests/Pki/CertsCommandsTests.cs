using System.Security.Cryptography;
using System.Text;
using Kubeforge.KubeConfig;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.Tests.Pki;

public class CertsCommandsTests
{
    private static async Task<PkiSandbox> Cluster(string version)
    {
        var s = new PkiSandbox(CertsPhaseTests.Fast(TestConfigs.For(version, "node1", "192.0.2.10")));
        await CertsPhase.RunAsync(s.Ctx, null);
        await KubeConfigPhase.RunAsync(s.NewContext(), null);
        return s;
    }

    [Fact]
    public async Task Check_expiration_prints_kubeadm_tables()
    {
        using var s = await Cluster("v1.37");
        s.Time.Now = PkiSandbox.Start.AddHours(1);
        var text = await CertsCommands.CheckExpirationAsync(s.NewContext());
        Assert.Equal("""
            CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED
            admin.conf                 Mar 04, 2026 10:20 UTC   364d            ca                      no      
            apiserver                  Mar 04, 2026 10:20 UTC   364d            ca                      no      
            apiserver-etcd-client      Mar 04, 2026 10:20 UTC   364d            etcd-ca                 no      
            apiserver-kubelet-client   Mar 04, 2026 10:20 UTC   364d            ca                      no      
            controller-manager.conf    Mar 04, 2026 10:20 UTC   364d            ca                      no      
            etcd-healthcheck-client    Mar 04, 2026 10:20 UTC   364d            etcd-ca                 no      
            etcd-peer                  Mar 04, 2026 10:20 UTC   364d            etcd-ca                 no      
            etcd-server                Mar 04, 2026 10:20 UTC   364d            etcd-ca                 no      
            front-proxy-client         Mar 04, 2026 10:20 UTC   364d            front-proxy-ca          no      
            scheduler.conf             Mar 04, 2026 10:20 UTC   364d            ca                      no      
            super-admin.conf           Mar 04, 2026 10:20 UTC   364d            ca                      no      

            CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED
            ca                      Mar 02, 2035 10:20 UTC   9y              no      
            etcd-ca                 Mar 02, 2035 10:20 UTC   9y              no      
            front-proxy-ca          Mar 02, 2035 10:20 UTC   9y              no      

            """.Replace("\r", ""), text);
    }

    [Fact]
    public async Task Check_expiration_marks_missing_and_external()
    {
        using var s = await Cluster("v1.24");
        File.Delete(s.Path("/etc/kubernetes/pki/ca.key"));
        File.Delete(s.Path("/etc/kubernetes/pki/apiserver.crt"));
        var text = await CertsCommands.CheckExpirationAsync(s.NewContext());
        Assert.DoesNotContain("super-admin.conf", text);
        Assert.Contains("\n!MISSING! apiserver", text);
        Assert.Matches(@"\nca +\S+ \d\d, \d{4} \d\d:\d\d UTC +10y +yes {5}\n", text);
        Assert.Matches(@"\netcd-ca +.* no {6}\n", text);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(59, "59s")]
    [InlineData(3599, "59m")]
    [InlineData(86399, "23h")]
    [InlineData(86400 * 364 + 5, "364d")]
    [InlineData(86400 * 365, "1y")]
    [InlineData(-5, "<invalid>")]
    public void Short_human_duration(int seconds, string expected) =>
        Assert.Equal(expected, CertsCommands.ShortHumanDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task Renew_keeps_identity_and_replaces_key()
    {
        using var s = await Cluster("v1.37");
        var oldApi = Pem.LoadCert(Encoding.UTF8.GetString(s.Read("/etc/kubernetes/pki/apiserver.crt")), "a");
        var oldKey = s.Read("/etc/kubernetes/pki/apiserver.key");
        var oldAdmin = KubeConfigFile.Read(s.Read("/etc/kubernetes/admin.conf"), "a");
        s.Time.Now = PkiSandbox.Start.AddDays(200);
        await CertsCommands.RenewAsync(s.NewContext(), "all");
        var api = Pem.LoadCert(Encoding.UTF8.GetString(s.Read("/etc/kubernetes/pki/apiserver.crt")), "a");
        Assert.NotEqual(oldApi.SerialNumber, api.SerialNumber);
        Assert.NotEqual(oldKey, s.Read("/etc/kubernetes/pki/apiserver.key"));
        Assert.Equal(CertFactory.SubjectOf(oldApi), CertFactory.SubjectOf(api) with { }, new SubjectComparer());
        Assert.Equal(PkiSandbox.Start.AddDays(565).UtcDateTime, api.NotAfter.ToUniversalTime());
        var ca = Pem.LoadCert(Encoding.UTF8.GetString(s.Read("/etc/kubernetes/pki/ca.crt")), "ca");
        Assert.True(CertFactory.VerifiesWith(api, ca));
        var admin = KubeConfigFile.Read(s.Read("/etc/kubernetes/admin.conf"), "a");
        Assert.NotEqual(oldAdmin.ClientCertPem, admin.ClientCertPem);
        Assert.Equal(oldAdmin.CaPem, admin.CaPem);
        Assert.True(Keys.PublicKeyMatches(Pem.LoadCert(admin.ClientCertPem!, "a"), Keys.FromPem(admin.ClientKeyPem!, "a")));
        Assert.Equal(0x180, s.Mode("/etc/kubernetes/admin.conf"));
        var raw = s.Ui.RawText.ToString();
        Assert.Contains("certificate for serving the Kubernetes API renewed\n", raw);
        Assert.Contains("certificate embedded in the kubeconfig file for the super-admin renewed\n", raw);
        Assert.EndsWith("\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n", raw);
        Assert.DoesNotContain("kubelet.conf", raw);
    }

    [Fact]
    public async Task Renew_with_external_ca_and_unknown_name()
    {
        using var s = await Cluster("v1.29");
        File.Delete(s.Path("/etc/kubernetes/pki/ca.key"));
        await CertsCommands.RenewAsync(s.NewContext(), "apiserver");
        Assert.Equal("Detected external ca, certificate for serving the Kubernetes API can't be renewed\n", s.Ui.RawText.ToString());
        await Assert.ThrowsAsync<UserError>(() => CertsCommands.RenewAsync(s.NewContext(), "kubelet.conf"));
    }

    private sealed class SubjectComparer : IEqualityComparer<CertSubject>
    {
        public bool Equals(CertSubject? a, CertSubject? b) => a!.CommonName == b!.CommonName && a.Organizations.SequenceEqual(b.Organizations)
            && a.Usage == b.Usage && a.AltNames.Dns.SequenceEqual(b.AltNames.Dns) && a.AltNames.Ips.SequenceEqual(b.AltNames.Ips);

        public int GetHashCode(CertSubject s) => s.CommonName.GetHashCode();
    }
}

public class PinAndKeyTests
{
    [Fact]
    public void Pin_hash_is_sha256_of_spki()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=x", key, HashAlgorithmName.SHA256);
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        var pin = PubKeyPin.Hash(cert);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo())), pin);
        Assert.Equal(pin, PubKeyPin.Parse(pin.ToUpperInvariant().Replace("SHA256:", "SHA256:")));
        Assert.True(PubKeyPin.Matches(cert, ["sha256:" + new string('0', 64), pin]));
        Assert.False(PubKeyPin.TryParse("md5:" + new string('a', 64), out _));
        Assert.False(PubKeyPin.TryParse("sha256:" + new string('a', 63), out _));
        Assert.False(PubKeyPin.TryParse(new string('a', 64), out _));
        Assert.False(PubKeyPin.TryParse("sha256:" + new string('g', 64), out _));
    }

    [Fact]
    public void Certificate_key_round_trip_and_layout()
    {
        var k = CertificateKey.Generate();
        Assert.Matches("^[0-9a-f]{64}$", k);
        Assert.NotEqual(k, CertificateKey.Generate());
        var data = Encoding.UTF8.GetBytes("-----BEGIN RSA PRIVATE KEY-----\nsecret\n");
        var sealedData = CertificateKey.Encrypt(data, k);
        Assert.Equal(12 + data.Length + 16, sealedData.Length);
        Assert.Equal(data, CertificateKey.Decrypt(sealedData, k));
        // the layout is Go's: nonce || ciphertext || tag, decryptable by a plain AES-GCM
        using var gcm = new AesGcm(Convert.FromHexString(k), 16);
        var plain = new byte[data.Length];
        gcm.Decrypt(sealedData.AsSpan(0, 12), sealedData.AsSpan(12, data.Length), sealedData.AsSpan(12 + data.Length), plain);
        Assert.Equal(data, plain);
        var e = Assert.Throws<UserError>(() => CertificateKey.Decrypt(sealedData, CertificateKey.Generate()));
        Assert.DoesNotContain(k, e.Message);
        Assert.Throws<UserError>(() => CertificateKey.Encrypt(data, "abc"));
        Assert.Throws<UserError>(() => CertificateKey.Decrypt(new byte[10], k));
    }
}
