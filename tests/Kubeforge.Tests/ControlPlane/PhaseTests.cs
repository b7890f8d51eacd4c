using Kubeforge.ControlPlane;
using Kubeforge.Hosts;
using Kubeforge.Kubelet;
using Kubeforge.Phases;

namespace Kubeforge.Tests.ControlPlane;

public class PhaseTests
{
    private static (PhaseContext Ctx, FakeHost Host, RecordingUi Ui) Context(string version, bool managesServices)
    {
        var host = new FakeHost(managesServices);
        var ui = new RecordingUi();
        return (new PhaseContext { Config = TestConfigs.For(version), Host = host, Ui = ui }, host, ui);
    }

    [Fact]
    public async Task ControlPlanePhaseWritesThreeManifestsWithKubeadmLinesAndModes()
    {
        var (ctx, host, ui) = Context("v1.37.0", true);
        host.Dirs["/etc/pki/ca-trust"] = FileModes.Dir;
        await ControlPlanePhase.RunAsync(ctx, null);

        Assert.Equal(
        [
            "[control-plane] Using manifest folder \"/etc/kubernetes/manifests\"",
            "[control-plane] Creating static Pod manifest for \"kube-apiserver\"",
            "[control-plane] Creating static Pod manifest for \"kube-controller-manager\"",
            "[control-plane] Creating static Pod manifest for \"kube-scheduler\"",
        ], ui.Lines);
        foreach (var c in Components.ControlPlane)
        {
            var f = host.Files[$"/etc/kubernetes/manifests/{c}.yaml"];
            Assert.Equal(FileModes.Private, f.Mode);
            Assert.Equal(FileModes.PrivateDir, f.DirMode);
        }
        Assert.Contains("name: etc-pki-ca-trust", host.Text("/etc/kubernetes/manifests/kube-apiserver.yaml"));
        Assert.DoesNotContain("etc-pki-tls-certs", host.Text("/etc/kubernetes/manifests/kube-apiserver.yaml"));
        Assert.DoesNotContain("etc-pki", host.Text("/etc/kubernetes/manifests/kube-scheduler.yaml"));
    }

    [Fact]
    public async Task ControlPlanePhaseIsIdempotentAndRendersOneComponent()
    {
        var (ctx, host, ui) = Context("v1.29.0", true);
        await ControlPlanePhase.RunAsync(ctx, "scheduler");
        Assert.Single(host.Files);
        Assert.Equal("[control-plane] Creating static Pod manifest for \"kube-scheduler\"", ui.Lines[^1]);
        await ControlPlanePhase.RunAsync(ctx, "kube-scheduler");
        Assert.Equal(1, host.Writes);
        await Assert.ThrowsAsync<UserError>(() => ControlPlanePhase.RunAsync(ctx, "proxy"));
    }

    [Fact]
    public async Task ControlPlanePhaseDetectsExternalCa()
    {
        var (ctx, host, _) = Context("v1.29.0", true);
        host.Files["/etc/kubernetes/pki/ca.crt"] = ([1], FileModes.Public, FileModes.Dir);
        await ControlPlanePhase.RunAsync(ctx, "controller-manager");
        var text = host.Text("/etc/kubernetes/manifests/kube-controller-manager.yaml");
        Assert.Contains("- --cluster-signing-cert-file=\n", text);
        Assert.Contains("- --cluster-signing-key-file=\n", text);
    }

    [Fact]
    public async Task EtcdPhaseCreatesDataDirAndManifest()
    {
        var (ctx, host, ui) = Context("v1.37.0", true);
        await EtcdPhase.RunLocalAsync(ctx);
        Assert.Equal(["[etcd] Creating static Pod manifest for local etcd in \"/etc/kubernetes/manifests\""], ui.Lines);
        Assert.Equal(FileModes.PrivateDir, host.Dirs["/var/lib/etcd"]);
        Assert.Equal(FileModes.Private, host.Files["/etc/kubernetes/manifests/etcd.yaml"].Mode);
    }

    [Fact]
    public async Task EtcdPhaseSkipsExternalEtcd()
    {
        var (ctx, host, ui) = Context("v1.37.0", true);
        ctx.Config.Cluster.Etcd.External = new() { Endpoints = ["https://10.0.0.1:2379"] };
        ctx.Config.Cluster.Etcd.Local = null;
        await EtcdPhase.RunLocalAsync(ctx);
        Assert.Empty(host.Files);
        Assert.Contains("External etcd mode", ui.Lines[0]);
    }

    [Fact]
    public async Task KubeletStartWritesFilesAndRestartsTheKubelet()
    {
        var (ctx, host, ui) = Context("v1.37.0", true);
        host.Files["/etc/hostname"] = ("Master1\n"u8.ToArray(), FileModes.Public, FileModes.Dir);
        host.Results["systemctl is-active systemd-resolved"] = new CommandResult(0, "active\n", "");
        await KubeletStartPhase.RunAsync(ctx);

        Assert.Equal(
        [
            "[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\"",
            "[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"",
            "[kubelet-start] Starting the kubelet",
        ], ui.Lines);
        var env = host.Files["/var/lib/kubelet/kubeadm-flags.env"];
        Assert.Equal(FileModes.Public, env.Mode);
        Assert.Equal(FileModes.PrivateDir, env.DirMode);
        Assert.DoesNotContain("hostname-override", host.Text("/var/lib/kubelet/kubeadm-flags.env"));
        Assert.Contains("resolvConf: /run/systemd/resolve/resolv.conf\n", host.Text("/var/lib/kubelet/config.yaml"));
        Assert.Equal(FileModes.Public, host.Files["/var/lib/kubelet/config.yaml"].Mode);
        Assert.Contains(host.Commands, c => c.SequenceEqual(["systemctl", "restart", "kubelet"]));
    }

    [Fact]
    public async Task KubeletStartSkipsServicesWhenTheHostDoesNotManageThem()
    {
        var (ctx, host, ui) = Context("v1.22.3", false);
        await KubeletStartPhase.RunAsync(ctx);
        Assert.Empty(host.Commands);
        Assert.DoesNotContain("[kubelet-start] Starting the kubelet", ui.Lines);
        Assert.Contains(ui.Lines, l => l.StartsWith("[kubelet-start] Not starting the kubelet", StringComparison.Ordinal));
        Assert.DoesNotContain("resolvConf", host.Text("/var/lib/kubelet/config.yaml"));
        // no /etc/hostname: the node name is used, so no --hostname-override
        Assert.DoesNotContain("hostname-override", host.Text("/var/lib/kubelet/kubeadm-flags.env"));
    }

    [Fact]
    public async Task KubeletStartWarnsWhenTheRestartFails()
    {
        var (ctx, host, ui) = Context("v1.29.0", true);
        host.Results["systemctl restart kubelet"] = new CommandResult(1, "", "unit kubelet.service not found");
        await KubeletStartPhase.RunAsync(ctx);
        Assert.Contains("[kubelet-start] WARNING: unable to start the kubelet service: unit kubelet.service not found", ui.Lines);
    }
}
