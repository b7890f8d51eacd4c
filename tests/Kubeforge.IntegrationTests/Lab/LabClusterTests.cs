using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.IntegrationTests.Kit;
using Xunit.Abstractions;

namespace Kubeforge.IntegrationTests.Lab;

/// <summary>LabClusterTests is the acceptance test of the cluster installer (issue 5) and of HA leader election in the lab
/// (issue 6): six nspawn hosts with the kubelet/control-plane TEST DOUBLES (tests/Kubeforge.LabNode), one cluster file with
/// three control planes behind a keepalived VIP and haproxy and two workers, driven over SSH by the real `kubeforge` binary.
/// In order: up (timed) and what it built (VIP /readyz, etcd members, kubeadm objects, worker TLS bootstrap through the VIP);
/// a second up (all unchanged, under a tenth of the time); the VIP holder's keepalived stopped and then the holder powered off
/// (VIP move and API gap measured); status with a control plane down; add-node with a control plane down; the host of the
/// kube-scheduler lease holder powered off (takeover measured); ha verify; reset of the cluster with the cleanliness check; and
/// an install killed at five points (host preparation, certificates being written, an etcd member being added, a worker
/// joining, the CNI step) whose reruns converge (managed files hashed on every host, then a forced rerun changes nothing).
/// Figures go to the test output and to .build/lab-figures/cluster.txt. It stops the lab it started.</summary>
[Collection("lab")]
public sealed class LabClusterTests(ITestOutputHelper output)
{
    private const string Version = "v1.29.0"; // the stand-in kubelet reports v1.29.0; etcd.yaml of 1.29 suits Debian's etcd 3.4
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(4), Renew = TimeSpan.FromSeconds(3), Retry = TimeSpan.FromSeconds(1);
    private readonly List<string> _figures = [];
    private string _dir = "";
    private string _kubeforge = "";

    private static string Vip => $"{LabKit.Net}.100";

    private void Figure(string line)
    {
        _figures.Add(line);
        output.WriteLine("FIGURE " + line);
    }

    private static string ClusterYaml(int hosts)
    {
        var sb = new StringBuilder();
        sb.Append("apiVersion: kubeforge.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: lab\nspec:\n");
        sb.Append($"  kubernetesVersion: {Version}\n  kubernetesBinaries: preinstalled\n  images: preinstalled\n  knownHosts: {LabKit.KnownHosts}\n  hosts:\n");
        for (var i = 1; i <= hosts; i++)
        {
            sb.Append($"    - name: h{i}\n      address: {LabKit.Addr(i)}\n      sshKey: {LabKit.Key}\n      roles: [{(i <= 3 ? "control-plane" : "worker")}]\n");
        }
        sb.Append($"  ha:\n    vip: {Vip}\n");
        sb.Append($"  leaderElection:\n    leaseDuration: {Lease.TotalSeconds}s\n    renewDeadline: {Renew.TotalSeconds}s\n    retryPeriod: {Retry.TotalSeconds}s\n");
        return sb.ToString();
    }

    private string File5 => Path.Join(_dir, "cluster.yaml");
    private string File6 => Path.Join(_dir, "cluster6.yaml");

    [Fact]
    public void ThreeControlPlanesTwoWorkersBehindAVip()
    {
        var (bcode, bout) = Shell.Run(TimeSpan.FromMinutes(15), null, Path.Join(LabKit.Repo, "tests", "lab", "build-standins.sh"));
        Assert.True(bcode == 0, bout);
        var standins = Path.Join(LabKit.Repo, ".build", "lab-standins"); // the script's default output folder
        _kubeforge = Shell.KubeforgeBinary();
        _dir = Directory.CreateTempSubdirectory("kf-labcluster-").FullName;
        File.WriteAllText(File5, ClusterYaml(5));
        File.WriteAllText(File6, ClusterYaml(6));
        try
        {
            var (upCode, upOut) = Shell.Run(TimeSpan.FromMinutes(10), new Dictionary<string, string> { ["KFLAB_STANDINS"] = standins }, LabKit.LabSh, "up", "6");
            Assert.True(upCode == 0, upOut);

            FirstAndSecondUp();
            HighAvailability();
            ResetLeavesCleanHosts();
            KilledInstallsConverge();
        }
        finally
        {
            Directory.CreateDirectory(Path.Join(LabKit.Repo, ".build", "lab-figures"));
            File.WriteAllLines(Path.Join(LabKit.Repo, ".build", "lab-figures", "cluster.txt"), _figures);
            var (dc, dout) = Shell.Run(TimeSpan.FromMinutes(3), null, LabKit.LabSh, "down");
            Directory.Delete(_dir, true);
            Assert.True(dc == 0, dout);
        }
    }

    private (int Code, string Out) Kf(TimeSpan timeout, params string[] args) => Shell.Run(timeout, null, [_kubeforge, .. args]);

    private void FirstAndSecondUp()
    {
        var sw = Stopwatch.StartNew();
        var (code, o) = Kf(TimeSpan.FromMinutes(10), "up", "-f", File5);
        var first = sw.Elapsed;
        output.WriteLine(o);
        Assert.True(code == 0, o);
        Figure($"up (3 control planes + 2 workers, HA): {first.TotalSeconds:0.0} s");

        // the VIP answers /readyz through haproxy, verified with the cluster CA
        var adminConf = Encoding.UTF8.GetBytes(Lab.Ssh(1, "cat /etc/kubernetes/admin.conf"));
        var vipError = ReadyzThroughVip(adminConf);
        Assert.True(vipError is null, "the VIP does not answer /readyz: " + vipError);

        // three healthy etcd members, listed with the generated certificates
        var members = Lab.Ssh(1, Etcdctl("member list -w simple"));
        Assert.Equal(3, members.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(", started, ", StringComparison.Ordinal)));
        foreach (var n in new[] { "h1", "h2", "h3" })
        {
            Assert.Contains($", {n}, https://", members);
        }
        Assert.Equal(3, Lab.Ssh(1, Etcdctl("endpoint health --cluster")).Split('\n').Count(l => l.Contains("is healthy", StringComparison.Ordinal)));

        // every kubeadm object is in the (etcd-backed) test API server, read through the VIP
        var admin = Path.Join(_dir, "admin.conf");
        File.WriteAllText(admin, Lab.Ssh(1, "cat /etc/kubernetes/admin.conf"));
        Assert.Contains($"server: https://{Vip}:8443", File.ReadAllText(admin));
        foreach (var (ns, kind, name) in new[]
        {
            ("kube-system", "configmap", "kubeadm-config"), ("kube-system", "configmap", "kubelet-config"), ("kube-system", "configmap", "kube-proxy"),
            ("kube-system", "configmap", "coredns"), ("kube-public", "configmap", "cluster-info"), ("kube-system", "secret", "kubeadm-certs"),
            ("kube-system", "deployment", "coredns"), ("kube-system", "daemonset", "kube-proxy"), ("kube-system", "service", "kube-dns"),
            ("kube-flannel", "daemonset", "kube-flannel-ds"), ("kube-public", "role", "kubeadm:bootstrap-signer-clusterinfo"),
        })
        {
            Lab.Kubectl(admin, "-n", ns, "get", kind, name);
        }
        foreach (var crb in new[] { "kubeadm:kubelet-bootstrap", "kubeadm:node-autoapprove-bootstrap", "kubeadm:node-autoapprove-certificate-rotation", "kubeadm:get-nodes" })
        {
            Lab.Kubectl(admin, "get", "clusterrolebinding", crb);
        }
        Assert.Contains("bootstrap-token-", Lab.Kubectl(admin, "-n", "kube-system", "get", "secrets", "-o", "name"));
        var nodes = JsonNode.Parse(Lab.Kubectl(admin, "get", "nodes", "-o", "json"))!["items"]!.AsArray();
        Assert.Equal(["h1", "h2", "h3", "h4", "h5"], nodes.Select(n => (string)n!["metadata"]!["name"]!).Order());
        Assert.All(nodes, n => Assert.Contains(n!["status"]!["conditions"]!.AsArray(), c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True"));
        // both workers did discovery and TLS bootstrap through the VIP
        foreach (var w in new[] { 4, 5 })
        {
            Assert.Contains($"server: https://{Vip}:8443", Lab.Ssh(w, "cat /etc/kubernetes/kubelet.conf"));
            Assert.Contains("TLS bootstrap done", Lab.Ssh(w, "journalctl -u kubelet --no-pager | tail -n 300"));
            Lab.Ssh(w, "test -s /var/lib/kubelet/pki/kubelet-client-current.pem");
        }

        // the second up: every task unchanged or skipped, under a tenth of the first run's time
        sw.Restart();
        var (code2, o2) = Kf(TimeSpan.FromMinutes(5), "up", "-f", File5, "--output", "json");
        var second = sw.Elapsed;
        Assert.True(code2 == 0, o2);
        var finished = o2.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!).Where(e => (string?)e["event"] == "taskFinished").ToList();
        Assert.Equal(40, finished.Count); // 5 hosts x (preflight, os-prepare, containerd, packages, images) + cluster-ca + 3 x (lb, vip) + init + 2 cp joins + 2 worker joins + cni + label-nodes + checks
        Assert.All(finished, e => Assert.Contains((string?)e["status"], new[] { "unchanged", "skipped" }));
        Figure($"second up: {second.TotalSeconds:0.00} s, {finished.Count} tasks unchanged/skipped ({second / first:P1} of the first run)");
        Assert.True(second < first / 10, $"second up took {second.TotalSeconds:0.00} s, first {first.TotalSeconds:0.00} s");
    }

    private void HighAvailability()
    {
        var admin = Path.Join(_dir, "admin.conf");
        using var probe = new VipProbe(Vip, File.ReadAllBytes(admin));

        // 1. the VIP holder's keepalived stops
        var holder = VipHolder();
        var t = probe.Mark();
        var moved = TimeVipMove(holder, () => Lab.Ssh(holder, "systemctl stop keepalived"), fromRelease: true);
        var gap = probe.LongestGapSince(t);
        Figure($"VIP holder h{holder}'s keepalived stopped: VIP on h{moved.Host} after {moved.After.TotalSeconds:0.00} s; longest API gap through the VIP {gap.TotalSeconds:0.00} s");
        Assert.True(moved.After < TimeSpan.FromSeconds(3), $"VIP took {moved.After.TotalSeconds:0.00} s to move");
        Lab.Ssh(holder, "systemctl start keepalived");
        Thread.Sleep(3000); // the highest priority takes the VIP back (preemption)

        // 2. the whole VIP holder host goes down
        holder = VipHolder();
        t = probe.Mark();
        var sw = Stopwatch.StartNew();
        string? killedAt = null;
        moved = TimeVipMove(holder, () => killedAt = Lab.Sh("poweroff", $"h{holder}"), fromKill: () => killedAt);
        Lab.WaitFor("the API answering through the VIP again", TimeSpan.FromSeconds(15), () => probe.UpNow, TimeSpan.FromMilliseconds(100));
        gap = probe.LongestGapSince(t);
        Figure($"VIP holder h{holder} powered off: VIP on h{moved.Host} after {moved.After.TotalSeconds:0.00} s; longest API gap through the VIP {gap.TotalSeconds:0.00} s; API answering again: {probe.UpNow}");
        Assert.True(moved.After < TimeSpan.FromSeconds(3), $"VIP took {moved.After.TotalSeconds:0.00} s to move");
        Assert.True(probe.UpNow, "the API does not answer through the VIP with one control plane down");

        // 3. status names the control plane that is down
        var (scode, sout) = Kf(TimeSpan.FromMinutes(3), "status", "-f", File5, "-o", "json");
        Assert.Equal(2, scode);
        var status = JsonNode.Parse(sout)!;
        Assert.False((bool)status["nodes"]!.AsArray().Single(n => (string?)n!["host"] == $"h{holder}")!["reachable"]!);
        Assert.Contains(status["problems"]!.AsArray(), p => ((string)p!).StartsWith($"h{holder}: unreachable", StringComparison.Ordinal));
        Assert.True((bool)status["apis"]!.AsArray().First()!["ok"]!, "status: the VIP must answer");
        output.WriteLine(Kf(TimeSpan.FromMinutes(3), "status", "-f", File5).Out);

        // 4. add-node still works with that control plane down
        sw.Restart();
        var (acode, aout) = Kf(TimeSpan.FromMinutes(5), "add-node", "-f", File6, "h6");
        output.WriteLine(aout);
        Assert.True(acode == 0, aout);
        Figure($"add-node h6 with h{holder} down: {sw.Elapsed.TotalSeconds:0.0} s");
        Lab.WaitFor("h6 Ready", TimeSpan.FromSeconds(60), () => Lab.Kubectl(admin, "get", "node", "h6", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}") == "True");

        // 5. boot it again; then power off the host of the kube-scheduler lease holder and time the takeover
        Lab.Sh("boot", $"h{holder}");
        Lab.WaitFor("all API servers ready after the boot", TimeSpan.FromSeconds(120), () => Kf(TimeSpan.FromMinutes(2), "status", "-f", File6).Code == 0);
        var leaseHolder = Lab.Kubectl(admin, "-n", "kube-system", "get", "lease", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}");
        var leaseHost = int.Parse(leaseHolder.Split('_')[0][1..], System.Globalization.CultureInfo.InvariantCulture);
        sw.Restart();
        var off = Lab.Sh("poweroff", $"h{leaseHost}");
        string? next = null;
        Lab.WaitFor("a new kube-scheduler lease holder", TimeSpan.FromSeconds(60), () =>
        {
            var (c, h) = Shell.Run(TimeSpan.FromSeconds(10), null, "kubectl", "--kubeconfig", admin, "--request-timeout=3s", "-n", "kube-system", "get", "lease", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}");
            next = c == 0 && h.Length > 0 && h != leaseHolder ? h : null;
            return next is not null;
        }, TimeSpan.FromMilliseconds(200));
        var polled = sw.Elapsed;
        // the takeover itself: from the kill (lab.sh poweroff prints its time) to the new holder's acquireTime in the lease
        // (the nspawn hosts share this machine's clock), free of kubectl's polling
        var acquired = DateTimeOffset.Parse(Lab.Kubectl(admin, "-n", "kube-system", "get", "lease", "kube-scheduler", "-o", "jsonpath={.spec.acquireTime}"), System.Globalization.CultureInfo.InvariantCulture);
        var k = off.IndexOf("killed at ", StringComparison.Ordinal);
        Assert.True(k >= 0, off);
        var killed = DateTimeOffset.FromUnixTimeMilliseconds((long)(double.Parse(off[(k + 10)..].Split(')')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1000));
        var takeover = acquired - killed;
        // client-go's bound, counted from the kill: the last renewal (before the kill) is seen by a candidate's next poll,
        // at most 2.2 x retry later (retry + 1.2 jitter); it expires lease seconds after being seen; the next poll takes it,
        // again at most 2.2 x retry later (the same bound KilledLeaderIsReplacedWithinTheLeaseBound uses)
        var bound = Lease + 2 * 2.2 * Retry;
        Figure($"kube-scheduler lease holder's host h{leaseHost} powered off: new holder {next!.Split('_')[0]} acquired the lease {takeover.TotalSeconds:0.00} s after the kill (bound {bound.TotalSeconds:0.0} s = lease {Lease.TotalSeconds:0} s + 2 x 2.2 x retry {Retry.TotalSeconds:0} s; seen by polling after {polled.TotalSeconds:0.00} s)");
        Assert.True(takeover < bound + TimeSpan.FromSeconds(0.5), $"takeover took {takeover.TotalSeconds:0.00} s");
        Assert.True(takeover > TimeSpan.Zero, $"acquireTime {acquired:O} is before the kill {killed:O}");
        Lab.Sh("boot", $"h{leaseHost}");
        Lab.WaitFor("all API servers ready after the boot", TimeSpan.FromSeconds(120), () => Kf(TimeSpan.FromMinutes(2), "status", "-f", File6).Code == 0);

        // 6. ha verify: green, with the failover times
        var (vcode, vout) = Kf(TimeSpan.FromMinutes(5), "ha", "verify", "-f", File6, "--yes");
        output.WriteLine(vout);
        Assert.True(vcode == 0, vout);
        foreach (var line in vout.Split('\n').Where(l => l.StartsWith("stop ", StringComparison.Ordinal)))
        {
            Figure("ha verify: " + string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        }
        Assert.Contains("all 4 checks passed", vout);
        Assert.Equal(0, Kf(TimeSpan.FromMinutes(2), "status", "-f", File6).Code);
    }

    private void ResetLeavesCleanHosts()
    {
        var sw = Stopwatch.StartNew();
        var (code, o) = Kf(TimeSpan.FromMinutes(5), "reset", "-f", File6);
        output.WriteLine(o);
        Assert.True(code == 0, o);
        for (var i = 1; i <= 6; i++)
        {
            Assert.Contains($"h{i}: ", o);
            Assert.DoesNotContain($"h{i}: remains: /", o);
            Lab.Ssh(i, "! test -e /etc/kubernetes/admin.conf && ! test -e /etc/kubernetes/kubelet.conf && ! test -e /var/lib/etcd/member && ! ss -Htln | grep -qE ':(2379|6443) '");
        }
        Figure($"reset -f of 6 hosts: {sw.Elapsed.TotalSeconds:0.0} s, every host clean");
    }

    /// <summary>KillPoint: SIGKILL `up` once the run's plain log shows step started on host (any host when null) or, with
    /// detail, the nth detail line of that step containing it, and afterMs more; probe (run after the kill on that host, etcdctl on
    /// h1) is recorded.</summary>
    private sealed record KillPoint(string Name, string Step, string? Host, string? Detail, int AfterMs, string Probe, int Nth = 1);

    private void KilledInstallsConverge()
    {
        // a fresh install (the reset above cleared the journal), killed at five points; each run resumes the killed one
        var points = new KillPoint[]
        {
            // as soon as it starts: after the reset (which, like kubeadm's, leaves the OS preparation in place) os-prepare
            // only re-checks and takes ~200 ms, so a fixed delay (or waiting for a write that does not come) misses it
            new("host preparation (os-prepare)", "os-prepare", null, null, 0, "echo $(ls /etc/modules-load.d /etc/sysctl.d | wc -l) entries in modules-load.d and sysctl.d"),
            new("certificates being written (init on h1, the third certificate)", "init", "h1", "[certs] Generating \"", 0, "echo $(find /etc/kubernetes/pki -type f | wc -l) files in /etc/kubernetes/pki", 3),
            new("an etcd member being added (h2 a learner, not promoted)", "join-control-plane", "h2", "Waiting for the new etcd member to catch up", 0, Etcdctl("member list -w simple") + " | tr '\\n' ';'"),
            new("a worker joining (kubelet started for the TLS bootstrap)", "join-worker", null, "[kubelet-start] Starting the kubelet", 0, "echo $(ls /etc/kubernetes /var/lib/kubelet/pki 2>&1)"),
            new("the CNI step", "cni", "h1", null, 300, "echo $(ls /etc/kubernetes/manifests)"),
        };
        foreach (var point in points)
        {
            var (killed, after, log, probe) = KfKilledAt(point);
            output.WriteLine(log);
            Figure($"killed during {point.Name}: after {after.TotalSeconds:0.0} s of the run ({probe.Trim()})");
            Assert.True(killed, $"the run was not killed during {point.Name}:\n{log}");
        }
        var sw = Stopwatch.StartNew();
        var (code, o) = Kf(TimeSpan.FromMinutes(10), "up", "-f", File6);
        var rerun = sw.Elapsed;
        output.WriteLine(o);
        Assert.True(code == 0, o);
        var hashes = ManagedHashes();
        var (scode, sout) = Kf(TimeSpan.FromMinutes(2), "status", "-f", File6);
        Assert.True(scode == 0, sout);
        var members = Lab.Ssh(1, Etcdctl("member list -w simple")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(members.Length == 3 && members.All(m => m.Contains(", started, ", StringComparison.Ordinal) && m.TrimEnd().EndsWith(", false", StringComparison.Ordinal)),
            "etcd after the killed runs is not three started voting members:\n" + string.Join('\n', members));

        // converged: a forced rerun of every step (ignoring the journal) changes nothing and no managed file
        sw.Restart();
        var (fcode, fout) = Kf(TimeSpan.FromMinutes(10), "up", "-f", File6, "--from-step", "preflight", "--output", "json");
        var forced = sw.Elapsed;
        Assert.True(fcode == 0, fout);
        var done = fout.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!)
            .Where(e => (string?)e["event"] == "taskFinished" && (string?)e["status"] == "done").Select(e => $"{e["host"]}/{e["step"]}").ToList();
        Assert.True(done.Count == 0, "a forced rerun after the killed runs still changed: " + string.Join(", ", done));
        Assert.Equal(hashes, ManagedHashes());
        Figure($"after 5 killed runs: the last rerun converged in {rerun.TotalSeconds:0.0} s (etcd: 3 started voting members); a forced rerun of every step " +
            $"({forced.TotalSeconds:0.0} s) changed nothing; {hashes.Count(c => c == '\n')} managed files hashed on 6 hosts unchanged");
    }

    /// <summary>KfKilledAt runs `up -f cluster6.yaml --output json`, follows the run's plain log file (task events and details,
    /// flushed per event) and SIGKILLs the process at the point (asserting that the step is still running on that host then);
    /// it also asserts that no task of the run failed. Returns whether it was killed, when, the output and the probe.</summary>
    private (bool Killed, TimeSpan After, string Log, string Probe) KfKilledAt(KillPoint point)
    {
        var logs = Path.Join(_dir, ".kubeforge", "lab", "logs");
        var before = Directory.Exists(logs) ? Directory.GetFiles(logs).ToHashSet() : [];
        var psi = new ProcessStartInfo(_kubeforge) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "up", "-f", File6, "--output", "json" })
        {
            psi.ArgumentList.Add(a);
        }
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var text = new StringBuilder();
        var finished = new HashSet<string>();
        var failed = new List<string>();
        string? file = null, at = null;
        var seen = 0;
        long pos = 0;
        var partial = "";
        void Read()
        {
            file ??= Directory.Exists(logs) ? Directory.GetFiles(logs).FirstOrDefault(f => !before.Contains(f)) : null;
            if (file is null)
            {
                return;
            }
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            fs.Seek(pos, SeekOrigin.Begin);
            var chunk = new StreamReader(fs).ReadToEnd();
            pos = fs.Position;
            var lines = (partial + chunk).Split('\n');
            partial = lines[^1];
            foreach (var l in lines[..^1])
            {
                text.AppendLine(l);
                var f = l.Split(' ', 5);
                if (f.Length < 4)
                {
                    continue;
                }
                var (host, step, word) = (f[1], f[2], f[3]);
                if (word is "done" or "unchanged" or "skipped" or "failed")
                {
                    finished.Add(host + "/" + step);
                    if (word == "failed")
                    {
                        failed.Add(l);
                    }
                }
                if (at is null && step == point.Step && (point.Host is null || host == point.Host) &&
                    (point.Detail is null ? word == "started" : word == "|" && l.Contains(point.Detail, StringComparison.Ordinal)) && ++seen == point.Nth)
                {
                    at = host;
                }
            }
        }
        var killed = false;
        var after = TimeSpan.Zero;
        var running = false;
        while (!p.HasExited && sw.Elapsed < TimeSpan.FromMinutes(10))
        {
            Read();
            if (at is not null)
            {
                Thread.Sleep(point.AfterMs);
                Read();
                running = !finished.Contains(at + "/" + point.Step);
                p.Kill(); // SIGKILL
                killed = true;
                after = sw.Elapsed;
                break;
            }
            Thread.Sleep(20);
        }
        p.WaitForExit();
        Read();
        var log = $"--- up killed at {point.Name}: {killed}\n{text}{partial}\n{stdout.Result.Length} bytes of json events\n{stderr.Result}";
        Assert.True(failed.Count == 0, "a task failed in a run after a kill:\n" + log);
        Assert.True(!killed || running, $"{point.Step} had finished on {at} before the kill:\n{log}");
        var probe = killed ? Lab.TrySsh(point.Probe.Contains("etcdctl", StringComparison.Ordinal) ? 1 : int.Parse(at![1..], System.Globalization.CultureInfo.InvariantCulture), point.Probe, 20).Out : "";
        return (killed, after, log, probe.Replace('\n', ' '));
    }

    /// <summary>ManagedHashes hashes every file Kubeforge manages on every host (Kubernetes files, kubelet config, containerd,
    /// kernel settings, load balancer and keepalived), sorted, as one text.</summary>
    private static string ManagedHashes()
    {
        var sb = new StringBuilder();
        for (var i = 1; i <= 6; i++)
        {
            sb.Append(Lab.Ssh(i, "find /etc/kubernetes /var/lib/kubelet/config.yaml /var/lib/kubelet/kubeadm-flags.env /etc/containerd /etc/modules-load.d/k8s.conf " +
                "/etc/sysctl.d/99-kubernetes.conf /etc/haproxy/haproxy.cfg /etc/keepalived /etc/kubeforge -type f 2>/dev/null " +
                "| grep -v -e '/etc/kubernetes/tmp/' -e 'kubernetes-backup' | sort | xargs -r sha256sum | sed 's/^/h" + i + " /'"));
        }
        return sb.ToString();
    }

    private static string Etcdctl(string args) =>
        "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt " +
        "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key " + args + " 2>&1";

    private static string? ReadyzThroughVip(byte[] adminConf)
    {
        using var probe = new VipProbe(Vip, adminConf, start: false);
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(20)) // the first TLS handshake of a fresh client can take over a second here
        {
            if (probe.Once())
            {
                return null;
            }
            Thread.Sleep(500);
        }
        return probe.LastError ?? "no answer";
    }

    private static int VipHolder()
    {
        int? holder = null;
        Lab.WaitFor("a VIP holder", TimeSpan.FromSeconds(30), () => (holder = VipHolderNow(exclude: 0)) is not null);
        return holder!.Value;
    }

    private static int? VipHolderNow(int exclude)
    {
        foreach (var i in new[] { 1, 2, 3 }.Where(i => i != exclude))
        {
            var (code, o) = Lab.TrySsh(i, "ip -o addr show", 5);
            if (code == 0 && o.Contains($" {Vip}/", StringComparison.Ordinal))
            {
                return i;
            }
        }
        return null;
    }

    /// <summary>TimeVipMove times how long the VIP takes to appear on another control plane: a watcher on each of them
    /// (started and ready before the disruption) checks its addresses every 20 ms and prints the wall-clock time it saw the VIP
    /// (the nspawn hosts share this machine's clock), so SSH round trips of a loaded machine do not count. The clock starts
    /// when disrupt is called or, fromRelease, when the holder's own watcher saw the VIP go (a stopping keepalived holds the
    /// VIP until it sends its priority-0 advertisement, however long systemctl takes to get there), or with fromKill when
    /// lab.sh poweroff says it killed the host.</summary>
    private static (int Host, TimeSpan After) TimeVipMove(int holder, Action disrupt, bool fromRelease = false, Func<string?>? fromKill = null)
    {
        var appear = $"echo ready; while ! ip -o addr show | grep -q ' {Vip}/'; do sleep 0.02; done; date +%s.%N";
        var vanish = $"echo ready; while ip -o addr show | grep -q ' {Vip}/'; do sleep 0.02; done; date +%s.%N";
        var watchers = new[] { 1, 2, 3 }.Where(i => i != holder || fromRelease).Select(i =>
        {
            var script = i == holder ? vanish : appear;
            var psi = new ProcessStartInfo("ssh") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-i", LabKit.Key, "-o", "UserKnownHostsFile=" + LabKit.KnownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=3", $"root@{LabKit.Addr(i)}", script })
            {
                psi.ArgumentList.Add(a);
            }
            var p = Process.Start(psi)!;
            Assert.Equal("ready", p.StandardOutput.ReadLine());
            return (Host: i, Process: p, Line: p.StandardOutput.ReadLineAsync());
        }).ToList();
        try
        {
            var t0 = DateTimeOffset.UtcNow;
            disrupt();
            var others = watchers.Where(x => x.Host != holder).ToList();
            var first = Task.WhenAny(others.Select(w => w.Line));
            Assert.True(first.Wait(TimeSpan.FromSeconds(10)), $"the VIP did not move away from h{holder} in 10 s");
            static DateTimeOffset At(string line) => DateTimeOffset.FromUnixTimeMilliseconds((long)(double.Parse(line, System.Globalization.CultureInfo.InvariantCulture) * 1000));
            var w = others.First(x => x.Line == first.Result);
            if (fromRelease)
            {
                var gone = watchers.Single(x => x.Host == holder).Line;
                Assert.True(gone.Wait(TimeSpan.FromSeconds(10)), $"h{holder} kept the VIP");
                t0 = At(gone.Result!);
            }
            if (fromKill?.Invoke() is { } said && said.IndexOf("killed at ", StringComparison.Ordinal) is var k and >= 0)
            {
                t0 = At(said[(k + 10)..].TrimEnd().TrimEnd(')'));
            }
            return (w.Host, At(w.Line.Result!) - t0);
        }
        finally
        {
            foreach (var x in watchers)
            {
                if (!x.Process.HasExited)
                {
                    x.Process.Kill();
                }
                x.Process.WaitForExit();
                x.Process.Dispose();
            }
        }
    }

    /// <summary>VipProbe asks GET /readyz through the VIP every 50 ms with Kubeforge's API client (admin.conf credentials, TLS
    /// verified with the cluster CA; 2 s timeout, so a connection stuck on a dead holder counts at most 2 s) and records the gaps.</summary>
    private sealed class VipProbe : IDisposable
    {
        private readonly Kubeforge.ClusterObjects.HttpKubeApi _api;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<(TimeSpan At, bool Ok)> _samples = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Task? _loop;

        public VipProbe(string vip, byte[] adminConf, bool start = true)
        {
            _api = Kubeforge.ClusterObjects.HttpKubeApi.FromKubeConfig(adminConf, TimeSpan.FromSeconds(2), "admin.conf", new Uri($"https://{vip}:8443"));
            if (start)
            {
                _loop = Task.Run(async () =>
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        var ok = await OnceAsync();
                        lock (_samples)
                        {
                            _samples.Add((_clock.Elapsed, ok));
                        }
                        await Task.Delay(50);
                    }
                });
            }
        }

        public bool UpNow
        {
            get
            {
                lock (_samples)
                {
                    return _samples.Count > 0 && _samples[^1].Ok;
                }
            }
        }

        public TimeSpan Mark() => _clock.Elapsed;

        /// <summary>LongestGapSince is the longest run of failed probes after mark (first failure to next success).</summary>
        public TimeSpan LongestGapSince(TimeSpan mark)
        {
            lock (_samples)
            {
                TimeSpan longest = TimeSpan.Zero;
                TimeSpan? down = null;
                foreach (var (at, ok) in _samples.Where(s => s.At >= mark))
                {
                    if (!ok && down is null) down = at;
                    if (ok && down is { } d)
                    {
                        longest = at - d > longest ? at - d : longest;
                        down = null;
                    }
                }
                return down is { } open ? _clock.Elapsed - open > longest ? _clock.Elapsed - open : longest : longest;
            }
        }

        public bool Once() => OnceAsync().GetAwaiter().GetResult();

        /// <summary>LastError is why the last probe failed (null after a success).</summary>
        public string? LastError { get; private set; }

        private async Task<bool> OnceAsync()
        {
            try
            {
                var (status, body) = await _api.GetRawAsync("/readyz");
                LastError = status == 200 ? null : $"HTTP {status}: {body}";
                return status == 200;
            }
            catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
            {
                LastError = e.GetType().Name + ": " + e.Message;
                return false;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _loop?.Wait(TimeSpan.FromSeconds(5));
            _api.Dispose();
        }
    }
}

/// <summary>Shell runs processes for the lab tests (argv, optional environment, timeout, combined output) and finds the AOT binary.</summary>
internal static class Shell
{
    public static (int Code, string Out) Run(TimeSpan timeout, IDictionary<string, string>? env, params string[] argv)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}: {string.Join(' ', argv)}\n{o.Result}{e.Result}");
        }
        return (p.ExitCode, o.Result + e.Result);
    }

    /// <summary>KubeforgeBinary is artifacts/kubeforge, rebuilt with ./build.sh when a source under src/ is newer.</summary>
    public static string KubeforgeBinary()
    {
        var bin = Path.Join(LabKit.Repo, "artifacts", "kubeforge");
        var newest = Directory.GetFiles(Path.Join(LabKit.Repo, "src"), "*.cs*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")).Max(File.GetLastWriteTimeUtc);
        if (!File.Exists(bin) || File.GetLastWriteTimeUtc(bin) < newest)
        {
            var (code, o) = Run(TimeSpan.FromMinutes(15), null, Path.Join(LabKit.Repo, "build.sh"));
            Assert.True(code == 0, o);
        }
        return bin;
    }
}

/// <summary>Lab is SSH, kubectl and lab.sh for the lab tests.</summary>
internal static class Lab
{
    private static string[] SshArgs(int i) => ["ssh", "-i", LabKit.Key, "-o", "UserKnownHostsFile=" + LabKit.KnownHosts, "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", $"root@{LabKit.Addr(i)}"];

    public static (int Code, string Out) TrySsh(int i, string script, int seconds = 60) => Shell.Run(TimeSpan.FromSeconds(seconds), null, [.. SshArgs(i), script]);

    public static string Ssh(int i, string script, int seconds = 60)
    {
        var (code, o) = TrySsh(i, script, seconds);
        Assert.True(code == 0, $"h{i}: {script}: exit {code}\n{o}");
        return o;
    }

    public static string Kubectl(string kubeconfig, params string[] args)
    {
        var (code, o) = Shell.Run(TimeSpan.FromSeconds(30), null, ["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=10s", .. args]);
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)}: {o}");
        return o;
    }

    public static string Sh(params string[] args)
    {
        var (code, o) = Shell.Run(TimeSpan.FromMinutes(3), null, [LabKit.LabSh, .. args]);
        Assert.True(code == 0, $"lab.sh {string.Join(' ', args)}: {o}");
        return o;
    }

    public static void WaitFor(string what, TimeSpan timeout, Func<bool> condition, TimeSpan? every = null)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < timeout, $"timed out after {timeout.TotalSeconds:0}s waiting for {what}");
            Thread.Sleep(every ?? TimeSpan.FromSeconds(1));
        }
    }
}
