using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Tests.Node;

public class PreflightTests
{
    private static VersionProfile P(string v) => VersionTable.TryGet(KubeVersion.Parse(v), out var p) ? p : throw new InvalidOperationException();

    private static IReadOnlyList<CheckResult> Run(HostFacts f, string v = "v1.29.3", params string[] ignore) =>
        NodePreflight.Run(f, new PreflightOptions { Profile = P(v), IgnoreErrors = ignore });

    private static CheckResult Get(IReadOnlyList<CheckResult> r, string name) => r.Single(c => c.Name == name);

    [Fact]
    public void ReportsEachSeededProblemWithItsFix()
    {
        var r = Run(HostFactsTests.Facts());
        Assert.Equal(CheckLevel.Warning, Get(r, "Swap").Level);
        Assert.True(Get(r, "Swap").Safe);
        Assert.Equal(CheckLevel.Warning, Get(r, "SwapFstab").Level);
        Assert.Equal(CheckLevel.Error, Get(r, "FileContent--proc-sys-net-ipv4-ip_forward").Level);
        Assert.Equal(CheckLevel.Error, Get(r, "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables").Level); // v1.29 still checks it
        Assert.Equal(CheckLevel.Error, Get(r, "CgroupDriver").Level);
        Assert.Contains("SystemdCgroup = false", Get(r, "CgroupDriver").Message);
        Assert.Equal(CheckLevel.Error, Get(r, "FileExisting-iptables").Level);
        Assert.Equal(CheckLevel.Error, Get(r, "FileExisting-conntrack").Level); // mandatory before v1.32
        Assert.Equal(CheckLevel.Warning, Get(r, "FileExisting-socat").Level);
        Assert.Equal(CheckLevel.Error, Get(r, "Port-6443").Level);
        Assert.Equal(CheckLevel.Error, Get(r, "Port-10250").Level);
        Assert.Equal(CheckLevel.Ok, Get(r, "Port-2379").Level);
        Assert.Equal(CheckLevel.Error, Get(r, "NodeName").Level); // "Node-1" is not lower case
        Assert.Equal(CheckLevel.Warning, Get(r, "ClockSkew").Level);
        Assert.Equal(CheckLevel.Warning, Get(r, "Firewalld").Level);
        Assert.Equal(CheckLevel.Warning, Get(r, "SELinux").Level);
        Assert.Equal(CheckLevel.Warning, Get(r, "MultipleInterfaces").Level);
        Assert.Contains("192.0.2.2 of eth0", Get(r, "MultipleInterfaces").Message);
        Assert.Equal(CheckLevel.Warning, Get(r, "ResolvConf").Level); // 127.0.0.53 without systemd-resolved
        Assert.Equal(CheckLevel.Warning, Get(r, "KernelModulesConfig").Level);
        Assert.All(r.Where(c => c.Level != CheckLevel.Ok), c => Assert.False(string.IsNullOrEmpty(c.Fix)));
    }

    [Fact]
    public void VersionDifferencesComeFromTheProfile()
    {
        var f = HostFactsTests.Facts();
        Assert.Equal(CheckLevel.Error, Get(Run(f, "v1.22.3"), "Swap").Level);
        Assert.Equal(CheckLevel.Warning, Get(Run(f, "v1.33.0"), "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables").Level);
        Assert.DoesNotContain(Run(f, "v1.33.0"), c => c.Name == "FileExisting-conntrack");
    }

    [Fact]
    public void IgnorePreflightErrorsLikeKubeadm()
    {
        var f = HostFactsTests.Facts();
        var r = Run(f, "v1.29.3", "Port-6443", "NODENAME");
        Assert.True(Get(r, "Port-6443").Ignored);
        Assert.Equal(CheckLevel.Warning, Get(r, "Port-6443").Level);
        Assert.Equal(CheckLevel.Warning, Get(r, "NodeName").Level);
        Assert.Equal(CheckLevel.Error, Get(r, "Port-10250").Level);
        var all = Run(f, "v1.29.3", "all");
        Assert.DoesNotContain(all, c => c.Level == CheckLevel.Error);
        NodePreflight.ThrowIfErrors("h", all);
        var e = Assert.Throws<UserError>(() => NodePreflight.ThrowIfErrors("h", r));
        Assert.Contains("[ERROR Port-10250]", e.Message);
        Assert.Contains("\t[WARNING Port-6443]: Port 6443 is in use (error ignored)", NodePreflight.Format(r));
    }

    [Fact]
    public void CleanHostPasses()
    {
        var f = HostFactsTests.Facts() with
        {
            ActiveSwaps = [],
            SelinuxMode = null,
            FirewalldActive = false,
            Hostname = "node-1",
            HostnameResolves = true,
            ClockSkew = TimeSpan.FromMilliseconds(300),
            Interfaces = [HostFactsTests.Facts().Interfaces[0]],
            ListeningPorts = new HashSet<int> { 22 },
            ActiveServices = new HashSet<string> { "containerd", "systemd-resolved" },
            Sysctls = new Dictionary<string, string> { ["net.ipv4.ip_forward"] = "1", ["net.bridge.bridge-nf-call-iptables"] = "1" },
            Binaries = new[] { "ip", "iptables", "mount", "nsenter", "conntrack", "ebtables", "ethtool", "socat", "tc", "touch", "containerd" }.ToDictionary(b => b, b => "/usr/bin/" + b),
            Files = new Dictionary<string, string?>
            {
                ["/etc/containerd/config.toml"] = Containerd.RenderConfig("registry.k8s.io/pause:3.9"),
                ["/etc/fstab"] = OsPrep.CommentSwapLines(HostFactsTests.Files["/etc/fstab"]!),
                ["/etc/resolv.conf"] = "nameserver 10.0.0.2\n",
                [OsPrep.ModulesFile] = OsPrep.ModulesConf(),
                [OsPrep.SysctlFile] = OsPrep.SysctlConf(),
            },
        };
        var r = Run(f);
        Assert.All(r, c => Assert.True(c.Level == CheckLevel.Ok, $"{c.Name}: {c.Message}"));
    }

    [Theory]
    [InlineData("node-1", true)]
    [InlineData("a.b-c.d", true)]
    [InlineData("Node1", false)]
    [InlineData("node_1", false)]
    [InlineData("-a", false)]
    [InlineData("", false)]
    public void NodeNames(string name, bool ok) => Assert.Equal(ok, NodePreflight.IsValidNodeName(name));
}
