using Kubeforge.Config;

namespace Kubeforge.Tests.Config;

/// <summary>JoinConfigurationLoaderTests check the join flags and JoinConfiguration documents (v1beta3, v1beta4).</summary>
public sealed class JoinConfigurationLoaderTests
{
    private const string Token = "abcdef.0123456789abcdef";
    private const string Hash = "sha256:9fd9a557e734257ffd30f523cc5cb1caebbea9cdb7394090d42412c891bde482";

    [Fact]
    public void FlagsGiveTokenDiscoveryAndTlsBootstrapToken()
    {
        var j = JoinConfigurationLoader.Load(null, "flags", new JoinFlags { ApiServerEndpoint = "10.0.0.1:6443", Token = Token, CaCertHashes = [Hash] });
        Assert.Equal("10.0.0.1:6443", j.ApiServerEndpoint);
        Assert.Equal(Token, j.DiscoveryToken);
        Assert.Equal(Token, j.TlsBootstrapToken);
        Assert.Equal("abcdef", j.TokenId);
        Assert.Null(j.ControlPlane);
        Assert.Equal("/etc/kubernetes/pki/ca.crt", j.CaCertPath);
    }

    [Fact]
    public void ControlPlaneFlagsSetTheLocalEndpointAndKey()
    {
        var key = new string('a', 64);
        var j = JoinConfigurationLoader.Load(null, "flags", new JoinFlags
        {
            ApiServerEndpoint = "10.0.0.1:6443", Token = Token, CaCertHashes = [Hash], ControlPlane = true, CertificateKey = key,
            AdvertiseAddress = "10.0.0.2", BindPort = 7443,
        });
        Assert.Equal(key, j.ControlPlane!.CertificateKey);
        Assert.Equal("10.0.0.2", j.ControlPlane.LocalApiEndpoint.AdvertiseAddress);
        Assert.Equal(7443, j.ControlPlane.LocalApiEndpoint.BindPort);
    }

    [Theory]
    [InlineData(null, Hash, false, "neither a bootstrap token")]
    [InlineData("abcdef.short", Hash, false, "does not match the format")]
    [InlineData(Token, null, false, "without caCertHashes")]
    [InlineData(Token, "md5:abc", false, "is not a sha256")]
    public void InvalidFlagsAreOneErrorEach(string? token, string? hash, bool skip, string expected)
    {
        var e = Assert.Throws<ConfigError>(() => JoinConfigurationLoader.Load(null, "flags", new JoinFlags
        {
            ApiServerEndpoint = "10.0.0.1:6443", Token = token, CaCertHashes = hash is null ? [] : [hash], UnsafeSkipCaVerification = skip,
        }));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void UnsafeSkipAllowsNoHash()
    {
        var j = JoinConfigurationLoader.Load(null, "flags", new JoinFlags { ApiServerEndpoint = "h:6443", Token = Token, UnsafeSkipCaVerification = true });
        Assert.True(j.UnsafeSkipCaVerification);
    }

    [Fact]
    public void V1beta4DocumentIsRead()
    {
        const string yaml = """
            apiVersion: kubeadm.k8s.io/v1beta4
            kind: JoinConfiguration
            caCertPath: /etc/kubernetes/pki/ca.crt
            discovery:
              bootstrapToken:
                token: abcdef.0123456789abcdef
                apiServerEndpoint: 10.0.0.1:6443
                caCertHashes: [sha256:9fd9a557e734257ffd30f523cc5cb1caebbea9cdb7394090d42412c891bde482]
              tlsBootstrapToken: ghijkl.0123456789abcdef
            timeouts:
              discovery: 1m0s
              tlsBootstrap: 2m0s
            nodeRegistration:
              name: node-a
              criSocket: unix:///run/containerd/containerd.sock
              taints: []
              kubeletExtraArgs:
              - name: node-ip
                value: 10.0.0.5
            controlPlane:
              localAPIEndpoint:
                advertiseAddress: 10.0.0.5
                bindPort: 6443
              certificateKey: 0000000000000000000000000000000000000000000000000000000000000000
            """;
        var j = JoinConfigurationLoader.Load(yaml, "join.yaml", new JoinFlags { NodeName = "node-b" });
        Assert.Equal("ghijkl.0123456789abcdef", j.TlsBootstrapToken);
        Assert.Equal(TimeSpan.FromMinutes(1), j.DiscoveryTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), j.TlsBootstrapTimeout);
        Assert.Equal("node-b", j.NodeRegistration.Name);
        Assert.Empty(j.NodeRegistration.Taints!);
        Assert.Equal(new Arg("node-ip", "10.0.0.5"), j.NodeRegistration.KubeletExtraArgs.Single());
        Assert.Equal("10.0.0.5", j.ControlPlane!.LocalApiEndpoint.AdvertiseAddress);
    }

    [Fact]
    public void V1beta3FileDiscoveryAndDiscoveryTimeout()
    {
        const string yaml = """
            apiVersion: kubeadm.k8s.io/v1beta3
            kind: JoinConfiguration
            discovery:
              file:
                kubeConfigPath: /etc/kubernetes/discovery.conf
              tlsBootstrapToken: abcdef.0123456789abcdef
              timeout: 30s
            """;
        var j = JoinConfigurationLoader.Load(yaml, "join.yaml", new JoinFlags());
        Assert.Equal("/etc/kubernetes/discovery.conf", j.DiscoveryFile);
        Assert.Equal(TimeSpan.FromSeconds(30), j.DiscoveryTimeout);
    }

    [Fact]
    public void ConfigCannotBeMixedWithDiscoveryFlags()
    {
        const string yaml = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\n";
        var e = Assert.Throws<ConfigError>(() => JoinConfigurationLoader.Load(yaml, "join.yaml", new JoinFlags { Token = Token }));
        Assert.Contains("can not mix '--config' with arguments [token]", e.Message);
    }
}
