using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Models;
using static Kubeforge.IntegrationTests.TestApiServer.ApiServerHarness;
using Server = Kubeforge.TestApiServer.TestApiServer;

namespace Kubeforge.IntegrationTests.TestApiServer;

public class StandaloneAndClientTests
{
    [Fact]
    public async Task OfficialKubernetesClientCreatesAndReadsAConfigMapWithAClientCertificate()
    {
        await using var h = await StartAsync();
        using var admin = h.Pki.Client("kubernetes-admin", "system:masters");
        var certFile = Path.Combine(h.Pki.Dir, "admin.crt");
        var keyFile = Path.Combine(h.Pki.Dir, "admin.key");
        await File.WriteAllTextAsync(certFile, admin.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, admin.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var config = new KubernetesClientConfiguration
        {
            Host = h.Server.BaseUri.ToString().TrimEnd('/'),
            SslCaCerts = new X509Certificate2Collection(X509Certificate2.CreateFromPem(File.ReadAllText(h.Pki.CaCertFile))),
            ClientCertificateFilePath = certFile,
            ClientKeyFilePath = keyFile,
        };
        using var client = new Kubernetes(config);
        var created = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "from-client" },
            Data = new Dictionary<string, string> { ["hello"] = "world" },
        }, "default");
        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        var read = await client.CoreV1.ReadNamespacedConfigMapAsync("from-client", "default");
        Assert.Equal("world", read.Data["hello"]);
        Assert.Equal(created.Metadata.ResourceVersion, read.Metadata.ResourceVersion);
        Assert.Equal("world", (string?)h.Store.Get("configmaps", "default", "from-client")!["data"]!["hello"]);
    }

    [Fact]
    public async Task StandaloneProcessStartsFromKubeApiserverFlags()
    {
        using var pki = new ThrowawayPki();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var dll = typeof(Server).Assembly.Location;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            dll, "kube-apiserver", "--advertise-address=127.0.0.1", "--allow-privileged=true", "--authorization-mode=Node,RBAC",
            $"--client-ca-file={pki.CaCertFile}", "--enable-admission-plugins=NodeRestriction", "--enable-bootstrap-token-auth=true",
            "--etcd-servers=https://127.0.0.1:2379", $"--secure-port={port}", "--bind-address=127.0.0.1",
            "--service-cluster-ip-range=10.96.0.0/12", $"--tls-cert-file={pki.ServingCertFile}",
            $"--tls-private-key-file={pki.ServingKeyFile}", "--requestheader-allowed-names=front-proxy-client",
        }) psi.ArgumentList.Add(a);
        using var proc = Process.Start(psi)!;
        var pid = proc.Id;
        try
        {
            using var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, c, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(pki.Ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return c != null && chain.Build(c);
                },
            };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
            string? ready = null;
            for (var i = 0; i < 120 && ready == null && !proc.HasExited; i++)
            {
                try { ready = await http.GetStringAsync($"https://127.0.0.1:{port}/readyz"); }
                catch (HttpRequestException) { await Task.Delay(250); }
            }
            Assert.False(proc.HasExited, "the standalone server exited: " + (proc.HasExited ? await proc.StandardError.ReadToEndAsync() : ""));
            Assert.Equal("ok", ready);
        }
        finally
        {
            using var byPid = Process.GetProcessById(pid);
            if (!byPid.HasExited) byPid.Kill();
            await byPid.WaitForExitAsync();
        }
        Assert.True(proc.HasExited);
    }
}
