using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kubeforge.IntegrationTests.Kit;
using Xunit.Abstractions;

namespace Kubeforge.IntegrationTests.Lab;

/// <summary>LabStandInTests is the acceptance test of init and join on real systemd hosts with the kubelet and control-plane
/// TEST DOUBLES (tests/Kubeforge.LabNode, installed by lab.sh with KFLAB_STANDINS like the kubelet/kubeadm packages): on h1
/// `kubeforge init` runs etcd (Debian's etcd 3.4) and the test API server from the manifests it writes, on h2 `kubeforge join`
/// makes the stand-in kubelet do the TLS bootstrap; then nodes, leases, etcd health, kubelet restart (static pod processes are
/// adopted) and static pod removal are checked from this machine. It stops the lab it started.</summary>
[Collection("lab")]
public sealed class LabStandInTests(ITestOutputHelper output)
{
    private const string Version = "v1.29.4"; // etcd.yaml of 1.29 uses flags Debian's etcd 3.4 knows (the stand-in drops others)

    private static (int Code, string Out) Run(TimeSpan timeout, IDictionary<string, string>? env, params string[] argv) => Shell.Run(timeout, env, argv);

    private static string[] SshArgs(int i) => ["ssh", "-i", LabKit.Key, "-o", "UserKnownHostsFile=" + LabKit.KnownHosts, "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", $"root@{LabKit.Addr(i)}"];

    private static (int Code, string Out) TrySsh(int i, string script, int seconds = 60) => Run(TimeSpan.FromSeconds(seconds), null, [.. SshArgs(i), script]);

    private static string Ssh(int i, string script, int seconds = 60)
    {
        var (code, o) = TrySsh(i, script, seconds);
        Assert.True(code == 0, $"h{i}: {script}: exit {code}\n{o}");
        return o;
    }

    private static string Kubectl(string kubeconfig, params string[] args)
    {
        var (code, o) = Run(TimeSpan.FromSeconds(30), null, ["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=10s", .. args]);
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)}: {o}");
        return o;
    }

    private static void WaitFor(string what, TimeSpan timeout, Func<bool> condition)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < timeout, $"timed out after {timeout.TotalSeconds:0}s waiting for {what}");
            Thread.Sleep(1000);
        }
    }

    private static string KubeforgeBinary() => Shell.KubeforgeBinary();

    [Fact]
    public void InitAndJoinRunAgainstTheStandIns()
    {
        var (bcode, bout) = Run(TimeSpan.FromMinutes(15), null, Path.Join(LabKit.Repo, "tests", "lab", "build-standins.sh"));
        Assert.True(bcode == 0, bout);
        var standins = Path.Join(LabKit.Repo, ".build", "lab-standins"); // the script's default output folder (its stderr follows stdout in bout)
        var kubeforge = KubeforgeBinary();
        var tmp = Directory.CreateTempSubdirectory("kf-standin-");
        var total = Stopwatch.StartNew();
        try
        {
            var (upCode, upOut) = Run(TimeSpan.FromMinutes(10), new Dictionary<string, string> { ["KFLAB_STANDINS"] = standins }, LabKit.LabSh, "up", "2");
            Assert.True(upCode == 0, upOut);
            foreach (var i in new[] { 1, 2 })
            {
                var (c, o) = Run(TimeSpan.FromSeconds(120), null, "scp", "-q", "-i", LabKit.Key, "-o", "UserKnownHostsFile=" + LabKit.KnownHosts,
                    "-o", "BatchMode=yes", kubeforge, $"root@{LabKit.Addr(i)}:/usr/local/bin/kubeforge");
                Assert.True(c == 0, o);
                // the package-installed kubelet crash-loops until kubeadm writes its config, like the real one
                Assert.Contains("kubeforge-labnode kubelet", Ssh(i, "cat /usr/bin/kubelet; systemctl is-enabled kubelet; systemctl cat kubelet"));
            }

            // the guide's §1 first (init's preflight refuses ip_forward 0 and containerd's cgroupfs driver, like kubeadm)
            foreach (var i in new[] { 1, 2 })
            {
                Ssh(i, "kubeforge prepare 2>&1", 180);
            }

            // init: no image pull in init's preflight (Preflight.RunInitAsync checks only files and the user), so nothing to ignore
            var sw = Stopwatch.StartNew();
            var init = Ssh(1, $"kubeforge init --kubernetes-version {Version} --pod-network-cidr 10.244.0.0/16 --cni flannel 2>&1", 300);
            var initTime = sw.Elapsed;
            output.WriteLine(init);
            Assert.Contains("The API server is healthy", init);
            var join = Regex.Match(init, @"kubeadm join (\S+) --token (\S+) \\\s+--discovery-token-ca-cert-hash (\S+)");
            Assert.True(join.Success, "no join command in the init output");
            Assert.Equal($"{LabKit.Addr(1)}:6443", join.Groups[1].Value);

            sw.Restart();
            var joined = Ssh(2, $"kubeforge join {join.Groups[1].Value} --token {join.Groups[2].Value} --discovery-token-ca-cert-hash {join.Groups[3].Value} 2>&1", 300);
            var joinTime = sw.Elapsed;
            output.WriteLine(joined);
            Assert.Contains("This node has joined the cluster", joined);
            Assert.Contains("TLS bootstrap done", Ssh(2, "journalctl -u kubelet --no-pager | tail -n 200"));
            Ssh(2, "test -s /var/lib/kubelet/pki/kubelet-client-current.pem && grep -q 'client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem' /etc/kubernetes/kubelet.conf");

            var admin = Path.Join(tmp.FullName, "admin.conf");
            File.WriteAllText(admin, Ssh(1, "cat /etc/kubernetes/admin.conf"));
            Assert.Contains($"server: https://{LabKit.Addr(1)}:6443", File.ReadAllText(admin));
            WaitFor("nodes h1 and h2 Ready", TimeSpan.FromSeconds(60), () =>
            {
                var nodes = JsonNode.Parse(Kubectl(admin, "get", "nodes", "-o", "json"))!["items"]!.AsArray();
                var ready = nodes.Where(n => n!["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True") == true)
                    .Select(n => (string?)n!["metadata"]!["name"]).ToHashSet();
                return ready.SetEquals(["h1", "h2"]);
            });
            Assert.Contains("node-role.kubernetes.io/control-plane", Kubectl(admin, "get", "node", "h1", "--show-labels"));
            Ssh(2, "test -f /etc/cni/net.d/10-flannel.conflist");
            foreach (var lease in new[] { "kube-scheduler", "kube-controller-manager" })
            {
                WaitFor($"lease {lease} held by h1", TimeSpan.FromSeconds(30), () =>
                    Kubectl(admin, "-n", "kube-system", "get", "lease", lease, "-o", "jsonpath={.spec.holderIdentity}", "--ignore-not-found").StartsWith("h1_", StringComparison.Ordinal));
            }
            foreach (var n in new[] { "h1", "h2" })
                Assert.Equal(n, Kubectl(admin, "-n", "kube-node-lease", "get", "lease", n, "-o", "jsonpath={.spec.holderIdentity}"));
            Assert.Contains("Running", Kubectl(admin, "-n", "kube-system", "get", "pod", "etcd-h1", "-o", "jsonpath={.status.phase}"));
            const string Etcdctl = "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt " +
                "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key endpoint health 2>&1";
            Assert.Contains("is healthy", Ssh(1, Etcdctl));

            WaitFor("the init node's client certificate rotation (selfnodeclient CSR)", TimeSpan.FromSeconds(30), () =>
                TrySsh(1, "test -s /var/lib/kubelet/pki/kubelet-client-current.pem").Code == 0);

            // a kubelet restart keeps the static pod processes (adopted from their pid files), and the API keeps answering
            var etcdPid = Ssh(1, "head -1 /run/kubeforge-labnode/etcd.pid").Trim();
            Assert.Contains("/usr/bin/etcd", Ssh(1, $"tr '\\0' ' ' < /proc/{etcdPid}/cmdline"));
            Ssh(1, "systemctl restart kubelet");
            WaitFor("the restarted kubelet to adopt etcd", TimeSpan.FromSeconds(30), () =>
                TrySsh(1, "journalctl -u kubelet --no-pager -n 100 | grep -q 'etcd: adopted running process'").Code == 0);
            Assert.Equal(etcdPid, Ssh(1, "head -1 /run/kubeforge-labnode/etcd.pid").Trim());
            Ssh(1, $"test -d /proc/{etcdPid}");
            Assert.Contains("h2", Kubectl(admin, "get", "nodes"));
            Assert.Contains("is healthy", Ssh(1, Etcdctl));

            // removing a manifest stops its static pod
            Assert.Equal(0, TrySsh(1, "pgrep -f '[k]ubeforge-labnode kube-scheduler'").Code);
            Ssh(1, "mv /etc/kubernetes/manifests/kube-scheduler.yaml /root/");
            WaitFor("kube-scheduler to stop", TimeSpan.FromSeconds(30), () => TrySsh(1, "pgrep -f '[k]ubeforge-labnode kube-scheduler'").Code == 1);
            Assert.Equal(0, TrySsh(1, "pgrep -f '[k]ubeforge-labnode kube-controller-manager'").Code);
            output.WriteLine($"init {initTime.TotalSeconds:0.0}s, join {joinTime.TotalSeconds:0.0}s, whole test after builds {total.Elapsed.TotalSeconds:0}s");
        }
        finally
        {
            var (dc, dout) = Run(TimeSpan.FromMinutes(2), null, LabKit.LabSh, "down");
            tmp.Delete(true);
            Assert.True(dc == 0, dout);
        }
    }
}
