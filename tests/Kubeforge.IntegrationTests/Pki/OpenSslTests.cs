using System.Diagnostics;
using System.Text;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.KubeConfig;
using Kubeforge.Phases;
using Kubeforge.Pki;
using Kubeforge.Versions;

namespace Kubeforge.IntegrationTests.Pki;

/// <summary>OpenSslTests check the generated PKI with the real openssl and kubectl.</summary>
public sealed class OpenSslTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kf-pki-it-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static KubeadmConfig Config(string version, string algorithm)
    {
        var v = KubeVersion.Parse(version);
        Assert.True(VersionTable.TryGet(v, out var profile));
        var c = new KubeadmConfig { Version = v, Profile = profile };
        c.Cluster.EncryptionAlgorithm = algorithm;
        c.Cluster.Networking.ServiceSubnet = "10.96.0.0/12";
        c.Cluster.ApiServer.CertSans = ["api.example.com", "fd00::5"];
        c.Init.NodeRegistration.Name = "node1";
        c.Init.LocalApiEndpoint.AdvertiseAddress = "192.0.2.10";
        return c;
    }

    private sealed class NullUi : IUi
    {
        public void Info(string phase, string message) { }
        public void Warn(string phase, string message) { }
        public void Raw(string text) { }
    }

    private async Task<string> Generate(KubeadmConfig cfg)
    {
        var ctx = new PhaseContext { Config = cfg, Host = new LocalHost(_root), Ui = new NullUi(), StartTime = DateTimeOffset.UtcNow };
        await CertsPhase.RunAsync(ctx, null);
        await KubeConfigPhase.RunAsync(ctx, null);
        return Path.Join(_root, "etc/kubernetes/pki");
    }

    private static string Run(params string[] argv)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in argv.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{string.Join(' ', argv)} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
        return stdout.Result + stderr.Result;
    }

    [Theory]
    [InlineData("v1.22.3", "RSA-2048")]
    [InlineData("v1.29", "RSA-2048")]
    [InlineData("v1.37", "ECDSA-P256")]
    [InlineData("v1.37", "ECDSA-P384")]
    public async Task Chains_extensions_and_keys_pass_openssl(string version, string algorithm)
    {
        var cfg = Config(version, algorithm);
        var pki = await Generate(cfg);
        string P(string f) => Path.Join(pki, f);

        Assert.Contains("OK", Run("openssl", "verify", "-CAfile", P("ca.crt"), P("apiserver.crt"), P("apiserver-kubelet-client.crt")));
        Run("openssl", "verify", "-CAfile", P("front-proxy-ca.crt"), P("front-proxy-client.crt"));
        Run("openssl", "verify", "-CAfile", P("etcd/ca.crt"), P("etcd/server.crt"), P("etcd/peer.crt"), P("etcd/healthcheck-client.crt"), P("apiserver-etcd-client.crt"));
        foreach (var ca in new[] { "ca.crt", "front-proxy-ca.crt", "etcd/ca.crt" })
        {
            Run("openssl", "verify", "-CAfile", P(ca), P(ca));
            var text = Run("openssl", "x509", "-noout", "-text", "-in", P(ca));
            Assert.Contains("CA:TRUE", text);
            Assert.Contains("Digital Signature, Key Encipherment, Certificate Sign", text);
            Assert.Contains("X509v3 Subject Key Identifier", text);
            Assert.DoesNotContain("X509v3 Authority Key Identifier", text);
        }
        var ca0 = Run("openssl", "x509", "-noout", "-serial", "-in", P("ca.crt"));
        Assert.Equal(cfg.Profile.PkiTimeModel == PkiTimeModel.Legacy, ca0.Trim() == "serial=00");

        var api = Run("openssl", "x509", "-noout", "-text", "-in", P("apiserver.crt"));
        Assert.Contains("DNS:api.example.com, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, DNS:node1, IP Address:10.96.0.1, IP Address:192.0.2.10, IP Address:FD00:0:0:0:0:0:0:5", api);
        Assert.Contains("CA:FALSE", api);
        Assert.Contains("TLS Web Server Authentication", api);
        Assert.Contains("X509v3 Authority Key Identifier", api);
        Assert.Contains("Subject: CN = kube-apiserver", api);
        var etcd = Run("openssl", "x509", "-noout", "-text", "-in", P("etcd/server.crt"));
        Assert.Contains("TLS Web Server Authentication, TLS Web Client Authentication", etcd);
        Assert.Contains("DNS:localhost, DNS:node1, IP Address:192.0.2.10, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1", etcd);
        var kcl = Run("openssl", "x509", "-noout", "-subject", "-in", P("apiserver-kubelet-client.crt"));
        Assert.True(kcl.Contains($"O = {cfg.Profile.AdminGroup}, CN = kube-apiserver-kubelet-client"), kcl);

        foreach (var key in new[] { "ca.key", "apiserver.key", "etcd/peer.key", "sa.key" })
        {
            if (algorithm.StartsWith("RSA"))
            {
                Assert.Contains("RSA key ok", Run("openssl", "rsa", "-check", "-noout", "-in", P(key)));
            }
            else
            {
                Assert.Contains("EC Key valid", Run("openssl", "ec", "-check", "-noout", "-in", P(key)));
            }
        }
        Assert.Equal(File.ReadAllText(P("sa.pub")), Run("openssl", "pkey", "-in", P("sa.key"), "-pubout").Replace("read EC key\nwriting EC key\n", ""));
        // pin: openssl's pipeline from spec "Checks an outside tester can run" #1
        var der = Path.Join(_root, "ca.der");
        Run("openssl", "x509", "-in", P("ca.crt"), "-pubkey", "-noout", "-out", Path.Join(_root, "ca.pub"));
        Run("openssl", "pkey", "-pubin", "-in", Path.Join(_root, "ca.pub"), "-outform", "DER", "-out", der);
        var hash = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(der)));
        Assert.Equal(hash, PubKeyPin.Hash(Pem.LoadCert(File.ReadAllText(P("ca.crt")), "ca")));
    }

    [Theory]
    [InlineData("v1.24")]
    [InlineData("v1.37")]
    public async Task Kubeconfigs_load_with_kubectl_and_verify(string version)
    {
        var cfg = Config(version, "ECDSA-P256");
        var pki = await Generate(cfg);
        var files = KubeConfigTable.Rows.Where(r => r.Applies(cfg)).Select(r => r.FileName).ToList();
        Assert.Equal(cfg.Profile.SuperAdminConf, files.Contains("super-admin.conf"));
        foreach (var f in files)
        {
            var path = Path.Join(_root, "etc/kubernetes", f);
            var raw = Run("kubectl", "config", "view", "--raw", "--kubeconfig", path);
            Assert.Contains("current-context: ", raw);
            var certB64 = Run("kubectl", "config", "view", "--raw", "--kubeconfig", path, "-o", "jsonpath={.users[0].user.client-certificate-data}");
            var keyB64 = Run("kubectl", "config", "view", "--raw", "--kubeconfig", path, "-o", "jsonpath={.users[0].user.client-key-data}");
            var crt = Path.Join(_root, f + ".crt");
            var key = Path.Join(_root, f + ".key");
            File.WriteAllBytes(crt, Convert.FromBase64String(certB64.Trim()));
            File.WriteAllBytes(key, Convert.FromBase64String(keyB64.Trim()));
            Run("openssl", "verify", "-CAfile", Path.Join(pki, "ca.crt"), crt);
            Assert.Contains("TLS Web Client Authentication", Run("openssl", "x509", "-noout", "-text", "-in", crt));
            Assert.Equal(Run("openssl", "x509", "-noout", "-pubkey", "-in", crt), Run("openssl", "pkey", "-in", key, "-pubout"));
        }
    }
}
