using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kubeforge.LeaderElection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kubeforge.LabNode;

/// <summary>Components holds the control-plane stand-ins: kube-apiserver (the test API server in standalone mode) and the
/// leader-electing kube-scheduler / kube-controller-manager doubles that only hold their Lease and serve health.</summary>
public static class Components
{
    /// <summary>DefaultSecurePort is each component's default --secure-port.</summary>
    public static int DefaultSecurePort(string component) => component == "kube-scheduler" ? 10259 : 10257;

    /// <summary>ApiServerArgs completes a kube-apiserver command line for the test API server: --bind-address defaults to
    /// 0.0.0.0 (kube-apiserver's default; the test server's own default is loopback), and the CSR signer (test extension
    /// flags --cluster-signing-cert-file/--cluster-signing-key-file, kube-controller-manager's job in a real cluster) is the
    /// ca.crt/ca.key next to --client-ca-file when that key exists.</summary>
    public static List<string> ApiServerArgs(IReadOnlyList<string> args, Func<string, bool> fileExists)
    {
        var result = args.ToList();
        var flags = Flags.Parse(args);
        if (!flags.ContainsKey("bind-address")) result.Add("--bind-address=0.0.0.0");
        if (!flags.ContainsKey("cluster-signing-cert-file") && flags.TryGetValue("client-ca-file", out var ca))
        {
            var dir = Path.GetDirectoryName(ca) ?? ".";
            string crt = Path.Join(dir, "ca.crt"), key = Path.Join(dir, "ca.key");
            if (fileExists(crt) && fileExists(key))
            {
                result.Add("--cluster-signing-cert-file=" + crt);
                result.Add("--cluster-signing-key-file=" + key);
            }
        }
        return result;
    }

    /// <summary>ApiServerAsync runs the test API server with ApiServerArgs.</summary>
    public static Task<int> ApiServerAsync(string[] args) =>
        Kubeforge.TestApiServer.Program.Main([.. ApiServerArgs(args, File.Exists)]);

    /// <summary>LeaderComponentAsync runs the kube-scheduler or kube-controller-manager stand-in: HTTPS /healthz, /livez and
    /// /readyz on --bind-address:--secure-port with a self-signed certificate, and (with --leader-elect, default true) the
    /// kube-system Lease named after the component, identity hostname_uuid. Exits 1 when it loses the lease, 0 on SIGTERM.</summary>
    public static async Task<int> LeaderComponentAsync(string component, string[] args)
    {
        Dictionary<string, string> flags;
        LeaderElectionFlags le;
        int port;
        try
        {
            flags = Flags.Parse(args);
            le = LeaderElectionConfig.FromFlags(flags, component);
            port = Flags.Int(flags, "secure-port", DefaultSecurePort(component));
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"{component}: {e.Message}");
            return 2;
        }
        var kubeconfigPath = flags.GetValueOrDefault("kubeconfig") ?? flags.GetValueOrDefault("authentication-kubeconfig");
        if (kubeconfigPath is null) { Console.Error.WriteLine($"{component}: --kubeconfig is required (the stand-in has no in-cluster mode)"); return 2; }
        var bind = flags.GetValueOrDefault("bind-address", "0.0.0.0");
        var identity = LeaderElectionConfig.NewIdentity();
        var log = (string m) => Console.Out.WriteLine($"{DateTimeOffset.UtcNow:O} {component} (kubeforge-labnode stand-in): {m}");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        var cert = SelfSigned(bind);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(bind), port, o => o.UseHttps(cert)));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            var ok = ctx.Request.Path.Value is "/healthz" or "/livez" or "/readyz" || ctx.Request.Path.StartsWithSegments("/healthz");
            ctx.Response.StatusCode = ok ? 200 : 404;
            await ctx.Response.WriteAsync(ok ? "ok" : "404 page not found\n");
        });
        await app.StartAsync();
        log($"serving securely on {bind}:{port}");
        var stopping = app.Lifetime.ApplicationStopping;
        if (!le.LeaderElect)
        {
            log("leader election disabled");
            await app.WaitForShutdownAsync();
            return 0;
        }
        using var api = ApiClient.FromKubeconfig(File.ReadAllBytes(kubeconfigPath), kubeconfigPath);
        var lost = false;
        var elector = new LeaderElector(le.ToConfig(new HttpLeaseClient(api.Http), identity, new LeaderCallbacks
        {
            OnStartedLeading = async ct =>
            {
                log($"successfully acquired lease {le.ResourceNamespace}/{le.ResourceName}: became leader as {identity}");
                try { await Task.Delay(Timeout.Infinite, ct); }
                catch (OperationCanceledException) { }
            },
            OnStoppedLeading = () =>
            {
                if (stopping.IsCancellationRequested) return;
                lost = true;
                log("lost lease: leaderelection lost");
            },
            OnNewLeader = id => { if (id != identity) log($"new leader is {id}"); },
        }, onError: e => log($"leader election: {e}")));
        await elector.RunAsync(stopping);
        if (lost) { Environment.ExitCode = 1; return 1; }
        await app.StopAsync();
        log("requested to terminate, exiting");
        return 0;
    }

    /// <summary>SelfSigned makes the serving certificate the real components generate when none is given: self-signed,
    /// for localhost, 127.0.0.1 and the bind address.</summary>
    public static X509Certificate2 SelfSigned(string bind)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN=localhost@{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        if (IPAddress.TryParse(bind, out var ip) && !ip.Equals(IPAddress.Any)) san.AddIpAddress(ip);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }
}
