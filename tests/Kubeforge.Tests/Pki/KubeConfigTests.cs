using System.Text;
using Kubeforge.KubeConfig;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.Tests.Pki;

public class KubeConfigTests
{
    public static TheoryData<string> Versions => new() { "v1.22.3", "v1.24", "v1.25", "v1.29", "v1.37" };

    [Fact]
    public void Build_writes_clientcmd_shape()
    {
        var text = Encoding.UTF8.GetString(KubeConfigFile.Build("https://192.0.2.10:6443", "kubernetes", "kubernetes-admin", "CA\n", "CERT\n", "KEY\n"));
        Assert.Equal("""
            apiVersion: v1
            clusters:
            - cluster:
                certificate-authority-data: Q0EK
                server: https://192.0.2.10:6443
              name: kubernetes
            contexts:
            - context:
                cluster: kubernetes
                user: kubernetes-admin
              name: kubernetes-admin@kubernetes
            current-context: kubernetes-admin@kubernetes
            kind: Config
            preferences: {}
            users:
            - name: kubernetes-admin
              user:
                client-certificate-data: Q0VSVAo=
                client-key-data: S0VZCg==

            """.Replace("\r", ""), text);
        var tokenText = Encoding.UTF8.GetString(KubeConfigFile.Build("https://lb:6443", "kubernetes", "tls-bootstrap-token-user", "CA\n", token: "abcdef.0123456789abcdef"));
        Assert.Contains("  user:\n    token: abcdef.0123456789abcdef\n", tokenText);
        var view = KubeConfigFile.Read(Encoding.UTF8.GetBytes(text), "x");
        Assert.Equal("CERT\n", view.ClientCertPem);
        Assert.Equal("kubernetes-admin", view.UserName);
    }

    private static async Task<PkiSandbox> Setup(string version, Action<Kubeforge.Config.KubeadmConfig>? tweak = null)
    {
        var cfg = CertsPhaseTests.Fast(TestConfigs.For(version, "node1", "192.0.2.10"));
        tweak?.Invoke(cfg);
        var s = new PkiSandbox(cfg);
        await CertsPhase.RunAsync(s.Ctx, "ca");
        await KubeConfigPhase.RunAsync(s.NewContext(), null);
        return s;
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Files_users_groups_and_servers(string version)
    {
        using var s = await Setup(version, c => c.Cluster.ControlPlaneEndpoint = "lb.example.com");
        var p = s.Config.Profile;
        var ca = Pem.LoadCert(Encoding.UTF8.GetString(s.Read("/etc/kubernetes/pki/ca.crt")), "ca");
        var expected = new List<(string File, string User, string[] O, string Server)>
        {
            ("admin.conf", "kubernetes-admin", [p.SuperAdminConf ? "kubeadm:cluster-admins" : "system:masters"], "https://lb.example.com:6443"),
            ("kubelet.conf", "system:node:node1", ["system:nodes"], p.KubeletLocalApiEndpoint ? "https://192.0.2.10:6443" : "https://lb.example.com:6443"),
            ("controller-manager.conf", "system:kube-controller-manager", [], "https://192.0.2.10:6443"),
            ("scheduler.conf", "system:kube-scheduler", [], "https://192.0.2.10:6443"),
        };
        if (p.SuperAdminConf)
        {
            expected.Add(("super-admin.conf", "kubernetes-super-admin", ["system:masters"], "https://lb.example.com:6443"));
        }
        Assert.Equal(version is "v1.29" or "v1.37", File.Exists(s.Path("/etc/kubernetes/super-admin.conf")));
        foreach (var (file, user, o, server) in expected)
        {
            var path = "/etc/kubernetes/" + file;
            Assert.Equal(0x180, s.Mode(path));
            var view = KubeConfigFile.Read(s.Read(path), path);
            Assert.Equal($"{user}@kubernetes", view.CurrentContext);
            Assert.Equal(server, view.Server);
            Assert.Equal(Pem.Cert(ca), view.CaPem);
            var client = Pem.LoadCert(view.ClientCertPem!, path);
            var subj = CertFactory.SubjectOf(client);
            Assert.Equal(user, subj.CommonName);
            Assert.Equal(o, subj.Organizations);
            Assert.Equal(CertUsage.ClientAuth, subj.Usage);
            Assert.True(CertFactory.VerifiesWith(client, ca));
            Assert.True(Keys.PublicKeyMatches(client, Keys.FromPem(view.ClientKeyPem!, path)));
        }
        Assert.Equal(version == "v1.37"
            ? ["[kubeconfig] Using kubeconfig folder \"/etc/kubernetes\"", "[kubeconfig] Writing \"admin.conf\" kubeconfig file", "[kubeconfig] Writing \"super-admin.conf\" kubeconfig file",
               "[kubeconfig] Writing \"kubelet.conf\" kubeconfig file", "[kubeconfig] Writing \"controller-manager.conf\" kubeconfig file", "[kubeconfig] Writing \"scheduler.conf\" kubeconfig file"]
            : s.Ui.Infos, s.Ui.Infos);
    }

    [Fact]
    public async Task Ipv6_endpoint_is_bracketed_and_port_defaults_to_bind_port()
    {
        using var s = await Setup("v1.37", c =>
        {
            c.Init.LocalApiEndpoint.AdvertiseAddress = "fd00::10";
            c.Init.LocalApiEndpoint.BindPort = 7443;
        });
        Assert.Equal("https://[fd00::10]:7443", KubeConfigFile.Read(s.Read("/etc/kubernetes/scheduler.conf"), "s").Server);
        s.Config.Cluster.ControlPlaneEndpoint = "lb:9443";
        Assert.Equal("https://lb:9443", KubeConfigTable.ControlPlaneEndpointUrl(s.Config));
    }

    [Fact]
    public async Task Reuse_warns_on_server_and_fails_on_other_ca()
    {
        using var s = await Setup("v1.29");
        var before = s.Read("/etc/kubernetes/admin.conf");
        s.Config.Init.LocalApiEndpoint.AdvertiseAddress = "192.0.2.11";
        await KubeConfigPhase.RunAsync(s.NewContext(), "admin");
        Assert.Equal(before, s.Read("/etc/kubernetes/admin.conf"));
        Assert.Equal(["[kubeconfig] Using existing kubeconfig file: \"/etc/kubernetes/admin.conf\""], s.Ui.Infos);
        Assert.Contains("unexpected API Server URL: expected: https://192.0.2.11:6443, got: https://192.0.2.10:6443", Assert.Single(s.Ui.Warnings));
        File.Delete(s.Path("/etc/kubernetes/pki/ca.crt"));
        File.Delete(s.Path("/etc/kubernetes/pki/ca.key"));
        await CertsPhase.RunAsync(s.NewContext(), "ca");
        var e = await Assert.ThrowsAsync<UserError>(() => KubeConfigPhase.RunAsync(s.NewContext(), "scheduler.conf"));
        Assert.Contains("\"/etc/kubernetes/scheduler.conf\" exists already but has got the wrong CA cert", e.Message);
    }

    [Fact]
    public async Task External_ca_requires_existing_files()
    {
        using var s = await Setup("v1.37");
        File.Delete(s.Path("/etc/kubernetes/pki/ca.key"));
        await KubeConfigPhase.RunAsync(s.NewContext(), "admin");
        File.Delete(s.Path("/etc/kubernetes/admin.conf"));
        var e = await Assert.ThrowsAsync<UserError>(() => KubeConfigPhase.RunAsync(s.NewContext(), "admin"));
        Assert.Contains("external CA mode", e.Message);
    }
}
