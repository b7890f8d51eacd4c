using System.Globalization;

namespace Kubeforge.TestApiServer;

/// <summary>TestApiServerOptions configures a TestApiServer (in-process) or the standalone process (from kube-apiserver flags).</summary>
public sealed class TestApiServerOptions
{
    /// <summary>TlsCertFile is the serving certificate (PEM); `--tls-cert-file`.</summary>
    public required string TlsCertFile { get; set; }

    /// <summary>TlsKeyFile is the serving key (PEM, RSA or ECDSA); `--tls-private-key-file`.</summary>
    public required string TlsKeyFile { get; set; }

    /// <summary>ClientCaFile is the CA bundle (PEM) client certificates must chain to; `--client-ca-file`. Null: no cert auth.</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>BindAddress is the IP to listen on; `--bind-address` (default 127.0.0.1 here; 0.0.0.0/:: allowed).</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>Port is the HTTPS port; `--secure-port`; 0 picks a free port (see TestApiServer.BaseUri).</summary>
    public int Port { get; set; } = 6443;

    /// <summary>AdvertiseAddress is reported in /api serverAddressByClientCIDRs; `--advertise-address`.</summary>
    public string? AdvertiseAddress { get; set; }

    /// <summary>GitVersion is what /version reports; `--test-git-version`.</summary>
    public string GitVersion { get; set; } = "v1.37.0";

    /// <summary>AnonymousAuth allows requests without credentials as system:anonymous; `--anonymous-auth`.</summary>
    public bool AnonymousAuth { get; set; } = true;

    /// <summary>EnableBootstrapSigner runs the bootstrap-signer controller (signs kube-public/cluster-info).</summary>
    public bool EnableBootstrapSigner { get; set; } = true;

    /// <summary>AutoApproveKubeletClientCsrs runs the csrapproving controller for kubelet client CSRs.</summary>
    public bool AutoApproveKubeletClientCsrs { get; set; } = true;

    /// <summary>ClusterSigningCertFile is the CA certificate (PEM) that signs approved CSRs; `--cluster-signing-cert-file`.
    /// Null: approved CSRs are not signed.</summary>
    public string? ClusterSigningCertFile { get; set; }

    /// <summary>ClusterSigningKeyFile is the CA key (PEM) for ClusterSigningCertFile; `--cluster-signing-key-file`.</summary>
    public string? ClusterSigningKeyFile { get; set; }

    /// <summary>ClusterSigningDuration is the default validity of signed certificates (kube-controller-manager default 1 year).</summary>
    public TimeSpan ClusterSigningDuration { get; set; } = TimeSpan.FromDays(365);

    /// <summary>StaticTokens maps extra bearer tokens to users (like `--token-auth-file`); system:authenticated is added.</summary>
    public Dictionary<string, UserInfo> StaticTokens { get; set; } = new();

    /// <summary>Time is the clock for timestamps, token expiry and certificate validity.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>ControllerInterval is how often the emulated controllers resync without a store change.</summary>
    public TimeSpan ControllerInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>EtcdServers are the etcd client URLs (https) to keep the objects in; `--etcd-servers` (comma list; used only
    /// together with --etcd-cafile/--etcd-certfile/--etcd-keyfile). Empty: in memory.
    /// Several instances on one etcd cluster serve one state, like kube-apiservers behind a load balancer.</summary>
    public IReadOnlyList<string> EtcdServers { get; set; } = [];

    /// <summary>EtcdCaFile is the CA (PEM) the etcd serving certificates chain to; `--etcd-cafile`.</summary>
    public string? EtcdCaFile { get; set; }

    /// <summary>EtcdCertFile is the etcd client certificate (PEM); `--etcd-certfile`.</summary>
    public string? EtcdCertFile { get; set; }

    /// <summary>EtcdKeyFile is the etcd client key (PEM); `--etcd-keyfile`.</summary>
    public string? EtcdKeyFile { get; set; }

    /// <summary>EtcdPrefix is the key prefix of all objects; `--etcd-prefix` (default /registry).</summary>
    public string EtcdPrefix { get; set; } = "/registry";

    /// <summary>FromArgs parses a kube-apiserver command line (`--name=value`; unknown flags and non-flag words are ignored).
    /// Used: --tls-cert-file, --tls-private-key-file, --client-ca-file, --secure-port, --bind-address, --advertise-address,
    /// --anonymous-auth, --etcd-servers, --etcd-cafile, --etcd-certfile, --etcd-keyfile, --etcd-prefix; test extensions: --test-git-version, --cluster-signing-cert-file, --cluster-signing-key-file.</summary>
    public static TestApiServerOptions FromArgs(IEnumerable<string> args)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var a in args)
        {
            if (!a.StartsWith("--", StringComparison.Ordinal)) continue;
            var eq = a.IndexOf('=');
            if (eq < 0) flags[a[2..]] = "true";
            else flags[a[2..eq]] = a[(eq + 1)..];
        }
        string Need(string name) => flags.TryGetValue(name, out var v) && v.Length > 0
            ? v : throw new ArgumentException($"flag --{name} is required");
        var o = new TestApiServerOptions { TlsCertFile = Need("tls-cert-file"), TlsKeyFile = Need("tls-private-key-file") };
        if (flags.TryGetValue("client-ca-file", out var ca)) o.ClientCaFile = ca;
        if (flags.TryGetValue("secure-port", out var port)) o.Port = int.Parse(port, CultureInfo.InvariantCulture);
        if (flags.TryGetValue("bind-address", out var bind)) o.BindAddress = bind;
        if (flags.TryGetValue("advertise-address", out var adv)) o.AdvertiseAddress = adv;
        if (flags.TryGetValue("anonymous-auth", out var anon)) o.AnonymousAuth = anon != "false";
        if (flags.TryGetValue("test-git-version", out var gv)) o.GitVersion = gv;
        if (flags.TryGetValue("cluster-signing-cert-file", out var sc)) o.ClusterSigningCertFile = sc;
        if (flags.TryGetValue("cluster-signing-key-file", out var sk)) o.ClusterSigningKeyFile = sk;
        // etcd storage needs the client certificate too: --etcd-servers alone (no --etcd-certfile/--etcd-keyfile) stays in memory
        if (flags.TryGetValue("etcd-servers", out var es) && (flags.ContainsKey("etcd-certfile") || flags.ContainsKey("etcd-keyfile")))
        {
            o.EtcdServers = es.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            o.EtcdCaFile = Need("etcd-cafile");
            o.EtcdCertFile = Need("etcd-certfile");
            o.EtcdKeyFile = Need("etcd-keyfile");
        }
        if (flags.TryGetValue("etcd-prefix", out var ep) && ep.Length > 0) o.EtcdPrefix = ep;
        return o;
    }
}
