using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kubeforge.TestApiServer;

/// <summary>TestApiServer is a test double of kube-apiserver: HTTPS with client-cert and bootstrap-token authentication, RBAC,
/// a generic REST store (in memory, or in etcd shared by several instances), and the bootstrap-signer and CSR approve/sign controllers of kube-controller-manager.</summary>
public sealed class TestApiServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> loops = [];
    private int stopped;

    private TestApiServer(WebApplication app, TestApiServerOptions options, ObjectStore store)
    {
        this.app = app;
        Options = options;
        Store = store;
    }

    /// <summary>Options is the configuration the server was started with.</summary>
    public TestApiServerOptions Options { get; }

    /// <summary>Store is the object database, for direct seeding and assertions (bypasses authentication and RBAC).</summary>
    public ObjectStore Store { get; }

    /// <summary>BaseUri is `https://host:port/` of the listening socket (port resolved when Options.Port was 0).</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary>StartAsync seeds the default namespaces and RBAC bootstrap policy, starts the controllers and listens.</summary>
    public static async Task<TestApiServer> StartAsync(TestApiServerOptions options, CancellationToken cancellationToken = default)
    {
        var serving = X509Certificate2.CreateFromPemFile(options.TlsCertFile, options.TlsKeyFile);
        var clientCas = new X509Certificate2Collection();
        if (options.ClientCaFile != null) clientCas.ImportFromPemFile(options.ClientCaFile);

        var store = options.EtcdServers.Count == 0 ? new ObjectStore(options.Time) : new ObjectStore(
            EtcdBackend.Create(options.EtcdServers, options.EtcdCaFile!, options.EtcdCertFile!, options.EtcdKeyFile!), options.Time, options.EtcdPrefix);
        // idempotent seeding: another instance on the same etcd may have done it (unchanged objects are not rewritten);
        // etcd may still be starting (static pods start in any order), so retry for a minute like kube-apiserver does
        for (var deadline = DateTime.UtcNow.AddMinutes(1); ; await Task.Delay(1000, cancellationToken))
        {
            try
            {
                Seed(store);
                break;
            }
            catch (Kubeforge.Phases.UserError e) when (DateTime.UtcNow < deadline)
            {
                Console.Error.WriteLine($"test-apiserver: etcd not ready: {e.Message}");
            }
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Parse(options.BindAddress), options.Port, lo => lo.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = serving,
                ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                ClientCertificateValidation = (_, _, _) => true, // verified per request against the client CA
                CheckCertificateRevocation = false,
            }));
        });
        var app = builder.Build();
        var server = new TestApiServer(app, options, store);
        var authz = new RbacAuthorizer(store);
        var authn = new Authenticator(store, clientCas, options.StaticTokens, options.Time);
        var handler = new ApiHandler(options, store, authn, authz, server.AdvertisedEndpoint, server.stop.Token);
        app.Run(handler.HandleAsync);

        if (options.EnableBootstrapSigner) server.StartLoop(new BootstrapSigner(store, options.Time).Sync);
        if (options.AutoApproveKubeletClientCsrs || options.ClusterSigningCertFile != null)
            server.StartLoop(new CsrController(store, authz, options).Sync);

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address.Replace("://[::]", "://localhost").Replace("://0.0.0.0", "://localhost")).Port;
        var host = options.BindAddress is "0.0.0.0" or "::" ? "127.0.0.1" : options.BindAddress;
        if (host.Contains(':')) host = $"[{host}]";
        server.BaseUri = new Uri($"https://{host}:{port}/");
        return server;
    }

    private static void Seed(ObjectStore store)
    {
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            try { if (store.Get("namespaces", null, ns) == null) store.Create("namespaces", null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }); }
            catch (ApiException e) when (e.Reason == "AlreadyExists") { }
        }
        foreach (var o in BootstrapPolicy.Objects()) store.Put(o);
    }

    private string AdvertisedEndpoint()
    {
        var host = Options.AdvertiseAddress ?? BaseUri.Host;
        if (host.Contains(':') && !host.StartsWith('[')) host = $"[{host}]";
        return $"{host}:{BaseUri.Port}";
    }

    // StartLoop runs a controller's Sync after each store change (coalesced) and at least every ControllerInterval.
    private void StartLoop(Action sync)
    {
        var signal = new SemaphoreSlim(0);
        Store.Changed += _ => { if (signal.CurrentCount == 0) signal.Release(); };
        var token = stop.Token;
        loops.Add(Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                try { sync(); }
                catch (Exception e) when (e is not OperationCanceledException) { Console.Error.WriteLine($"test-apiserver controller: {e.Message}"); }
                try { await signal.WaitAsync(Options.ControllerInterval, token); }
                catch (OperationCanceledException) { break; }
            }
        }, CancellationToken.None));
    }

    /// <summary>WaitForShutdownAsync completes when the host stops (Ctrl+C / SIGTERM in the standalone process).</summary>
    public Task WaitForShutdownAsync() => app.WaitForShutdownAsync();

    /// <summary>StopAsync stops listening and the controllers; safe to call more than once.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1) return;
        stop.Cancel();
        await Task.WhenAll(loops);
        await app.StopAsync();
        await app.DisposeAsync();
        Store.Dispose();
    }

    /// <summary>DisposeAsync calls StopAsync.</summary>
    public async ValueTask DisposeAsync() => await StopAsync();
}
