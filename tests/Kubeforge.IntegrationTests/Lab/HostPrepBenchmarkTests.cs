using Kubeforge.IntegrationTests.Kit;
using Xunit.Abstractions;

namespace Kubeforge.IntegrationTests.Lab;

/// <summary>HostPrepBenchmarkTests runs bench/hostprep-vs-ansible.sh — host preparation (OS preparation, containerd
/// configuration and restart) on the same freshly booted lab hosts with Kubeforge (`up --steps os-prepare,containerd`) and
/// with the equivalent Ansible playbook (Debian's ansible, default forks) for 3, 10 and 20 hosts, side by side in one run —
/// and checks the targets on the ratios it reports: Kubeforge at least 5x faster at 10 hosts, and its time at 20
/// hosts at most 1.5x its time at 3. The table goes to the test output and .build/bench/hostprep-vs-ansible.tsv.</summary>
[Collection("lab")]
public sealed class HostPrepBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void KubeforgeOutpacesAnsibleAndScalesFlat()
    {
        var (code, o) = Shell.Run(TimeSpan.FromMinutes(60), null, Path.Join(LabKit.Repo, "bench", "hostprep-vs-ansible.sh"), "3", "10", "20");
        output.WriteLine(o);
        Assert.True(code == 0, o);
        var rows = File.ReadAllLines(Path.Join(LabKit.Repo, ".build", "bench", "hostprep-vs-ansible.tsv")).Skip(1)
            .Select(l => l.Split('\t')).ToDictionary(c => int.Parse(c[0], System.Globalization.CultureInfo.InvariantCulture),
                c => (Ansible: double.Parse(c[1], System.Globalization.CultureInfo.InvariantCulture), Kubeforge: double.Parse(c[2], System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var (n, (a, k)) in rows)
        {
            output.WriteLine($"FIGURE {n} hosts: ansible {a:0.0} s, kubeforge {k:0.0} s, ratio {a / k:0.0}");
        }
        Assert.True(rows[10].Ansible / rows[10].Kubeforge >= 5, $"at 10 hosts Kubeforge is only {rows[10].Ansible / rows[10].Kubeforge:0.0}x faster");
        Assert.True(rows[20].Kubeforge <= 1.5 * rows[3].Kubeforge, $"Kubeforge at 20 hosts took {rows[20].Kubeforge:0.0} s, at 3 hosts {rows[3].Kubeforge:0.0} s");
    }
}
