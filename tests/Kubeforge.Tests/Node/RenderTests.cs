using System.Text;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Tests.ControlPlane;
using Kubeforge.Versions;

namespace Kubeforge.Tests.Node;

public class RenderTests
{
    private static VersionProfile P(string v) => VersionTable.TryGet(KubeVersion.Parse(v), out var p) ? p : throw new InvalidOperationException();

    [Fact]
    public void CommentSwapLinesKeepsEverythingElse()
    {
        var fstab = "# /etc/fstab\nUUID=1 / ext4 defaults 0 1\n/dev/sda2  none  swap  sw  0 0\n#/old none swap sw 0 0\nUUID=2 /home xfs defaults 0 0\n/swap.img\tnone\tswap\tsw\t0\t0";
        var got = OsPrep.CommentSwapLines(fstab);
        Assert.Equal("# /etc/fstab\nUUID=1 / ext4 defaults 0 1\n#/dev/sda2  none  swap  sw  0 0 # disabled by kubeforge (Kubernetes needs swap off)\n#/old none swap sw 0 0\n" +
            "UUID=2 /home xfs defaults 0 0\n#/swap.img\tnone\tswap\tsw\t0\t0 # disabled by kubeforge (Kubernetes needs swap off)", got);
        Assert.Equal(got, OsPrep.CommentSwapLines(got));
    }

    [Fact]
    public void SelinuxAndConfFiles()
    {
        Assert.Equal("# x\nSELINUX=permissive\nSELINUXTYPE=targeted\n", OsPrep.SelinuxPermissive("# x\nSELINUX=enforcing\nSELINUXTYPE=targeted\n"));
        Assert.Equal("SELINUX=disabled\n", OsPrep.SelinuxPermissive("SELINUX=disabled\n"));
        Assert.Contains("br_netfilter\n", OsPrep.ModulesConf());
        Assert.Contains("net.bridge.bridge-nf-call-ip6tables = 1\n", OsPrep.SysctlConf());
        Assert.Equal("/etc/fstab.kubeforge-backup-20240102030405", OsPrep.BackupPath("/etc/fstab", new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero)));
    }

    [Fact]
    public void ContainerdConfig()
    {
        var cfg = Containerd.RenderConfig("registry.aliyuncs.com/google_containers/pause:3.9");
        Assert.Contains("version = 2\n", cfg);
        Assert.Contains("sandbox_image = \"registry.aliyuncs.com/google_containers/pause:3.9\"", cfg);
        Assert.Contains("config_path = \"/etc/containerd/certs.d\"", cfg);
        Assert.True(Containerd.SystemdCgroup(cfg));
        Assert.False(Containerd.CriDisabled(cfg));
        var old = "disabled_plugins = [\"cri\"]\n";
        Assert.True(Containerd.CriDisabled(old));
        Assert.Null(Containerd.SystemdCgroup(old));
        Assert.Null(Containerd.SetSystemdCgroup(old));
        var off = "  [x.options]\n    SystemdCgroup = false\n";
        Assert.Equal("  [x.options]\n    SystemdCgroup = true\n", Containerd.SetSystemdCgroup(off));
        var hosts = Containerd.RenderHostsToml(new RegistryMirror("registry.k8s.io", "https://mirror.example.cn:5000", "/etc/containerd/certs.d/registry.k8s.io/ca.crt"));
        Assert.Equal("# Written by kubeforge\nserver = \"https://registry.k8s.io\"\n\n[host.\"https://mirror.example.cn:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = \"/etc/containerd/certs.d/registry.k8s.io/ca.crt\"\n", hosts);
        Assert.Equal("/etc/containerd/certs.d/10.0.0.5:5000/hosts.toml", Containerd.HostsTomlPath("10.0.0.5:5000"));
        Assert.Contains("ExecStart=/usr/local/bin/containerd", Containerd.RenderUnit());
    }

    [Fact]
    public void PackageRepos()
    {
        var rpm = Packages.Render(OsFamily.Rpm, P("v1.29.3"), PackageSource.Upstream);
        Assert.Equal("/etc/yum.repos.d/kubernetes.repo", rpm.Path);
        Assert.Contains("baseurl=https://pkgs.k8s.io/core:/stable:/v1.29/rpm/\n", rpm.Content);
        Assert.Contains("gpgcheck=1\n", rpm.Content);
        Assert.Contains("gpgkey=https://pkgs.k8s.io/core:/stable:/v1.29/rpm/repodata/repomd.xml.key\n", rpm.Content);
        Assert.Contains("exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n", rpm.Content);
        var ali = Packages.Render(OsFamily.Rpm, P("v1.29.3"), PackageSource.Aliyun);
        Assert.Contains("baseurl=https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/rpm/\n", ali.Content);
        var legacy = Packages.Render(OsFamily.Rpm, P("v1.22.3"), PackageSource.Aliyun);
        Assert.Contains("baseurl=https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-$basearch\n", legacy.Content);
        Assert.Contains("gpgkey=https://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg https://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg\n", legacy.Content);
        Assert.Contains("repo_gpgcheck=1\n", legacy.Content);
        var deb = Packages.Render(OsFamily.Deb, P("v1.29.3"), PackageSource.Aliyun);
        Assert.Equal("# Written by kubeforge\ndeb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/deb/ /\n", deb.Content);
        Assert.Equal("https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/deb/Release.key", deb.KeyUrl);
        var debOld = Packages.Render(OsFamily.Deb, P("v1.22.3"), PackageSource.Upstream);
        Assert.Contains("https://mirrors.aliyun.com/kubernetes/apt/ kubernetes-xenial main", debOld.Content);
    }

    [Fact]
    public void PackageCommandsArePinnedAndHeld()
    {
        var v = KubeVersion.Parse("v1.29.3");
        var rpm = Packages.InstallCommands(OsFamily.Rpm, v, P("v1.29.3"), PackageSource.Upstream, withKubeadm: true);
        Assert.Equal(["dnf", "install", "-y", "kubelet-1.29.3", "kubectl-1.29.3", "kubeadm-1.29.3", "cri-tools-1.29.*", "--disableexcludes=kubernetes"], rpm.Single());
        var deb = Packages.InstallCommands(OsFamily.Deb, v, P("v1.29.3"), PackageSource.Upstream, withKubeadm: false);
        Assert.Equal(["apt-get", "install", "-y", "--allow-change-held-packages", "kubelet=1.29.3-*", "kubectl=1.29.3-*", "cri-tools=1.29.*"], deb[3]);
        Assert.Equal(["apt-mark", "hold", "kubelet", "kubectl", "cri-tools"], deb[4]);
        Assert.Equal(KubeVersion.Parse("v1.29.3"), Packages.ParseKubeletVersion("Kubernetes v1.29.3\n"));
        Assert.Null(Packages.ParseKubeletVersion(""));
    }

    [Fact]
    public async Task OsPrepIsIdempotentAndBacksUpFstab()
    {
        var host = new FakeHost(true);
        host.Files["/etc/fstab"] = (Encoding.UTF8.GetBytes(HostFactsTests.Files["/etc/fstab"]!), 0x1A4, 0);
        var facts = HostFactsTests.Facts();
        var o = new OsPrepOptions { Timestamp = DateTimeOffset.FromUnixTimeSeconds(1700000000), Firewall = FirewallChoice.Leave };
        var steps = await OsPrep.RunAsync(host, facts, o);
        Assert.True(steps.Single(s => s.Name == "swap").Changed);
        Assert.Contains(host.Commands, c => c.SequenceEqual(["swapoff", "-a"]));
        Assert.Contains(host.Commands, c => c.SequenceEqual(["modprobe", "--", "br_netfilter"]));
        Assert.Contains(host.Commands, c => c.SequenceEqual(["setenforce", "0"]));
        Assert.Equal(HostFactsTests.Files["/etc/fstab"], host.Text("/etc/fstab.kubeforge-backup-20231114221320"));
        Assert.StartsWith("#/swapfile", host.Text("/etc/fstab").Split('\n')[1]);
        // a second run on the fixed host's facts changes nothing
        var fixedFacts = facts with
        {
            ActiveSwaps = [], SelinuxMode = "permissive",
            LoadedModules = new HashSet<string> { "overlay", "br_netfilter" },
            Sysctls = OsPrep.Sysctls.ToDictionary(s => s.Key, s => s.Value),
        };
        host.Commands.Clear();
        var again = await OsPrep.RunAsync(host, fixedFacts, o with { Timestamp = o.Timestamp.AddHours(1) });
        Assert.All(again, s => Assert.False(s.Changed, s.Name + ": " + s.Detail));
        Assert.Empty(host.Commands);
    }

    [Fact]
    public async Task FirewalldOpensOnlyMissingPorts()
    {
        var host = new FakeHost(true);
        host.Results["firewall-cmd --permanent --list-ports"] = new CommandResult(0, "6443/tcp 10250/tcp\n", "");
        var facts = HostFactsTests.Facts();
        var step = await OsPrep.FirewalldAsync(host, facts, new OsPrepOptions { Timestamp = DateTimeOffset.UnixEpoch }, default);
        Assert.True(step.Changed);
        Assert.Equal(["--add-port=2379-2380/tcp", "--add-port=10257/tcp", "--add-port=10259/tcp"], host.Commands.Where(c => c.Length == 3 && c[1] == "--permanent" && c[2].StartsWith("--add")).Select(c => c[2]));
        var dis = await OsPrep.FirewalldAsync(host, facts, new OsPrepOptions { Timestamp = DateTimeOffset.UnixEpoch, Firewall = FirewallChoice.Disable }, default);
        Assert.Contains(host.Commands, c => c.SequenceEqual(["systemctl", "disable", "--now", "firewalld"]));
        Assert.True(dis.Changed);
    }

    [Fact]
    public async Task PreflightFixEditsContainerdInPlace()
    {
        var host = new FakeHost(true);
        var facts = HostFactsTests.Facts();
        var results = NodePreflight.Run(facts, new PreflightOptions { Profile = P("v1.29.3") });
        var steps = await PreflightFix.ApplyAsync(host, facts, results, new OsPrepOptions { Timestamp = DateTimeOffset.UnixEpoch, Firewall = FirewallChoice.Leave }, "registry.k8s.io/pause:3.9");
        Assert.Contains("SystemdCgroup = true", host.Text(Containerd.ConfigFile));
        Assert.StartsWith("version = 2\n", host.Text(Containerd.ConfigFile));
        Assert.Contains(host.Commands, c => c.SequenceEqual(["systemctl", "restart", "containerd"]));
        Assert.True(steps.Single(s => s.Name == "containerd-cgroup").Changed);
    }
}
