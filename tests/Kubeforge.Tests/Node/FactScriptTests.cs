using System.Text;
using Kubeforge.Hosts;
using Kubeforge.Node;

namespace Kubeforge.Tests.Node;

/// <summary>FactScriptTests run the real fact script on this machine (LocalHost, /bin/sh) and check that the config files it
/// reads in its one round are byte-for-byte and mode-for-mode what the file system holds, and the parser of its file part.</summary>
public class FactScriptTests
{
    [Fact]
    public async Task TheScriptReadsTheConfigFilesExactly()
    {
        var facts = await HostFacts.GatherAsync(new LocalHost(), TimeProvider.System);
        Assert.NotNull(facts.Snapshot);
        foreach (var path in HostFacts.ConfigFiles)
        {
            var snap = facts.Snapshot![path];
            if (!File.Exists(path))
            {
                Assert.Null(snap);
                continue;
            }
            Assert.NotNull(snap);
            Assert.Equal(File.ReadAllBytes(path), snap!.Content);
            Assert.Equal((int)File.GetUnixFileMode(path) & 0xFFF, snap.Mode);
            Assert.Equal(File.ReadAllText(path), facts.File(path));
        }
        Assert.Equal(Environment.ProcessorCount > 0, facts.Cpus > 0);
        Assert.False(string.IsNullOrEmpty(facts.Arch));
        // what the script reads with the shell's own `read` (no process) matches the files
        foreach (var k in new[] { "net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables", "net/ipv6/conf/default/forwarding" })
        {
            var path = "/proc/sys/" + k;
            Assert.Equal(File.Exists(path) ? File.ReadAllText(path).Trim() : null, facts.Sysctls.GetValueOrDefault(k.Replace('/', '.')));
        }
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), facts.Hostname);
        Assert.Equal(File.Exists("/proc/modules") ? File.ReadAllLines("/proc/modules").Select(l => l.Split(' ')[0]).ToHashSet() : [], facts.LoadedModules);
        Assert.Equal(File.ReadAllLines("/proc/swaps").Skip(1).Count(l => l.Trim().Length > 0), facts.ActiveSwaps.Count);
        var mem = File.ReadAllLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        Assert.Equal(long.Parse(mem.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024, facts.MemoryMb);
        Assert.Equal(File.Exists("/sys/fs/cgroup/cgroup.controllers"), facts.CgroupV2);
        Assert.True(facts.Binaries.ContainsKey("mount"), "mount is on every Linux PATH");
        Assert.StartsWith("/", facts.Binaries["mount"]);
    }

    private static Dictionary<string, string> Sections(string stat, byte[] all) => new(StringComparer.Ordinal)
    {
        ["filestat"] = stat,
        ["files"] = string.Join('\n', Convert.ToBase64String(all).Chunk(76).Select(c => new string(c))) + "\n",
    };

    [Fact]
    public void TheFilePartIsSplitBySizesAndModesAndChecked()
    {
        var fstab = Encoding.UTF8.GetBytes("# 根文件系统\nUUID=1 / ext4 defaults 0 1\n"); // non-ASCII: sizes are bytes
        var osr = "ID=debian\n"u8.ToArray();
        var stat = $"81a4 {osr.Length} /etc/os-release\n41ed 4096 /etc/containerd/config.toml\n8180 {fstab.Length} /etc/fstab\n";
        var snap = HostFacts.ParseFileSections(Sections(stat, [.. osr, .. fstab]))!;
        Assert.Equal(osr, snap["/etc/os-release"]!.Content);
        Assert.Equal(0x1A4, snap["/etc/os-release"]!.Mode);
        Assert.Null(snap["/etc/containerd/config.toml"]); // a directory is not a file
        Assert.Equal(fstab, snap["/etc/fstab"]!.Content);
        Assert.Equal(0x180, snap["/etc/fstab"]!.Mode);
        Assert.Null(snap["/etc/resolv.conf"]); // absent
        Assert.Equal(HostFacts.ConfigFiles.Count, snap.Count);
        // a file that changed size between stat and cat: the snapshot is refused, not misaligned
        Assert.Null(HostFacts.ParseFileSections(Sections(stat, [.. osr, .. fstab, 0x0a])));
        Assert.Null(HostFacts.ParseFileSections(Sections(stat, osr)));
        Assert.Null(HostFacts.ParseFileSections(new Dictionary<string, string> { ["filestat"] = stat }));
    }
}
