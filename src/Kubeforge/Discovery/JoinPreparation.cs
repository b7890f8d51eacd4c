using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.Config;
using Kubeforge.KubeConfig;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.Discovery;

/// <summary>JoinData is everything join learns from the cluster before it writes anything: the discovered cluster, the
/// TLS-bootstrap kubeconfig, the kubelet configuration of the cluster and (control-plane join) the decrypted shared
/// certificates and keys.</summary>
public sealed class JoinData
{
    public required JoinConfiguration Join { get; init; }
    public required DiscoveredCluster Cluster { get; init; }

    /// <summary>BootstrapKubeconfig is bootstrap-kubelet.conf (spec §5.3): the token user tls-bootstrap-token-user.</summary>
    public required byte[] BootstrapKubeconfig { get; init; }

    /// <summary>KubeletConfig is the kubelet ConfigMap's "kubelet" value, written as is to config.yaml.</summary>
    public required byte[] KubeletConfig { get; init; }

    /// <summary>Certs are the files of kube-system/kubeadm-certs (node path, bytes), decrypted; null when not downloaded.</summary>
    public IReadOnlyList<(string Path, byte[] Content)>? Certs { get; init; }

    public bool ControlPlane => Join.ControlPlane is not null;
}

/// <summary>JoinPreparation does discovery and reads the cluster's configuration with the bootstrap token, and validates
/// everything a join needs, before any file is written (so a failure leaves the node untouched).</summary>
public static class JoinPreparation
{
    /// <summary>TlsBootstrapUser is the kubeconfig user of bootstrap-kubelet.conf (kubeadm's TokenUser).</summary>
    public const string TlsBootstrapUser = "tls-bootstrap-token-user";

    /// <summary>PrepareAsync discovers the cluster, fetches kubeadm-config and the kubelet ConfigMap, and for a
    /// control-plane join downloads and decrypts kubeadm-certs. apiFactory builds the API port from a kubeconfig.</summary>
    public static async Task<(KubeadmConfig Config, JoinData Data)> PrepareAsync(JoinConfiguration join, Hosts.IHost host, IUi ui,
        DiscoveryOptions options, NodeIdentity node, Func<byte[], IKubeApi> apiFactory, CancellationToken ct)
    {
        var cluster = join.DiscoveryFile is { } file
            ? await FileDiscovery.DiscoverAsync(host, file, ct).ConfigureAwait(false)
            : await TokenDiscovery.DiscoverAsync(join.ApiServerEndpoint, join.DiscoveryToken, join.CaCertHashes, join.UnsafeSkipCaVerification, options, ui, ct).ConfigureAwait(false);
        var bootstrap = KubeConfigFile.Build(cluster.Server, cluster.ClusterName, TlsBootstrapUser, cluster.CaPem, token: join.TlsBootstrapToken);
        var api = apiFactory(bootstrap);

        ui.Info("preflight", "Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...");
        var kubeadmCm = await GetAsync(api, ApiResource.ConfigMap, "kube-system", UploadConfig.KubeadmConfigMapName, "the kubeadm-config ConfigMap", ct).ConfigureAwait(false);
        var clusterYaml = kubeadmCm["data"]?[UploadConfig.ClusterConfigurationKey]?.GetValue<string>()
            ?? throw new UserError("kube-system/kubeadm-config has no ClusterConfiguration key; run \"kubeadm init phase upload-config kubeadm\" on a control-plane node");
        var cp = join.ControlPlane;
        var advertise = cp?.LocalApiEndpoint.AdvertiseAddress is { Length: > 0 } a ? a : node.AdvertiseAddress ?? "127.0.0.1";
        var cfg = KubeadmConfigLoader.Load(clusterYaml, "kube-system/kubeadm-config",
            InitFlags.None with { NodeName = join.NodeRegistration.Name.Length > 0 ? join.NodeRegistration.Name : null },
            node with { DefaultIPv4 = advertise, DefaultIPv6 = null });
        Combine(cfg, join);

        var kubeletCm = await GetAsync(api, ApiResource.ConfigMap, "kube-system", cfg.Profile.KubeletConfigMapName, $"the {cfg.Profile.KubeletConfigMapName} ConfigMap", ct).ConfigureAwait(false);
        var kubelet = kubeletCm["data"]?[UploadConfig.KubeletConfigKey]?.GetValue<string>()
            ?? throw new UserError($"kube-system/{cfg.Profile.KubeletConfigMapName} has no \"kubelet\" key; run \"kubeadm init phase upload-config kubelet\" on a control-plane node");

        IReadOnlyList<(string, byte[])>? certs = null;
        if (cp is not null)
        {
            if (string.IsNullOrWhiteSpace(cfg.Cluster.ControlPlaneEndpoint))
            {
                throw new UserError("unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address; set controlPlaneEndpoint in the cluster's ClusterConfiguration (init --control-plane-endpoint)");
            }
            if (!string.IsNullOrEmpty(cp.CertificateKey))
            {
                certs = await DownloadCertsAsync(api, cfg, cp.CertificateKey, ct).ConfigureAwait(false);
            }
        }
        var data = new JoinData
        {
            Join = join,
            Cluster = cluster,
            BootstrapKubeconfig = bootstrap,
            KubeletConfig = Encoding.UTF8.GetBytes(kubelet),
            Certs = certs,
        };
        return (cfg, data);
    }

    /// <summary>Combine puts this node's registration and (control-plane) API endpoint into the cluster's configuration.</summary>
    public static void Combine(KubeadmConfig cfg, JoinConfiguration join)
    {
        var nr = cfg.Init.NodeRegistration;
        var jn = join.NodeRegistration;
        if (jn.CriSocket.Length > 0)
        {
            nr.CriSocket = jn.CriSocket.StartsWith('/') && cfg.Profile.DefaultCriSocket.StartsWith("unix://", StringComparison.Ordinal) ? "unix://" + jn.CriSocket : jn.CriSocket;
        }
        // a worker registers without taints unless asked; a control-plane node gets the version's default taints
        nr.Taints = jn.Taints ?? (join.ControlPlane is null ? [] : null);
        nr.KubeletExtraArgs = jn.KubeletExtraArgs;
        nr.IgnorePreflightErrors = jn.IgnorePreflightErrors;
        if (join.ControlPlane is { } cp)
        {
            cfg.Init.LocalApiEndpoint.BindPort = cp.LocalApiEndpoint.BindPort == 0 ? 6443 : cp.LocalApiEndpoint.BindPort;
        }
        cfg.Init.Timeouts.TlsBootstrap = join.TlsBootstrapTimeout;
        cfg.Init.Timeouts.Discovery = join.DiscoveryTimeout;
        cfg.Init.DryRun = join.DryRun;
    }

    private static async Task<IReadOnlyList<(string, byte[])>> DownloadCertsAsync(IKubeApi api, KubeadmConfig cfg, string key, CancellationToken ct)
    {
        JsonObject? secret;
        try
        {
            secret = await api.GetAsync(ApiResource.Secret, "kube-system", UploadCerts.SecretName, ct).ConfigureAwait(false);
        }
        catch (ApiException e) when (e.IsForbidden)
        {
            secret = null;
        }
        if (secret is null)
        {
            throw new UserError($"Secret \"{UploadCerts.SecretName}\" was not found in kube-system (it expires two hours after upload); run \"kubeadm init phase upload-certs --upload-certs\" on a control-plane node and use the new certificate key");
        }
        var result = new List<(string, byte[])>();
        foreach (var (dataKey, path) in UploadCerts.Files(cfg))
        {
            var b64 = secret["data"]?[dataKey]?.GetValue<string>();
            if (string.IsNullOrEmpty(b64))
            {
                continue;
            }
            try
            {
                result.Add((path, CertificateKey.Decrypt(Convert.FromBase64String(b64), key)));
            }
            catch (UserError)
            {
                throw new UserError($"cannot decrypt {dataKey} of kube-system/{UploadCerts.SecretName}: the certificate key is wrong or the kubeadm-certs Secret expired; run \"kubeadm init phase upload-certs --upload-certs\" on a control-plane node and pass the printed key with --certificate-key");
            }
        }
        return result;
    }

    private static async Task<JsonObject> GetAsync(IKubeApi api, ApiResource r, string ns, string name, string what, CancellationToken ct)
    {
        try
        {
            return await api.GetAsync(r, ns, name, ct).ConfigureAwait(false)
                ?? throw new UserError($"{what} (namespace {ns}) does not exist; the cluster was not set up by kubeadm init (run the upload-config phase on a control-plane node)");
        }
        catch (ApiException e)
        {
            throw new UserError($"cannot read {what} with the bootstrap token: {e.Message}; check that the token is valid (\"kubeadm token list\") and allowed to read it");
        }
    }
}
