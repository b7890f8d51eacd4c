using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Kubeforge.Cluster;
using Kubeforge.Cluster.Ha;
using Kubeforge.IntegrationTests.Kit;
using Kubeforge.Node;
using Kubeforge.Pki;
using Server = Kubeforge.TestApiServer.TestApiServer;

namespace Kubeforge.IntegrationTests.Ha;

/// <summary>HaNetLab is three "control planes" as network namespaces kfha-cp1..3 (10.97.0.11-13/24, eth0) on bridge kfha0
/// (10.97.0.1), each running the test API server (serving certificate from Kubeforge's PKI with the node IP and the VIP
/// 10.97.0.100), and on request haproxy and keepalived started with Kubeforge's rendered configs (files in a temp folder
/// under /run). Every process is stopped by PID and the namespaces and bridge are deleted on Dispose.</summary>
public sealed class HaNetLab : IDisposable
{
    public const string Bridge = "kfha0", Vip = "10.97.0.100", Gateway = "10.97.0.1";
    public const int Count = 3;

    private readonly List<(int Node, string Role, Process P)> _procs = [];

    public HaNetLab(string loadBalancer = "haproxy")
    {
        Cleanup();
        Dir = Path.Join("/run", $"kfha-{Environment.ProcessId}-{Random.Shared.Next(1000, 9999)}");
        Directory.CreateDirectory(Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Proc.MustRun("ip", "link", "add", Bridge, "type", "bridge");
        Proc.MustRun("ip", "addr", "add", Gateway + "/24", "dev", Bridge);
        Proc.MustRun("ip", "link", "set", Bridge, "up");
        for (var i = 1; i <= Count; i++)
        {
            var ns = Ns(i);
            Proc.MustRun("ip", "netns", "add", ns);
            Proc.MustRun("ip", "link", "add", Veth(i), "type", "veth", "peer", "name", "eth0", "netns", ns);
            Proc.MustRun("ip", "link", "set", Veth(i), "master", Bridge, "up");
            Proc.MustRun("ip", "-n", ns, "link", "set", "lo", "up");
            Proc.MustRun("ip", "-n", ns, "addr", "add", Address(i) + "/24", "dev", "eth0");
            Proc.MustRun("ip", "-n", ns, "link", "set", "eth0", "up");
            Proc.MustRun("ip", "-n", ns, "route", "add", "default", "via", Gateway);
        }

        var yaml = "apiVersion: kubeforge.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: kfha\nspec:\n  kubernetesVersion: v1.30.6\n  hosts:\n" +
            string.Concat(Enumerable.Range(1, Count).Select(i => $"    - name: cp{i}\n      address: {Address(i)}\n      roles: [control-plane]\n")) +
            $"  ha:\n    vip: {Vip}\n    loadBalancer: {loadBalancer}\n    keepalived:\n      virtualRouterId: 97\n";
        File = ClusterFile.Parse(yaml, "kfha cluster");
        Paths = HaPaths.Default with { CaFile = Path.Join(Dir, "ca.crt") };
        MakePki();
        Http = new Prober(Ca);
    }

    /// <summary>Http is a prober that trusts the lab CA.</summary>
    public Prober Http { get; }

    public string Dir { get; }
    public ClusterFile File { get; }
    public HaPaths Paths { get; }
    public X509Certificate2 Ca { get; private set; } = null!;

    public static string Ns(int i) => $"kfha-cp{i}";
    public static string Veth(int i) => $"kfha-v{i}";
    public static string Address(int i) => $"10.97.0.{10 + i}";

    /// <summary>PathsOf are node i's file paths inside the temp folder (check script, pid and log files per node).</summary>
    public HaPaths PathsOf(int i) => Paths with
    {
        CheckScript = Path.Join(Dir, $"check-cp{i}.sh"),
        NginxPid = Path.Join(Dir, $"nginx-cp{i}.pid"),
        NginxErrorLog = Path.Join(Dir, $"nginx-cp{i}.log"),
    };

    private void MakePki()
    {
        var now = DateTimeOffset.UtcNow;
        var caKey = Keys.Generate("ECDSA-P256");
        Ca = CertFactory.CreateCa(new CertSubject("kubernetes", [], CertUsage.None, new AltNames(["kubernetes"], [])), caKey,
            now.AddMinutes(-5), now.AddDays(1), CertFactory.Serial(true, Versions.PkiTimeModel.Backdated));
        System.IO.File.WriteAllText(Paths.CaFile, Pem.Cert(Ca));
        for (var i = 1; i <= Count; i++)
        {
            var key = Keys.Generate("ECDSA-P256");
            var alt = new AltNames(["kubernetes", "kubernetes.default", $"cp{i}"], [IPAddress.Parse(Address(i)), IPAddress.Parse(Vip)]);
            var cert = CertFactory.CreateSigned(new CertSubject("kube-apiserver", [], CertUsage.ServerAuth, alt), key, Ca, caKey,
                now.AddMinutes(-5), now.AddDays(1), CertFactory.Serial(false, Versions.PkiTimeModel.Backdated));
            System.IO.File.WriteAllText(Path.Join(Dir, $"apiserver-cp{i}.crt"), Pem.Cert(cert));
            System.IO.File.WriteAllText(Path.Join(Dir, $"apiserver-cp{i}.key"), Keys.ToPem(key));
        }
    }

    /// <summary>Start starts argv inside node i's namespace (ip netns exec replaces itself with argv[0], so the PID is the tool's).</summary>
    public Process Start(int i, string role, params string[] argv)
    {
        var p = Proc.Start(Path.Join(Dir, $"{role}-cp{i}.log"), ["ip", "netns", "exec", Ns(i), .. argv]);
        lock (_procs) _procs.Add((i, role, p));
        return p;
    }

    /// <summary>Of returns node i's process of a role (the last started).</summary>
    public Process Of(int i, string role) => _procs.Last(x => x.Node == i && x.Role == role).P;

    public void StartApiServer(int i)
    {
        var dll = typeof(Server).Assembly.Location;
        Start(i, "apiserver", "dotnet", dll, "kube-apiserver", $"--advertise-address={Address(i)}", $"--bind-address={Address(i)}",
            "--secure-port=6443", $"--client-ca-file={Paths.CaFile}", $"--tls-cert-file={Path.Join(Dir, $"apiserver-cp{i}.crt")}",
            $"--tls-private-key-file={Path.Join(Dir, $"apiserver-cp{i}.key")}");
    }

    public void StartHaproxy(int i)
    {
        var cfg = Path.Join(Dir, $"haproxy-cp{i}.cfg");
        System.IO.File.WriteAllBytes(cfg, HaproxyConfig.Render(File, File.Host($"cp{i}"), PathsOf(i)));
        Proc.MustRun("haproxy", "-c", "-f", cfg);
        Start(i, "haproxy", "haproxy", "-db", "-f", cfg);
    }

    public void StartKeepalived(int i)
    {
        var p = PathsOf(i);
        var host = File.Host($"cp{i}");
        var iface = HostFacts.ParseDefaultRoute(Proc.MustRun("ip", "-n", Ns(i), "-j", "route", "show", "default"));
        Assert.Equal("eth0", iface);
        System.IO.File.WriteAllBytes(p.CheckScript, KeepalivedConfig.RenderCheckScript(File, host, p));
        System.IO.File.SetUnixFileMode(p.CheckScript, (UnixFileMode)0x1ED);
        var conf = Path.Join(Dir, $"keepalived-cp{i}.conf");
        System.IO.File.WriteAllBytes(conf, KeepalivedConfig.Render(File, host, p, iface));
        var (code, output) = Proc.Run("keepalived", "-t", "-f", conf);
        Assert.True(code == 0 && output.Trim().Length == 0, $"keepalived -t: {output}");
        Start(i, "keepalived", "keepalived", "-n", "-l", "-D", "-f", conf, "-p", Path.Join(Dir, $"keepalived-cp{i}.pid"),
            "-r", Path.Join(Dir, $"vrrp-cp{i}.pid"), "-c", Path.Join(Dir, $"checkers-cp{i}.pid"));
    }

    /// <summary>WaitApiServers waits until every node's API server answers /readyz at its own address.</summary>
    public async Task WaitApiServersAsync()
    {
        for (var i = 1; i <= Count; i++)
        {
            var url = $"https://{Address(i)}:6443/readyz";
            var sw = Stopwatch.StartNew();
            while (!await Http.OkAsync(url))
            {
                Assert.False(Of(i, "apiserver").HasExited, $"the API server of cp{i} exited: {Log(i, "apiserver")}");
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(90), $"the API server of cp{i} did not answer {url}");
                await Task.Delay(200);
            }
        }
    }

    public string Log(int i, string role)
    {
        var f = Path.Join(Dir, $"{role}-cp{i}.log");
        return System.IO.File.Exists(f) ? string.Join('\n', System.IO.File.ReadAllLines(f).TakeLast(15)) : "(no log)";
    }

    /// <summary>Holders lists the nodes (of those given, default all) whose eth0 carries the VIP.</summary>
    public async Task<IReadOnlyList<int>> HoldersAsync(IEnumerable<int>? nodes = null)
    {
        var list = (nodes ?? Enumerable.Range(1, Count)).ToList();
        var has = await Task.WhenAll(list.Select(i => Task.Run(() =>
            Proc.Run("ip", "-n", Ns(i), "-o", "-4", "addr", "show", "dev", "eth0").Output.Contains($" {Vip}/", StringComparison.Ordinal))));
        return list.Where((_, k) => has[k]).ToList();
    }

    /// <summary>Stop stops one process by PID (SIGTERM, then SIGKILL) and waits for it.</summary>
    public static void Stop(Process p) => Proc.Stop(p);

    /// <summary>Terminate sends SIGTERM to one process by PID without waiting (what `systemctl stop` starts with), so a
    /// measurement starts at the signal; Dispose reaps it.</summary>
    public static void Terminate(Process p) => Proc.MustRun("kill", "-TERM", p.Id.ToString(CultureInfo.InvariantCulture));

    /// <summary>KillHost is "the whole host is down": its link down, then SIGKILL to every process in node i's namespace.</summary>
    public void KillHost(int i)
    {
        Proc.MustRun("ip", "link", "set", Veth(i), "down"); // first: a dead host sends nothing, not even a goodbye advert
        foreach (var pid in Proc.Run("ip", "netns", "pids", Ns(i)).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Proc.Run("kill", "-KILL", pid);
        }
    }

    public void Dispose()
    {
        foreach (var (_, _, p) in Enumerable.Reverse(_procs))
        {
            try { Proc.Stop(p); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        Http.Dispose();
        Cleanup();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Cleanup removes this lab's namespaces (killing what still runs in them; only this lab starts processes there)
    /// and the bridge, also leftovers of an interrupted earlier run.</summary>
    private static void Cleanup()
    {
        for (var i = 1; i <= Count; i++)
        {
            var (code, pids) = Proc.Run("ip", "netns", "pids", Ns(i));
            if (code == 0)
            {
                foreach (var pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    Proc.Run("kill", "-KILL", pid);
                }
                Proc.Run("ip", "netns", "del", Ns(i));
            }
            Proc.Run("ip", "link", "del", Veth(i));
        }
        Proc.Run("ip", "link", "del", Bridge);
    }
}

/// <summary>Prober sends GET requests over a fresh TLS connection each time (Connection: close), verifying the server
/// with the lab CA, and can sample an URL every 50 ms in the background.</summary>
public sealed class Prober : IDisposable
{
    private readonly HttpClient _http;

    public Prober(X509Certificate2 ca)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(400),
            PooledConnectionLifetime = TimeSpan.Zero,
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    if (cert is null) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(cert));
                },
            },
        };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromMilliseconds(800) };
    }

    /// <summary>OkAsync is true when url answers 200 "ok".</summary>
    public async Task<bool> OkAsync(string url)
    {
        try
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, url);
            req.Headers.ConnectionClose = true;
            using var resp = await _http.SendAsync(req);
            return resp.StatusCode == HttpStatusCode.OK && (await resp.Content.ReadAsStringAsync()).Trim() == "ok";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Sample probes url every 50 ms until stopped, recording (time, ok) against clock.</summary>
    public Sampler Sample(string url, Stopwatch clock) => new(this, url, clock);

    public void Dispose() => _http.Dispose();

    /// <summary>Sampler is one background sampling loop.</summary>
    public sealed class Sampler : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        internal Sampler(Prober p, string url, Stopwatch clock)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var t = clock.Elapsed;
                    var ok = await p.OkAsync(url);
                    lock (Samples) Samples.Add((t, clock.Elapsed, ok));
                    try { await Task.Delay(50, _stop.Token); } catch (OperationCanceledException) { }
                }
            });
        }

        /// <summary>Samples are (sent, answered, ok) per request.</summary>
        public List<(TimeSpan Sent, TimeSpan Done, bool Ok)> Samples { get; } = [];

        /// <summary>Gap is the longest time without a successful answer after from: from the last success at or before
        /// from (or from itself) to the next success (to the end when none came).</summary>
        public TimeSpan GapAfter(TimeSpan from)
        {
            List<(TimeSpan Sent, TimeSpan Done, bool Ok)> s;
            lock (Samples) s = [.. Samples];
            var last = s.Where(x => x.Ok && x.Done <= from).Select(x => x.Done).DefaultIfEmpty(from).Max();
            var gap = TimeSpan.Zero;
            foreach (var x in s.Where(x => x.Ok && x.Done > from).OrderBy(x => x.Done))
            {
                gap = x.Done - last > gap ? x.Done - last : gap;
                last = x.Done;
            }
            var end = s.Count > 0 ? s.Max(x => x.Done) : from;
            return end - last > gap ? end - last : gap;
        }

        public int Failures(TimeSpan from) { lock (Samples) return Samples.Count(x => !x.Ok && x.Sent >= from); }

        public int Count(TimeSpan from) { lock (Samples) return Samples.Count(x => x.Sent >= from); }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
            _stop.Dispose();
        }
    }
}

/// <summary>Ms formats a duration in milliseconds for the test output.</summary>
internal static class Fmt
{
    public static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";
}
