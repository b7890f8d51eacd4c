using System.Globalization;
using Kubeforge.Versions;
using Kubeforge.Yaml;

namespace Kubeforge.Config;

/// <summary>JoinConfiguration is the internal form of kubeadm's v1beta3/v1beta4 JoinConfiguration (the node side of
/// "kubeadm join"): how to find the cluster, how this node registers, and the control-plane part.</summary>
public sealed class JoinConfiguration
{
    /// <summary>ApiServerEndpoint is discovery.bootstrapToken.apiServerEndpoint ("host:port").</summary>
    public string ApiServerEndpoint { get; set; } = "";

    /// <summary>DiscoveryToken is discovery.bootstrapToken.token ("id.secret").</summary>
    public string DiscoveryToken { get; set; } = "";
    public List<string> CaCertHashes { get; set; } = [];
    public bool UnsafeSkipCaVerification { get; set; }

    /// <summary>DiscoveryFile is discovery.file.kubeConfigPath (file discovery instead of a token).</summary>
    public string? DiscoveryFile { get; set; }

    /// <summary>TlsBootstrapToken is discovery.tlsBootstrapToken (defaults to the discovery token).</summary>
    public string TlsBootstrapToken { get; set; } = "";
    public TimeSpan DiscoveryTimeout { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan TlsBootstrapTimeout { get; set; } = TimeSpan.FromMinutes(5);
    public NodeRegistration NodeRegistration { get; set; } = new();
    public string CaCertPath { get; set; } = "/etc/kubernetes/pki/ca.crt";

    /// <summary>ControlPlane is set for a control-plane join (--control-plane or a controlPlane section).</summary>
    public JoinControlPlane? ControlPlane { get; set; }
    public List<string> SkipPhases { get; set; } = [];
    public bool DryRun { get; set; }

    /// <summary>TokenId is the id part of the discovery token (never the secret).</summary>
    public string TokenId => DiscoveryToken.Split('.')[0];
}

/// <summary>JoinControlPlane is JoinConfiguration.controlPlane.</summary>
public sealed class JoinControlPlane
{
    public ApiEndpoint LocalApiEndpoint { get; set; } = new();
    public string? CertificateKey { get; set; }
}

/// <summary>JoinFlags are the "kubeadm join" flags (null: not given).</summary>
public sealed record JoinFlags
{
    public string? ApiServerEndpoint { get; init; }
    public string? Token { get; init; }
    public string? DiscoveryToken { get; init; }
    public string? TlsBootstrapToken { get; init; }
    public IReadOnlyList<string>? CaCertHashes { get; init; }
    public bool UnsafeSkipCaVerification { get; init; }
    public string? DiscoveryFile { get; init; }
    public string? NodeName { get; init; }
    public string? CriSocket { get; init; }
    public bool ControlPlane { get; init; }
    public string? CertificateKey { get; init; }
    public string? AdvertiseAddress { get; init; }
    public int? BindPort { get; init; }
    public IReadOnlyList<string>? IgnorePreflightErrors { get; init; }
    public IReadOnlyList<string>? SkipPhases { get; init; }
    public bool DryRun { get; init; }
}

/// <summary>JoinConfigurationLoader reads a JoinConfiguration document (or none) and the join flags into a validated
/// <see cref="JoinConfiguration"/>, as kubeadm's LoadOrDefaultJoinConfiguration does.</summary>
public static class JoinConfigurationLoader
{
    private static readonly System.Text.RegularExpressions.Regex TokenRegex = new(@"\A([a-z0-9]{6})\.([a-z0-9]{16})\z");

    /// <summary>Load parses configText (null: flags only) named sourceName, applies the flags and validates.</summary>
    public static JoinConfiguration Load(string? configText, string sourceName, JoinFlags f)
    {
        var j = new JoinConfiguration();
        if (configText is not null)
        {
            var mixed = new List<string>();
            void Mixed(string name, bool given) { if (given) mixed.Add(name); }
            Mixed("token", f.Token is not null);
            Mixed("discovery-token", f.DiscoveryToken is not null);
            Mixed("discovery-token-ca-cert-hash", f.CaCertHashes is { Count: > 0 });
            Mixed("discovery-file", f.DiscoveryFile is not null);
            Mixed("certificate-key", f.CertificateKey is not null);
            Mixed("apiserver-advertise-address", f.AdvertiseAddress is not null);
            Mixed("cri-socket", f.CriSocket is not null);
            if (mixed.Count > 0 || f.ApiServerEndpoint is not null)
            {
                throw new ConfigError($"can not mix '--config' with arguments [{string.Join(" ", mixed.Append(f.ApiServerEndpoint is null ? "" : "api-server-endpoint").Where(s => s.Length > 0))}]; put these settings into {sourceName} instead");
            }
            MapDocument(configText, sourceName, j);
        }
        else
        {
            j.ApiServerEndpoint = f.ApiServerEndpoint ?? "";
            var token = f.Token ?? "";
            j.DiscoveryToken = f.DiscoveryToken ?? token;
            j.TlsBootstrapToken = f.TlsBootstrapToken ?? token;
            j.CaCertHashes = [.. f.CaCertHashes ?? []];
            j.UnsafeSkipCaVerification = f.UnsafeSkipCaVerification;
            j.DiscoveryFile = f.DiscoveryFile;
            if (f.CriSocket is not null) j.NodeRegistration.CriSocket = f.CriSocket;
            if (f.ControlPlane)
            {
                j.ControlPlane = new JoinControlPlane { CertificateKey = f.CertificateKey };
                j.ControlPlane.LocalApiEndpoint.AdvertiseAddress = f.AdvertiseAddress ?? "";
                j.ControlPlane.LocalApiEndpoint.BindPort = f.BindPort ?? 6443;
            }
        }
        // flags kubeadm lets through with --config
        if (f.NodeName is not null) j.NodeRegistration.Name = f.NodeName;
        if (f.IgnorePreflightErrors is { Count: > 0 }) j.NodeRegistration.IgnorePreflightErrors = [.. f.IgnorePreflightErrors];
        if (f.SkipPhases is { Count: > 0 }) j.SkipPhases = [.. f.SkipPhases];
        if (f.DryRun) j.DryRun = true;
        if (f.ControlPlane && j.ControlPlane is null) j.ControlPlane = new JoinControlPlane();
        if (j.TlsBootstrapToken.Length == 0) j.TlsBootstrapToken = j.DiscoveryToken;
        Validate(j, sourceName);
        return j;
    }

    private static void Validate(JoinConfiguration j, string source)
    {
        var errors = new List<string>();
        if (j.DiscoveryFile is null)
        {
            if (j.DiscoveryToken.Length == 0)
            {
                errors.Add("discovery: neither a bootstrap token (--token or --discovery-token) nor a discovery file (--discovery-file) was given; pass the values of the join command printed by init");
            }
            else if (!TokenRegex.IsMatch(j.DiscoveryToken))
            {
                errors.Add("discovery.bootstrapToken.token: the token does not match the format [a-z0-9]{6}.[a-z0-9]{16}; copy it from the join command");
            }
            if (j.ApiServerEndpoint.Length == 0)
            {
                errors.Add("discovery.bootstrapToken.apiServerEndpoint: the API server endpoint is missing; pass it as the first argument (e.g. 10.0.0.10:6443)");
            }
            if (j.CaCertHashes.Count == 0 && !j.UnsafeSkipCaVerification)
            {
                errors.Add("discovery.bootstrapToken: using token-based discovery without caCertHashes can be unsafe; pass --discovery-token-ca-cert-hash sha256:<hash> (from the join command) or --discovery-token-unsafe-skip-ca-verification");
            }
            foreach (var h in j.CaCertHashes)
            {
                if (!Pki.PubKeyPin.TryParse(h, out _))
                {
                    errors.Add($"discovery.bootstrapToken.caCertHashes: \"{h}\" is not a sha256:<64 hex digits> value; copy it from the join command");
                }
            }
        }
        else if (j.DiscoveryToken.Length > 0 && j.ApiServerEndpoint.Length > 0)
        {
            errors.Add("discovery: give either a bootstrap token with an API server endpoint or --discovery-file, not both");
        }
        if (j.TlsBootstrapToken.Length > 0 && !TokenRegex.IsMatch(j.TlsBootstrapToken))
        {
            errors.Add("discovery.tlsBootstrapToken: the token does not match the format [a-z0-9]{6}.[a-z0-9]{16}");
        }
        if (j.TlsBootstrapToken.Length == 0)
        {
            errors.Add("discovery.tlsBootstrapToken: no TLS bootstrap token; pass --tls-bootstrap-token or --token");
        }
        if (j.ControlPlane?.CertificateKey is { Length: > 0 } key && (key.Length != 64 || !key.All(char.IsAsciiHexDigit)))
        {
            errors.Add("controlPlane.certificateKey: the certificate key must be 64 hex digits; copy it from the join command printed by init --upload-certs");
        }
        if (errors.Count > 0)
        {
            throw new ConfigError(errors.Select(e => $"{source}: {e}").ToList());
        }
    }

    private static void MapDocument(string text, string source, JoinConfiguration j)
    {
        List<YNode> docs;
        try
        {
            docs = YamlReader.ReadAll(text, source);
        }
        catch (YamlFormatException e)
        {
            throw new ConfigError($"{e.Message}; fix the YAML syntax at that line");
        }
        var doc = docs.OfType<YMap>().FirstOrDefault(m => m.Str("kind") == "JoinConfiguration" && m.Str("apiVersion") is KubeadmSchema.V3 or KubeadmSchema.V4)
            ?? throw new ConfigError($"{source}: no {KubeadmSchema.V3} or {KubeadmSchema.V4} JoinConfiguration document found; add one with apiVersion, kind: JoinConfiguration and discovery settings");
        var v4 = doc.Str("apiVersion") == KubeadmSchema.V4;
        j.CaCertPath = doc.Str("caCertPath") ?? j.CaCertPath;
        if (doc.Map("discovery") is { } d)
        {
            if (d.Map("bootstrapToken") is { } bt)
            {
                j.DiscoveryToken = bt.Str("token") ?? "";
                j.ApiServerEndpoint = bt.Str("apiServerEndpoint") ?? "";
                j.CaCertHashes = bt.Seq("caCertHashes")?.Items.OfType<YScalar>().Select(s => s.Text).ToList() ?? [];
                j.UnsafeSkipCaVerification = bt.Str("unsafeSkipCAVerification") == "true";
            }
            j.DiscoveryFile = d.Map("file")?.Str("kubeConfigPath");
            j.TlsBootstrapToken = d.Str("tlsBootstrapToken") ?? "";
            if (!v4 && d.Str("timeout") is { } t && GoDuration.TryParse(t, out var dt)) j.DiscoveryTimeout = dt;
        }
        if (v4 && doc.Map("timeouts") is { } to)
        {
            if (to.Str("discovery") is { } ds && GoDuration.TryParse(ds, out var dd)) j.DiscoveryTimeout = dd;
            if (to.Str("tlsBootstrap") is { } ts && GoDuration.TryParse(ts, out var tt)) j.TlsBootstrapTimeout = tt;
        }
        if (doc.Map("nodeRegistration") is { } nr)
        {
            var n = j.NodeRegistration;
            n.Name = nr.Str("name") ?? "";
            n.CriSocket = nr.Str("criSocket") ?? "";
            if (nr.ContainsKey("taints"))
            {
                n.Taints = nr.Seq("taints")?.Items.OfType<YMap>().Select(t => new Taint(t.Str("key") ?? "", t.Str("value") ?? "", t.Str("effect") ?? "")).ToList() ?? [];
            }
            n.KubeletExtraArgs = nr["kubeletExtraArgs"] switch
            {
                YMap m => m.Keys.Select(k => new Arg(k, m.Str(k) ?? "")).ToList(),
                YSeq s => s.Items.OfType<YMap>().Select(a => new Arg(a.Str("name") ?? "", a.Str("value") ?? "")).ToList(),
                _ => [],
            };
            n.IgnorePreflightErrors = nr.Seq("ignorePreflightErrors")?.Items.OfType<YScalar>().Select(s => s.Text).ToList() ?? [];
        }
        if (doc.Map("controlPlane") is { } cp)
        {
            j.ControlPlane = new JoinControlPlane { CertificateKey = cp.Str("certificateKey") };
            if (cp.Map("localAPIEndpoint") is { } ep)
            {
                j.ControlPlane.LocalApiEndpoint.AdvertiseAddress = ep.Str("advertiseAddress") ?? "";
                j.ControlPlane.LocalApiEndpoint.BindPort = ep.Str("bindPort") is { } p ? int.Parse(p, CultureInfo.InvariantCulture) : 6443;
            }
        }
        j.SkipPhases = doc.Seq("skipPhases")?.Items.OfType<YScalar>().Select(s => s.Text).ToList() ?? [];
        j.DryRun = v4 && doc.Str("dryRun") == "true";
    }
}
