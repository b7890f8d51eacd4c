using Kubeforge.Node;
using Kubeforge.Phases;

namespace Kubeforge.Tests.Node;

public class HostFactsTests
{
    // Captured from a Debian 12 machine (addresses changed), with sections as the fact script prints them.
    internal const string Output = """
        @@kf:arch
        x86_64
        @@kf:systemd
        yes
        @@kf:cgroupfs
        cgroup2fs
        @@kf:route
        [{"dst":"default","gateway":"10.0.0.1","dev":"eth1","protocol":"dhcp","metric":200,"flags":[]},{"dst":"default","gateway":"192.0.2.1","dev":"eth0","metric":100,"flags":[]}]
        @@kf:route6
        [{"dst":"default","gateway":"fd00::1","dev":"eth0","metric":1024,"flags":[],"pref":"medium"}]
        @@kf:addr
        [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"}]},{"ifindex":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"link_type":"ether","address":"02:fc:00:00:00:01","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":24,"scope":"global","label":"eth0"},{"family":"inet6","local":"fd00::2","prefixlen":64,"scope":"global"},{"family":"inet6","local":"fe80::fc:ff:fe00:1","prefixlen":64,"scope":"link"}]},{"ifindex":5,"ifname":"eth1","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"link_type":"ether","address":"02:fc:00:00:00:02","addr_info":[{"family":"inet","local":"10.0.0.7","prefixlen":16,"scope":"global"}]}]
        @@kf:swaps
        Filename				Type		Size		Used		Priority
        /swapfile                               file		1048572		0		-2
        @@kf:selinux
        Enforcing
        @@kf:hostname
        Node-1
        @@kf:resolve
        @@kf:uuid
        4c4c4544-0042-3510-8052-b4c04f384b32
        @@kf:nproc
        4
        @@kf:meminfo
        MemTotal:        8035024 kB
        @@kf:sysctl net/ipv4/ip_forward
        0
        @@kf:ports
        LISTEN 0      4096         0.0.0.0:22        0.0.0.0:*
        LISTEN 0      4096       127.0.0.1:10250      0.0.0.0:*
        LISTEN 0      128           [::]:6443           [::]:*
        @@kf:bins
        ip /usr/sbin/ip
        mount /usr/bin/mount
        nsenter /usr/bin/nsenter
        containerd /usr/bin/containerd
        modprobe /usr/sbin/modprobe
        @@kf:modules
        overlay
        nf_tables
        @@kf:services
        containerd
        firewalld
        @@kf:containerd
        containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1
        @@kf:kubelet
        Kubernetes v1.29.3
        @@kf:time
        1700000012.500000000
        """;

    internal static readonly Dictionary<string, string?> Files = new()
    {
        ["/etc/os-release"] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
        ["/etc/containerd/config.toml"] = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n",
        ["/etc/fstab"] = "UUID=abc / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n",
        ["/etc/resolv.conf"] = "nameserver 127.0.0.53\n",
    };

    internal static HostFacts Facts() => HostFacts.Parse("n1", Output, Files, DateTimeOffset.FromUnixTimeSeconds(1700000000));

    [Fact]
    public void ParsesEverySection()
    {
        var f = Facts();
        Assert.Equal(new OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", OsFamily.Deb), f.Os);
        Assert.Equal("x86_64", f.Arch);
        Assert.True(f.Systemd);
        Assert.True(f.CgroupV2);
        Assert.Equal("eth0", f.DefaultInterface);
        Assert.Equal(["192.0.2.2", "fd00::2"], f.DefaultAddresses);
        Assert.Equal(2, f.Interfaces.Count);
        Assert.Equal("02:fc:00:00:00:02", f.Interfaces[1].Mac);
        Assert.Equal(["/swapfile"], f.ActiveSwaps);
        Assert.Equal("enforcing", f.SelinuxMode);
        Assert.True(f.FirewalldActive);
        Assert.Equal("Node-1", f.Hostname);
        Assert.False(f.HostnameResolves);
        Assert.Equal(4, f.Cpus);
        Assert.Equal(7846, f.MemoryMb);
        Assert.Equal("0", f.Sysctls["net.ipv4.ip_forward"]);
        Assert.False(f.Sysctls.ContainsKey("net.bridge.bridge-nf-call-iptables"));
        Assert.Equal([22, 6443, 10250], f.ListeningPorts.Order());
        Assert.Equal("/usr/bin/containerd", f.Binaries["containerd"]);
        Assert.Contains("overlay", f.LoadedModules);
        Assert.Equal("1.6.20", f.ContainerdVersion);
        Assert.Equal("v1.29.3", f.KubeletVersion);
        Assert.Equal(12.5, f.ClockSkew.TotalSeconds, 3);
        Assert.Equal("4c4c4544-0042-3510-8052-b4c04f384b32", f.ProductUuid);
    }

    [Theory]
    [InlineData("ID=\"openEuler\"\nVERSION_ID=\"22.03\"", "openEuler", OsFamily.Rpm)]
    [InlineData("ID=kylin\nVERSION_ID=V10", "kylin", OsFamily.Rpm)]
    [InlineData("ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"", "rocky", OsFamily.Rpm)]
    [InlineData("ID=uos\nVERSION_ID=20", "uos", OsFamily.Deb)]
    [InlineData("ID=ubuntu\nVERSION_ID=\"22.04\"", "ubuntu", OsFamily.Deb)]
    public void MapsOsFamilies(string text, string id, OsFamily family)
    {
        var os = HostFacts.ParseOsRelease("h", text);
        Assert.Equal(id, os.Id);
        Assert.Equal(family, os.Family);
    }

    [Fact]
    public void UnsupportedOsNamesHostAndList()
    {
        var e = Assert.Throws<UserError>(() => HostFacts.ParseOsRelease("root@10.0.0.5", "ID=arch\nPRETTY_NAME=\"Arch Linux\""));
        Assert.Contains("root@10.0.0.5", e.Message);
        Assert.Contains("Arch Linux", e.Message);
        Assert.Contains("openEuler", e.Message);
        Assert.Throws<UserError>(() => HostFacts.ParseOsRelease("h", null));
    }

    [Fact]
    public void SmallParsers()
    {
        Assert.Null(HostFacts.ParseDefaultRoute("[]"));
        Assert.Null(HostFacts.ParseDefaultRoute(""));
        Assert.Equal("permissive", HostFacts.ParseSelinux("0"));
        Assert.Null(HostFacts.ParseSelinux(""));
        Assert.Equal("1.7.13", HostFacts.ParseContainerdVersion("containerd containerd.io 1.7.13 7c3aca7a610df76212171d200ca3811ff6096eb8"));
        Assert.Equal("2.0.0", HostFacts.ParseContainerdVersion("containerd github.com/containerd/containerd/v2 v2.0.0 207ad711eabd375a01713109a8a197d197ff6542"));
        Assert.Empty(HostFacts.ParseSwaps("Filename\tType\tSize\tUsed\tPriority\n"));
    }
}
