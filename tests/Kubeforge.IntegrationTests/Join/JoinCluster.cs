using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Kubeforge.Cli;
using Kubeforge.Hosts;

namespace Kubeforge.IntegrationTests.Join;

/// <summary>JoinCluster is a control plane made by "kubeforge init --upload-certs --control-plane-endpoint" on a rootfs,
/// served by the test API server (bootstrap signer on, kubelet client CSRs approved and signed with the cluster CA).
/// It keeps the join commands init printed.</summary>
public sealed class JoinCluster : IAsyncDisposable
{
    private JoinCluster(string root) => Root = root;

    public string Root { get; }
    public string Cp1 => Path.Join(Root, "cp1");
    public string Pki => Path.Join(Cp1, "etc/kubernetes/pki");
    public int Port { get; private set; }
    public string Address { get; private set; } = "127.0.0.1";
    public Kubeforge.TestApiServer.TestApiServer Server { get; private set; } = null!;
    public string InitOutput { get; private set; } = "";

    /// <summary>WorkerCommand and ControlPlaneCommand are the join commands exactly as init printed them.</summary>
    public string WorkerCommand { get; private set; } = "";
    public string ControlPlaneCommand { get; private set; } = "";

    /// <summary>StartAsync runs init for cp1 (advertising cp1Address, API on apiAddress:port) and starts the API server.</summary>
    public static async Task<JoinCluster> StartAsync(string version, string cp1Address = "127.0.0.1", string apiAddress = "127.0.0.1", string[]? extraInit = null)
    {
        var c = new JoinCluster(Directory.CreateTempSubdirectory("kf-join-it-").FullName) { Address = apiAddress, Port = FreePort() };
        Directory.CreateDirectory(c.Cp1);
        string[] common = ["--rootfs", c.Cp1, "--node-name", "cp1", "--apiserver-advertise-address", cp1Address, "--apiserver-bind-port", c.Port.ToString(),
            "--control-plane-endpoint", $"{apiAddress}:{c.Port}", "--kubernetes-version", version, "--pod-network-cidr", "10.244.0.0/16", .. extraInit ?? []];
        var pre = Run(["init", "phase", "certs", "all", .. common]);
        Assert.True(pre.Code == 0, pre.Err);
        c.Server = await Kubeforge.TestApiServer.TestApiServer.StartAsync(new Kubeforge.TestApiServer.TestApiServerOptions
        {
            TlsCertFile = Path.Join(c.Pki, "apiserver.crt"),
            TlsKeyFile = Path.Join(c.Pki, "apiserver.key"),
            ClientCaFile = Path.Join(c.Pki, "ca.crt"),
            ClusterSigningCertFile = Path.Join(c.Pki, "ca.crt"),
            ClusterSigningKeyFile = Path.Join(c.Pki, "ca.key"),
            BindAddress = apiAddress,
            Port = c.Port,
            GitVersion = version,
        });
        c.PutNode("cp1");
        var init = Run(["init", "--upload-certs", .. common]);
        Assert.True(init.Code == 0, init.Err + init.Out);
        c.InitOutput = init.Out;
        var commands = JoinCommands(init.Out);
        c.ControlPlaneCommand = commands.Single(x => x.Contains("--control-plane", StringComparison.Ordinal));
        c.WorkerCommand = commands.Single(x => !x.Contains("--control-plane", StringComparison.Ordinal));
        return c;
    }

    /// <summary>PutNode registers a Node as its kubelet would.</summary>
    public void PutNode(string name) => Server.Store.Put(new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Node",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["kubernetes.io/hostname"] = name } },
    });

    /// <summary>JoinCommands cuts every "kubeadm join ..." command (with its backslash-newline continuations) out of init's output.</summary>
    public static List<string> JoinCommands(string output)
    {
        var result = new List<string>();
        for (var i = output.IndexOf("kubeadm join ", StringComparison.Ordinal); i >= 0; i = output.IndexOf("kubeadm join ", i + 1, StringComparison.Ordinal))
        {
            var end = i;
            while (true)
            {
                var nl = output.IndexOf('\n', end);
                if (nl < 0) { end = output.Length; break; }
                if (nl > 0 && output[nl - 1] == '\\') { end = nl + 1; continue; }
                end = nl;
                break;
            }
            result.Add(output[i..end]);
        }
        return result;
    }

    /// <summary>Paste turns a printed command into CLI arguments, replacing only the program name ("kubeadm").</summary>
    public static string[] Paste(string command)
    {
        var words = command.Replace("\\\n", " ", StringComparison.Ordinal).Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("kubeadm", words[0]);
        return words[1..];
    }

    /// <summary>Env is the CLI environment of a test join: short discovery retries and timeouts.</summary>
    public static CliEnvironment Env(TimeSpan? discoveryTimeout = null, TimeSpan? tlsBootstrapTimeout = null) => CliEnvironment.Default with
    {
        DiscoveryRetryInterval = TimeSpan.FromMilliseconds(200),
        DiscoveryTimeout = discoveryTimeout ?? TimeSpan.FromSeconds(3),
        TlsBootstrapTimeout = tlsBootstrapTimeout ?? TimeSpan.FromSeconds(30),
    };

    /// <summary>Run runs the CLI in process.</summary>
    public static (int Code, string Out, string Err) Run(string[] args, CliEnvironment? env = null)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = App.Run(args, o, e, env);
        return (code, o.ToString(), e.ToString());
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>NewNode makes an empty rootfs folder for a joining node.</summary>
    public string NewNode(string name)
    {
        var dir = Path.Join(Root, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>FileModeOf returns the permission bits of a file under a rootfs.</summary>
    public static int FileModeOf(string rootfs, string nodePath) => (int)File.GetUnixFileMode(Path.Join(rootfs, nodePath.TrimStart('/'))) & 0xFFF;

    /// <summary>NodeFile reads a node path under a rootfs.</summary>
    public static string NodeFile(string rootfs, string nodePath) => File.ReadAllText(Path.Join(rootfs, nodePath.TrimStart('/')));

    internal static string Kubernetes(string name) => NodePaths.KubeConfig(name);
}
