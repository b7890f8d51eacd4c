using Kubeforge.Node;

namespace Kubeforge.Tests.Node;

public class ImagesTests
{
    [Theory]
    [InlineData("registry.k8s.io/coredns/coredns:v1.11.1", "registry.k8s.io", "coredns/coredns", "v1.11.1")]
    [InlineData("registry.aliyuncs.com/google_containers/pause:3.9", "registry.aliyuncs.com", "google_containers/pause", "3.9")]
    [InlineData("127.0.0.1:5000/kube-apiserver:v1.29.3", "127.0.0.1:5000", "kube-apiserver", "v1.29.3")]
    [InlineData("busybox", "docker.io", "library/busybox", "latest")]
    [InlineData("flannel/flannel:v0.25.1", "docker.io", "flannel/flannel", "v0.25.1")]
    [InlineData("localhost/x@sha256:abc", "localhost", "x", "sha256:abc")]
    public void ParsesReferences(string image, string registry, string repo, string tag)
    {
        Assert.Equal(new ImageRef(registry, repo, tag), ImageRef.Parse(image));
    }

    [Fact]
    public void ParsesBearerChallenge()
    {
        var c = RegistryClient.ParseChallenge("realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull,push\"");
        Assert.Equal("https://auth.docker.io/token", c["realm"]);
        Assert.Equal("registry.docker.io", c["service"]);
        Assert.Equal("repository:library/busybox:pull,push", c["scope"]);
        Assert.Equal("docker.io", ImageRef.Parse("busybox").Registry);
        Assert.Equal("registry-1.docker.io", ImageRef.Parse("busybox").ApiHost);
    }

    [Fact]
    public void PullCommandUsesK8sNamespaceAndHostsDir() =>
        Assert.Equal(["ctr", "--address", "/run/containerd/containerd.sock", "-n", "k8s.io", "images", "pull", "--hosts-dir", "/etc/containerd/certs.d", "registry.k8s.io/pause:3.9"],
            ImagePull.PullCommand("registry.k8s.io/pause:3.9"));
}
