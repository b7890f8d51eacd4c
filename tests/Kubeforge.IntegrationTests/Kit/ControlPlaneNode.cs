using System.Text.Json.Nodes;
using Kubeforge.IntegrationTests.Init;
using Kubeforge.TestApiServer;

namespace Kubeforge.IntegrationTests.Kit;

/// <summary>ControlPlaneNode prepares a first control-plane node on a --rootfs for "kubeforge init" against the test
/// API server (a test double of kube-apiserver): it generates the certificates with "init phase certs all", starts
/// the test API server on a free loopback port with the generated apiserver certificate and client CA, and registers
/// the Node object the kubelet would register. Flags holds the init flags every later command must repeat.</summary>
public sealed class ControlPlaneNode : IAsyncDisposable
{
    private ControlPlaneNode(string[] flags, Kubeforge.TestApiServer.TestApiServer server)
    {
        Flags = flags;
        Server = server;
    }

    public const string NodeName = "cp1";

    public string[] Flags { get; }

    public Kubeforge.TestApiServer.TestApiServer Server { get; }

    public ObjectStore Store => Server.Store;

    /// <summary>StartAsync makes the certificates and starts the server; extraFlags are added to the init flags.</summary>
    public static async Task<ControlPlaneNode> StartAsync(string rootfs, string version, params string[] extraFlags)
    {
        var port = InitAgainstTestApiServerTests.FreePort();
        string[] flags = ["--rootfs", rootfs, "--node-name", NodeName, "--apiserver-advertise-address", "127.0.0.1",
            "--apiserver-bind-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--kubernetes-version", version, .. extraFlags];
        var certs = InitAgainstTestApiServerTests.Cli(["init", "phase", "certs", "all", .. flags]);
        Assert.True(certs.Code == 0, certs.Err);
        var pki = Path.Join(rootfs, "etc/kubernetes/pki");
        var server = await Kubeforge.TestApiServer.TestApiServer.StartAsync(new TestApiServerOptions
        {
            TlsCertFile = Path.Join(pki, "apiserver.crt"),
            TlsKeyFile = Path.Join(pki, "apiserver.key"),
            ClientCaFile = Path.Join(pki, "ca.crt"),
            BindAddress = "127.0.0.1",
            Port = port,
            GitVersion = version,
        });
        // the kubelet would register its Node; the test double runs no kubelet
        var nodeObject = JsonNode.Parse("""{"apiVersion":"v1","kind":"Node","metadata":{"labels":{}},"spec":{"taints":[{"key":"example.com/keep","effect":"NoSchedule"}]}}""")!.AsObject();
        nodeObject["metadata"]!["name"] = NodeName;
        nodeObject["metadata"]!["labels"]!["kubernetes.io/hostname"] = NodeName;
        server.Store.Put(nodeObject);
        return new ControlPlaneNode(flags, server);
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
