using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.Tests.Pki;

public class CertsPhaseTests
{
    public static TheoryData<string> Versions => new() { "v1.22.3", "v1.24", "v1.25", "v1.29", "v1.37" };

    private const string Dir = "/etc/kubernetes/pki";

    private static X509Certificate2 Cert(PkiSandbox s, string baseName) =>
        X509CertificateLoader.LoadCertificate(Convert.FromBase64String(string.Concat(
            System.Text.Encoding.ASCII.GetString(s.Read($"{Dir}/{baseName}.crt")).Split('\n').Where(l => !l.StartsWith("-----")))));

    /// <summary>Fast switches to ECDSA-P256 (quick to generate) for tests that are not about the key type.</summary>
    internal static Kubeforge.Config.KubeadmConfig Fast(Kubeforge.Config.KubeadmConfig c)
    {
        c.Cluster.EncryptionAlgorithm = "ECDSA-P256";
        return c;
    }

    private static async Task<PkiSandbox> RunAll(Kubeforge.Config.KubeadmConfig cfg)
    {
        var s = new PkiSandbox(cfg);
        await CertsPhase.RunAsync(s.Ctx, null);
        return s;
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Subjects_and_organizations_follow_the_version(string version)
    {
        using var s = await RunAll(TestConfigs.For(version, "node1", "192.0.2.10"));
        var modern = version is "v1.29" or "v1.37";
        var expect = new Dictionary<string, (string Cn, string[] O)>
        {
            ["ca"] = ("kubernetes", []),
            ["apiserver"] = ("kube-apiserver", []),
            ["apiserver-kubelet-client"] = ("kube-apiserver-kubelet-client", [modern ? "kubeadm:cluster-admins" : "system:masters"]),
            ["front-proxy-ca"] = ("front-proxy-ca", []),
            ["front-proxy-client"] = ("front-proxy-client", []),
            ["etcd/ca"] = ("etcd-ca", []),
            ["etcd/server"] = ("node1", []),
            ["etcd/peer"] = ("node1", []),
            ["etcd/healthcheck-client"] = ("kube-etcd-healthcheck-client", modern ? [] : ["system:masters"]),
            ["apiserver-etcd-client"] = ("kube-apiserver-etcd-client", modern ? [] : ["system:masters"]),
        };
        foreach (var (b, (cn, o)) in expect)
        {
            var subj = CertFactory.SubjectOf(Cert(s, b));
            Assert.Equal(cn, subj.CommonName);
            Assert.Equal(o, subj.Organizations);
            var rdns = Cert(s, b).SubjectName.EnumerateRelativeDistinguishedNames().Select(r => r.GetSingleElementType().Value).ToList();
            Assert.Equal(o.Length + 1, rdns.Count); // only O and CN
            var der = Cert(s, b).SubjectName.EnumerateRelativeDistinguishedNames(reversed: false).Select(r => r.GetSingleElementType().Value).ToList();
            Assert.Equal("2.5.4.3", der[^1]); // DER order as Go writes it: O first, CN last
            Assert.Equal(0x1A4, s.Mode($"{Dir}/{b}.crt"));
            Assert.Equal(0x180, s.Mode($"{Dir}/{b}.key"));
        }
        Assert.Equal(0x180, s.Mode($"{Dir}/sa.key"));
        Assert.Equal(0x180, s.Mode($"{Dir}/sa.pub"));
        Assert.Equal(0x1ED, (int)File.GetUnixFileMode(s.Path($"{Dir}/etcd")));
        Assert.Equal(0x1ED, (int)File.GetUnixFileMode(s.Path(Dir)));
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----\n", System.Text.Encoding.ASCII.GetString(s.Read($"{Dir}/sa.pub")));
        Assert.StartsWith("-----BEGIN RSA PRIVATE KEY-----\n", System.Text.Encoding.ASCII.GetString(s.Read($"{Dir}/sa.key")));
        Assert.EndsWith("-----END RSA PRIVATE KEY-----\n", System.Text.Encoding.ASCII.GetString(s.Read($"{Dir}/ca.key")));
        Assert.EndsWith("-----END CERTIFICATE-----\n", System.Text.Encoding.ASCII.GetString(s.Read($"{Dir}/ca.crt")));
    }

    [Fact]
    public async Task Prints_kubeadm_lines_in_order()
    {
        using var s = await RunAll(TestConfigs.For("v1.37", "node1", "192.0.2.10"));
        Assert.Equal(
        [
            "[certs] Using certificateDir folder \"/etc/kubernetes/pki\"",
            "[certs] Generating \"ca\" certificate and key",
            "[certs] Generating \"apiserver\" certificate and key",
            "[certs] apiserver serving cert is signed for DNS names [kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local node1] and IPs [10.96.0.1 192.0.2.10]",
            "[certs] Generating \"apiserver-kubelet-client\" certificate and key",
            "[certs] Generating \"front-proxy-ca\" certificate and key",
            "[certs] Generating \"front-proxy-client\" certificate and key",
            "[certs] Generating \"etcd/ca\" certificate and key",
            "[certs] Generating \"etcd/server\" certificate and key",
            "[certs] etcd/server serving cert is signed for DNS names [localhost node1] and IPs [192.0.2.10 127.0.0.1 ::1]",
            "[certs] Generating \"etcd/peer\" certificate and key",
            "[certs] etcd/peer serving cert is signed for DNS names [localhost node1] and IPs [192.0.2.10 127.0.0.1 ::1]",
            "[certs] Generating \"etcd/healthcheck-client\" certificate and key",
            "[certs] Generating \"apiserver-etcd-client\" certificate and key",
            "[certs] Generating \"sa\" key and public key",
        ], s.Ui.Infos);
        Assert.Equal(["ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca", "front-proxy-client", "etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client", "apiserver-etcd-client", "sa"], CertTable.Names);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Sans_and_usages(string version)
    {
        var cfg = Fast(TestConfigs.For(version, "node1", "192.0.2.10"));
        cfg.Cluster.ControlPlaneEndpoint = "lb.example.com:8443";
        cfg.Cluster.ApiServer.CertSans = ["10.0.0.5", "*.apps.example.com", "Bad_Name!", "fd00::5", "192.0.2.10", "a.example.com"];
        cfg.Cluster.Etcd.Local!.ServerCertSans = ["etcd.example.com", "198.51.100.7"];
        using var s = await RunAll(cfg);
        var api = CertFactory.SubjectOf(Cert(s, "apiserver"));
        Assert.Equal(["*.apps.example.com", "a.example.com", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "lb.example.com", "node1"], api.AltNames.Dns);
        Assert.Equal(["10.96.0.1", "192.0.2.10", "10.0.0.5", "fd00::5"], api.AltNames.Ips.Select(i => i.ToString()));
        Assert.Contains(s.Ui.Warnings, w => w.Contains("'Bad_Name!'"));
        Assert.Equal(CertUsage.ServerAuth, api.Usage);
        var server = CertFactory.SubjectOf(Cert(s, "etcd/server"));
        Assert.Equal(["etcd.example.com", "localhost", "node1"], server.AltNames.Dns);
        Assert.Equal(["192.0.2.10", "127.0.0.1", "::1", "198.51.100.7"], server.AltNames.Ips.Select(i => i.ToString()));
        Assert.Equal(CertUsage.ServerAuth | CertUsage.ClientAuth, server.Usage);
        Assert.Equal(["localhost", "node1"], CertFactory.SubjectOf(Cert(s, "etcd/peer")).AltNames.Dns);
        foreach (var client in new[] { "apiserver-kubelet-client", "front-proxy-client", "etcd/healthcheck-client", "apiserver-etcd-client" })
        {
            var subj = CertFactory.SubjectOf(Cert(s, client));
            Assert.Equal(CertUsage.ClientAuth, subj.Usage);
            Assert.True(subj.AltNames.IsEmpty);
        }
        foreach (var (ca, cn) in new[] { ("ca", "kubernetes"), ("front-proxy-ca", "front-proxy-ca"), ("etcd/ca", "etcd-ca") })
        {
            var c = Cert(s, ca);
            Assert.Equal([cn], CertFactory.SubjectOf(c).AltNames.Dns);
            Assert.True(CertFactory.IsCa(c));
            var ku = c.Extensions.OfType<X509KeyUsageExtension>().Single();
            Assert.True(ku.Critical);
            Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyCertSign, ku.KeyUsages);
        }
        var leafKu = Cert(s, "apiserver").Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, leafKu.KeyUsages);
        Assert.False(CertFactory.IsCa(Cert(s, "apiserver")));
    }

    [Fact]
    public async Task Ipv6_advertise_address_and_bracketed_endpoint()
    {
        var cfg = Fast(TestConfigs.For("v1.37", "node1", "192.0.2.10"));
        cfg.Init.LocalApiEndpoint.AdvertiseAddress = "fd00:10::10";
        cfg.Cluster.Networking.ServiceSubnet = "fd00:96::/108,10.96.0.0/12";
        cfg.Cluster.ControlPlaneEndpoint = "[fd00:10::100]:6443";
        using var s = await RunAll(cfg);
        var api = CertFactory.SubjectOf(Cert(s, "apiserver"));
        Assert.Equal(["fd00:96::1", "fd00:10::10", "fd00:10::100"], api.AltNames.Ips.Select(i => i.ToString()));
        Assert.DoesNotContain("[fd00:10::100]", api.AltNames.Dns);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Serial_validity_and_key_identifiers(string version)
    {
        var cfg = Fast(TestConfigs.For(version, "node1", "192.0.2.10"));
        using var s = await RunAll(cfg);
        var start = PkiSandbox.Start.UtcDateTime;
        var ca = Cert(s, "ca");
        var leaf = Cert(s, "apiserver");
        var serial = new BigInteger(ca.SerialNumberBytes.Span, isUnsigned: true, isBigEndian: true);
        switch (cfg.Profile.PkiTimeModel)
        {
            case Kubeforge.Versions.PkiTimeModel.Legacy:
                Assert.Equal(BigInteger.Zero, serial);
                Assert.Equal(start, ca.NotBefore.ToUniversalTime());
                Assert.Equal(ca.NotBefore, leaf.NotBefore);
                break;
            case Kubeforge.Versions.PkiTimeModel.Backdated:
                Assert.NotEqual(BigInteger.Zero, serial);
                Assert.Equal(start.AddMinutes(-5), ca.NotBefore.ToUniversalTime());
                Assert.Equal(ca.NotBefore, leaf.NotBefore);
                break;
            default:
                Assert.NotEqual(BigInteger.Zero, serial);
                Assert.Equal(start.AddMinutes(-5), ca.NotBefore.ToUniversalTime());
                Assert.Equal(start.AddMinutes(-5), leaf.NotBefore.ToUniversalTime());
                break;
        }
        Assert.Equal(start.AddDays(3650), ca.NotAfter.ToUniversalTime());
        Assert.Equal(start.AddDays(365), leaf.NotAfter.ToUniversalTime());
        var leafSerial = new BigInteger(leaf.SerialNumberBytes.Span, isUnsigned: true, isBigEndian: true);
        Assert.True(leafSerial > 0 && leafSerial < long.MaxValue);
        // Go: CA has SKI and no AKI; signed certs have AKI = CA SKI and no SKI.
        var ski = CertFactory.SubjectKeyId(ca);
        Assert.NotNull(ski);
        Assert.Equal(SHA1.HashData(ca.PublicKey.EncodedKeyValue.RawData), ski);
        Assert.Null(CertFactory.AuthorityKeyId(ca));
        foreach (var b in new[] { "apiserver", "apiserver-kubelet-client" })
        {
            Assert.Equal(ski, CertFactory.AuthorityKeyId(Cert(s, b)));
            Assert.Null(CertFactory.SubjectKeyId(Cert(s, b)));
            Assert.True(CertFactory.VerifiesWith(Cert(s, b), ca));
        }
        Assert.Equal(CertFactory.SubjectKeyId(Cert(s, "etcd/ca")), CertFactory.AuthorityKeyId(Cert(s, "etcd/server")));
        Assert.False(CertFactory.VerifiesWith(Cert(s, "etcd/server"), ca));
    }

    [Fact]
    public async Task Configurable_model_honours_validity_periods()
    {
        var cfg = Fast(TestConfigs.For("v1.37", "node1", "192.0.2.10"));
        cfg.Cluster.CertificateValidityPeriod = TimeSpan.FromHours(48);
        cfg.Cluster.CaCertificateValidityPeriod = TimeSpan.FromDays(100);
        using var s = await RunAll(cfg);
        Assert.Equal(PkiSandbox.Start.UtcDateTime.AddHours(48), Cert(s, "apiserver").NotAfter.ToUniversalTime());
        Assert.Equal(PkiSandbox.Start.UtcDateTime.AddDays(100), Cert(s, "ca").NotAfter.ToUniversalTime());
    }

    [Fact]
    public async Task Rerun_reuses_everything_unchanged()
    {
        using var s = await RunAll(Fast(TestConfigs.For("v1.29", "node1", "192.0.2.10")));
        var before = Directory.GetFiles(s.Path(Dir), "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        await CertsPhase.RunAsync(s.NewContext(), "all");
        foreach (var (f, b) in before)
        {
            Assert.Equal(b, File.ReadAllBytes(f));
        }
        Assert.Contains("[certs] Using existing ca certificate authority", s.Ui.Infos);
        Assert.Contains("[certs] Using existing etcd/server certificate and key on disk", s.Ui.Infos);
        Assert.Contains("[certs] Using the existing \"sa\" key", s.Ui.Infos);
    }

    [Fact]
    public async Task Changed_config_names_the_file_to_delete()
    {
        using var s = await RunAll(Fast(TestConfigs.For("v1.29", "node1", "192.0.2.10")));
        s.Config.Init.LocalApiEndpoint.AdvertiseAddress = "192.0.2.99";
        var e = await Assert.ThrowsAsync<UserError>(() => CertsPhase.RunAsync(s.NewContext(), "apiserver"));
        Assert.Contains("/etc/kubernetes/pki/apiserver.crt", e.Message);
        Assert.Contains("192.0.2.99", e.Message);
        Assert.Contains("delete", e.Message);
        s.Config.Init.NodeRegistration.Name = "other";
        var e2 = await Assert.ThrowsAsync<UserError>(() => CertsPhase.RunAsync(s.NewContext(), "etcd-peer"));
        Assert.Contains("CN \"node1\"", e2.Message);
    }

    [Fact]
    public async Task Leaf_signed_by_another_ca_is_rejected()
    {
        using var s = await RunAll(Fast(TestConfigs.For("v1.37", "node1", "192.0.2.10")));
        File.Copy(s.Path($"{Dir}/front-proxy-client.crt"), s.Path($"{Dir}/apiserver-kubelet-client.crt"), true);
        File.Copy(s.Path($"{Dir}/front-proxy-client.key"), s.Path($"{Dir}/apiserver-kubelet-client.key"), true);
        var e = await Assert.ThrowsAsync<UserError>(() => CertsPhase.RunAsync(s.NewContext(), "apiserver-kubelet-client"));
        Assert.Contains("not signed by the ca", e.Message);
        File.Delete(s.Path($"{Dir}/apiserver-kubelet-client.key"));
        var e2 = await Assert.ThrowsAsync<UserError>(() => CertsPhase.RunAsync(s.NewContext(), "apiserver-kubelet-client"));
        Assert.Contains("apiserver-kubelet-client.key does not", e2.Message);
    }

    [Fact]
    public async Task External_ca_mode()
    {
        using var s = await RunAll(Fast(TestConfigs.For("v1.37", "node1", "192.0.2.10")));
        File.Delete(s.Path($"{Dir}/ca.key"));
        await CertsPhase.RunAsync(s.NewContext(), null);
        Assert.Contains("[certs] Using existing ca keyless certificate authority", s.Ui.Infos);
        File.Delete(s.Path($"{Dir}/apiserver.crt"));
        File.Delete(s.Path($"{Dir}/apiserver.key"));
        var e = await Assert.ThrowsAsync<UserError>(() => CertsPhase.RunAsync(s.NewContext(), null));
        Assert.Contains("external CA mode", e.Message);
        Assert.Contains("/etc/kubernetes/pki/apiserver.crt", e.Message);
    }

    [Fact]
    public async Task Missing_ca_for_single_phase_is_a_clear_error()
    {
        using var s = new PkiSandbox(TestConfigs.For("v1.37", "node1", "192.0.2.10"));
        var e = await Assert.ThrowsAsync<UserError>(() => CertsPhase.RunAsync(s.Ctx, "apiserver"));
        Assert.Contains("init phase certs ca", e.Message);
        await Assert.ThrowsAsync<UserError>(() => CertsPhase.RunAsync(s.Ctx, "nope"));
    }

    [Theory]
    [InlineData("ECDSA-P256", "EC PRIVATE KEY", 256)]
    [InlineData("ECDSA-P384", "EC PRIVATE KEY", 384)]
    [InlineData("RSA-4096", "RSA PRIVATE KEY", 4096)]
    public async Task Key_algorithms(string algorithm, string label, int size)
    {
        var cfg = TestConfigs.For("v1.37", "node1", "192.0.2.10");
        cfg.Cluster.EncryptionAlgorithm = algorithm;
        using var s = new PkiSandbox(cfg);
        foreach (var phase in new[] { "ca", "apiserver", "sa" })
        {
            await CertsPhase.RunAsync(s.Ctx, phase);
        }
        foreach (var f in new[] { "ca.key", "apiserver.key", "sa.key" })
        {
            var pem = System.Text.Encoding.ASCII.GetString(s.Read($"{Dir}/{f}"));
            Assert.StartsWith($"-----BEGIN {label}-----", pem);
            Assert.Equal(size, Keys.FromPem(pem, f).KeySize);
        }
        Assert.True(CertFactory.VerifiesWith(Cert(s, "apiserver"), Cert(s, "ca")));
    }

    [Fact]
    public async Task Mixed_key_types_rsa_ca_signs_ecdsa_leaf()
    {
        var cfg = TestConfigs.For("v1.37", "node1", "192.0.2.10");
        using var s = new PkiSandbox(cfg);
        await CertsPhase.RunAsync(s.Ctx, "ca");
        cfg.Cluster.EncryptionAlgorithm = "ECDSA-P256";
        await CertsPhase.RunAsync(s.NewContext(), "apiserver");
        var leaf = Cert(s, "apiserver");
        Assert.NotNull(leaf.GetECDsaPublicKey());
        Assert.Equal("1.2.840.113549.1.1.11", leaf.SignatureAlgorithm.Value); // sha256WithRSAEncryption by the RSA CA
        Assert.True(CertFactory.VerifiesWith(leaf, Cert(s, "ca")));
    }

    [Fact]
    public async Task External_etcd_makes_only_the_first_five()
    {
        var cfg = Fast(TestConfigs.For("v1.37", "node1", "192.0.2.10"));
        cfg.Cluster.Etcd.Local = null;
        cfg.Cluster.Etcd.External = new Kubeforge.Config.ExternalEtcd { Endpoints = ["https://10.0.0.1:2379"] };
        using var s = await RunAll(cfg);
        var files = Directory.GetFiles(s.Path(Dir), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(s.Path(Dir), f)).Order().ToList();
        Assert.Equal(["apiserver-kubelet-client.crt", "apiserver-kubelet-client.key", "apiserver.crt", "apiserver.key", "ca.crt", "ca.key",
            "front-proxy-ca.crt", "front-proxy-ca.key", "front-proxy-client.crt", "front-proxy-client.key", "sa.key", "sa.pub"], files);
        await CertsPhase.RunAsync(s.NewContext(), "etcd-server");
        Assert.Equal(["[certs] External etcd mode: Skipping etcd/server certificate generation"], s.Ui.Infos);
    }

    [Fact]
    public void Service_ip_and_host_port_helpers()
    {
        Assert.Equal(IPAddress.Parse("10.96.0.1"), AltNames.ServiceIp("10.96.0.0/12", 1));
        Assert.Equal(IPAddress.Parse("10.96.0.10"), AltNames.ServiceIp("10.96.0.0/12", 10));
        Assert.Equal(IPAddress.Parse("fd00::1"), AltNames.ServiceIp("fd00::/108", 1));
        Assert.Throws<UserError>(() => AltNames.ServiceIp("10.0.0.0/31", 10));
        Assert.Equal(("lb", (int?)8443), AltNames.SplitHostPort("lb:8443"));
        Assert.Equal(("fd00::1", (int?)null), AltNames.SplitHostPort("fd00::1"));
        Assert.Equal(("fd00::1", (int?)6443), AltNames.SplitHostPort("[fd00::1]:6443"));
        Assert.Equal("[fd00::1]:6443", AltNames.JoinHostPort("fd00::1", 6443));
        Assert.True(AltNames.IsWildcardSubdomain("*.a.b"));
        Assert.False(AltNames.IsDnsSubdomain("Upper.case"));
    }
}
