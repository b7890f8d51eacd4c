using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kubeforge.Cli;
using Kubeforge.IntegrationTests.Kit;
using Xunit.Abstractions;

namespace Kubeforge.IntegrationTests.Lab;

/// <summary>LabPackageMirrorTests run `kubeforge up -f cluster.yaml --steps os-prepare,containerd,packages` on lab host h1
/// (tests/lab/lab.sh up 1) made air-gapped (no containerd, runc or Debian indexes) with only the mirrors named in the cluster
/// file: spec.mirror.osPackageRepository/osPackageKey (a signed flat apt repository of Debian's containerd and runc) and
/// spec.mirror.packageRepository/packageKey (a pkgs.k8s.io-layout repository, &lt;base&gt;v1.29/deb/, of kubelet, kubectl and
/// cri-tools stand-ins built here with dpkg-deb). It checks the pinned versions installed and held, the signed-by sources,
/// a rerun that changes nothing, and a Kubernetes repository signed by another key refused in one line. It stops the mirror
/// server and the lab it started.</summary>
[Collection("lab")]
public sealed class LabPackageMirrorTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("kf-lab-pkgmirror-").FullName;
    private AptRepoKit? _repos;

    private static string Ssh(string script)
    {
        var (code, o) = Proc.RunWithTimeout(TimeSpan.FromSeconds(120), "ssh", "-i", LabKit.Key, "-o", "UserKnownHostsFile=" + LabKit.KnownHosts,
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", $"root@{LabKit.Addr(1)}", script);
        Assert.True(code == 0, $"ssh {script}: {o}");
        return o;
    }

    private (int Code, string Out, string Err) Up(string file, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var sw = Stopwatch.StartNew();
        var code = App.Run(["up", "-f", file, "--steps", "os-prepare,containerd,packages", "--known-hosts", LabKit.KnownHosts,
            "--state-dir", Path.Join(_tmp, "state"), .. args], o, e);
        output.WriteLine($"$ up -f {Path.GetFileName(file)} {string.Join(' ', args)} -> {code} in {sw.Elapsed.TotalSeconds:0.0}s\n{o}{e}");
        return (code, o.ToString(), e.ToString());
    }

    private string Cluster(string name, string k8sBase)
    {
        var path = Path.Join(_tmp, name);
        File.WriteAllText(path, $"""
            apiVersion: kubeforge.io/v1alpha1
            kind: Cluster
            metadata:
              name: mirror
            spec:
              kubernetesVersion: v1.29.3
              images: preinstalled
              hosts:
                - name: h1
                  address: {LabKit.Addr(1)}
                  sshKey: {LabKit.Key}
                  roles: [control-plane]
              mirror:
                osPackageRepository: {k8sBase.Replace("/k8s/", "/os").Replace("/bad-k8s/", "/os")}
                osPackageKey: mirror.asc
                packageRepository: {k8sBase}
                packageKey: mirror.asc

            """);
        return path;
    }

    // stand-ins of pkgs.k8s.io's packages: the version strings it publishes for v1.29.3, and binaries that answer --version the
    // way the host facts read them (the last word of `kubelet --version`)
    private static void KubernetesDebs(string debs)
    {
        Directory.CreateDirectory(debs);
        AptRepoKit.BuildDeb(debs, "kubelet", "1.29.3-1.1", "iptables, conntrack, ebtables, ethtool, socat",
            new Dictionary<string, string> { ["/usr/bin/kubelet"] = "#!/bin/sh\necho 'Kubernetes v1.29.3'\n" });
        AptRepoKit.BuildDeb(debs, "kubectl", "1.29.3-1.1", null,
            new Dictionary<string, string> { ["/usr/bin/kubectl"] = "#!/bin/sh\necho 'Client Version: v1.29.3'\n" });
        AptRepoKit.BuildDeb(debs, "cri-tools", "1.29.0-1.1", null,
            new Dictionary<string, string> { ["/usr/bin/crictl"] = "#!/bin/sh\necho 'crictl version v1.29.0'\n" });
    }

    [Fact]
    public void UpInstallsContainerdAndPinnedKubernetesPackagesFromTheClusterFilesMirrors()
    {
        var sw = Stopwatch.StartNew();
        var (labCode, labOut) = Proc.RunWithTimeout(TimeSpan.FromMinutes(15), "env", "KFLAB_SWAP=0", LabKit.LabSh, "up", "1");
        Assert.True(labCode == 0, labOut);
        _repos = new AptRepoKit(_tmp);
        var osDebs = AptRepoKit.Download(Path.Join(_tmp, "os-debs"), "containerd", "runc");
        var k8sDebs = Path.Join(_tmp, "k8s-debs");
        KubernetesDebs(k8sDebs);
        var good = _repos.GpgKey("mirror");
        var other = _repos.GpgKey("other");
        AptRepoKit.SignedRepo(Path.Join(_repos.Web, "os"), osDebs, good);
        AptRepoKit.SignedRepo(Path.Join(_repos.Web, "k8s", "v1.29", "deb"), k8sDebs, good);
        AptRepoKit.SignedRepo(Path.Join(_repos.Web, "bad-k8s", "v1.29", "deb"), k8sDebs, other);
        AptRepoKit.ExportKey(good, Path.Join(_tmp, "mirror.asc"));
        var server = _repos.Serve();
        var containerdVersion = AptRepoKit.DebVersion(osDebs, "containerd");

        // an air-gapped host: no containerd, no runc, no index of Debian's archive
        Ssh("systemctl stop containerd; DEBIAN_FRONTEND=noninteractive apt-get purge -y -q containerd runc && rm -f /var/lib/apt/lists/*debian.org* && ! command -v containerd && ! command -v runc && ! command -v kubelet");
        var file = Cluster("cluster.yaml", server + "/k8s/");
        var first = Up(file, "--output", "plain");
        Assert.True(first.Code == 0, first.Out + first.Err);
        Assert.Contains("3 tasks: 3 done", first.Out);

        Assert.Equal($"install ok installed {containerdVersion}", Ssh("dpkg-query -W -f '${Status} ${Version}' containerd").Trim());
        Assert.Matches($@"\*\*\* {Regex.Escape(containerdVersion)} 500\s+500 {Regex.Escape(server)}/os/? \./ Packages", Ssh("apt-cache policy containerd"));
        Assert.Equal("active", Ssh("systemctl is-active containerd").Trim());
        Assert.Equal("kubelet 1.29.3-1.1\nkubectl 1.29.3-1.1\ncri-tools 1.29.0-1.1\n",
            Ssh("for p in kubelet kubectl cri-tools; do dpkg-query -W -f '${Package} ${Version}\\n' $p; done"));
        Assert.Matches($@"\*\*\* 1\.29\.3-1\.1 500\s+500 {Regex.Escape(server)}/k8s/v1\.29/deb/?\s+Packages", Ssh("apt-cache policy kubelet"));
        Assert.Equal(["cri-tools", "kubectl", "kubelet"], Ssh("apt-mark showhold").Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        Assert.Equal("Kubernetes v1.29.3", Ssh("kubelet --version").Trim());
        Assert.Equal($"# Written by kubeforge\ndeb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] {server}/k8s/v1.29/deb/ /\n", Ssh("cat /etc/apt/sources.list.d/kubernetes.list"));
        Assert.Contains($"deb [signed-by=/etc/apt/keyrings/kubeforge-os-mirror.asc] {server}/os/ ./", Ssh("cat /etc/apt/sources.list.d/kubeforge-os-mirror.list"));
        var key = File.ReadAllText(Path.Join(_tmp, "mirror.asc"));
        Assert.Equal(key, Ssh("cat /etc/apt/keyrings/kubernetes-apt-keyring.asc"));
        Assert.Equal(key, Ssh("cat /etc/apt/keyrings/kubeforge-os-mirror.asc"));

        // a second up: the journal has every task with the same inputs; forced again, the steps find nothing to change
        var second = Up(file, "--output", "plain");
        Assert.True(second.Code == 0, second.Out + second.Err);
        Assert.Contains("3 tasks: 0 done, 0 unchanged, 3 skipped, 0 failed", second.Out);
        var forced = Up(file, "--from-step", "os-prepare", "--output", "json");
        Assert.True(forced.Code == 0, forced.Out + forced.Err);
        var finished = forced.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)
            .Where(n => n["event"]!.GetValue<string>() == "taskFinished")
            .ToDictionary(n => n["step"]!.GetValue<string>(), n => n["status"]!.GetValue<string>());
        Assert.Equal("unchanged", finished["containerd"]);
        Assert.Equal("unchanged", finished["packages"]);

        // the same packages signed by a key the host was not given: refused before anything is installed, in one line
        var bad = Up(Cluster("bad.yaml", server + "/bad-k8s/"), "--output", "plain");
        Assert.NotEqual(0, bad.Code);
        var all = bad.Out + bad.Err;
        var refusal = all.Split('\n').Where(l => l.Contains("the Kubernetes package repository", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(refusal);
        Assert.Contains($"the Kubernetes package repository {server}/bad-k8s/v1.29/deb/ was refused: W: GPG error:", refusal[0]);
        Assert.Contains("NO_PUBKEY", refusal[0]);
        Assert.Contains("spec.mirror.packageKey", refusal[0]);
        Assert.DoesNotContain("   at ", all);
        Assert.Equal("kubelet 1.29.3-1.1", Ssh("dpkg-query -W -f '${Package} ${Version}' kubelet").Trim());
        output.WriteLine($"LabPackageMirrorTests: {sw.Elapsed.TotalSeconds:0} s");
        Console.WriteLine($"LabPackageMirrorTests.UpInstallsContainerdAndPinnedKubernetesPackagesFromTheClusterFilesMirrors: {sw.Elapsed.TotalSeconds:0} s");
    }

    public void Dispose()
    {
        _repos?.Dispose();
        Proc.RunWithTimeout(TimeSpan.FromMinutes(2), LabKit.LabSh, "down");
        Directory.Delete(_tmp, recursive: true);
    }
}
