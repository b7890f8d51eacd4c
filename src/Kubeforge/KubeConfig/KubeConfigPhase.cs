using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.KubeConfig;

/// <summary>KubeConfigSpec is one row of the kubeconfig table: phase name, file, client identity and server rule.</summary>
public sealed record KubeConfigSpec(
    string Name,
    string FileName,
    string LongName,
    Func<KubeadmConfig, string> User,
    Func<KubeadmConfig, IReadOnlyList<string>> Organizations,
    Func<KubeadmConfig, string> Server,
    Func<KubeadmConfig, bool> Applies);

/// <summary>KubeConfigTable lists the kubeconfig files `init` writes, in kubeadm's order (spec/kubeadm.md §3).</summary>
public static class KubeConfigTable
{
    /// <summary>Rows are admin, super-admin (only where the version has it), kubelet, controller-manager, scheduler.</summary>
    public static readonly IReadOnlyList<KubeConfigSpec> Rows =
    [
        new("admin", "admin.conf", "a kubeconfig file for the admin to use and for kubeadm itself",
            _ => "kubernetes-admin", c => [c.Profile.AdminGroup], ControlPlaneEndpointUrl, _ => true),
        new("super-admin", "super-admin.conf", "a kubeconfig file for the super-admin",
            _ => "kubernetes-super-admin", _ => ["system:masters"], ControlPlaneEndpointUrl, c => c.Profile.SuperAdminConf),
        new("kubelet", "kubelet.conf", "a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes",
            c => "system:node:" + c.NodeName, _ => ["system:nodes"],
            c => c.Profile.KubeletLocalApiEndpoint ? LocalEndpointUrl(c) : ControlPlaneEndpointUrl(c), _ => true),
        new("controller-manager", "controller-manager.conf", "a kubeconfig file for the controller manager to use",
            _ => "system:kube-controller-manager", _ => [], LocalEndpointUrl, _ => true),
        new("scheduler", "scheduler.conf", "a kubeconfig file for the scheduler to use",
            _ => "system:kube-scheduler", _ => [], LocalEndpointUrl, _ => true),
    ];

    /// <summary>Names are the phase names (`init phase kubeconfig NAME`), in order.</summary>
    public static readonly IReadOnlyList<string> Names = Rows.Select(r => r.Name).ToList();

    /// <summary>Get finds a row by phase name or file name (null when unknown).</summary>
    public static KubeConfigSpec? Get(string name) => Rows.FirstOrDefault(r => r.Name == name || r.FileName == name);

    /// <summary>ControlPlaneEndpointUrl is kubeadm GetControlPlaneEndpoint: controlPlaneEndpoint (port defaults to the
    /// bind port) when set, else the local API endpoint.</summary>
    public static string ControlPlaneEndpointUrl(KubeadmConfig c)
    {
        if (string.IsNullOrWhiteSpace(c.Cluster.ControlPlaneEndpoint))
        {
            return LocalEndpointUrl(c);
        }
        var (host, port) = AltNames.SplitHostPort(c.Cluster.ControlPlaneEndpoint);
        return "https://" + AltNames.JoinHostPort(host, port ?? c.BindPort);
    }

    /// <summary>LocalEndpointUrl is https://ADVERTISE:BINDPORT (IPv6 in brackets).</summary>
    public static string LocalEndpointUrl(KubeadmConfig c) => "https://" + AltNames.JoinHostPort(c.AdvertiseAddress, c.BindPort);
}

/// <summary>KubeConfigPhase is `init phase kubeconfig`: it writes each kubeconfig (mode 0600) with a client
/// certificate signed by the cluster CA. An existing file is kept when its CA data equals ca.crt (a different
/// server URL only warns); a different CA stops the run naming the file to delete.</summary>
public static class KubeConfigPhase
{
    private const string Phase = "kubeconfig";

    /// <summary>RunAsync writes one kubeconfig by phase name, or all that apply when name is null or "all".</summary>
    public static async Task RunAsync(PhaseContext ctx, string? name, CancellationToken ct = default)
    {
        IEnumerable<KubeConfigSpec> rows;
        if (name is null or "all")
        {
            ctx.Ui.Info(Phase, $"Using kubeconfig folder \"{NodePaths.KubernetesDir}\"");
            rows = KubeConfigTable.Rows.Where(r => r.Applies(ctx.Config));
        }
        else
        {
            rows = [KubeConfigTable.Get(name)
                ?? throw new UserError($"unknown kubeconfig \"{name}\"; use one of: all, {string.Join(", ", KubeConfigTable.Names)}")];
        }
        var ca = await PkiStore.LoadCaAsync(ctx.Host, ctx.Config.CertDir, "ca", ct).ConfigureAwait(false)
            ?? throw new UserError($"the cluster CA {PkiStore.CertPath(ctx.Config.CertDir, "ca")} does not exist; run `init phase certs ca` first");
        foreach (var row in rows)
        {
            await WriteOneAsync(ctx, row, ca.Cert, ca.Key, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Render builds a kubeconfig for row with a new client certificate signed by ca (pure).</summary>
    public static byte[] Render(KubeConfigSpec row, KubeadmConfig cfg, CertAndKey ca, DateTimeOffset now)
    {
        var subject = new CertSubject(row.User(cfg), row.Organizations(cfg), CertUsage.ClientAuth, AltNames.None);
        var client = CertFactory.NewSigned(subject, cfg, ca, now);
        return KubeConfigFile.Build(row.Server(cfg), cfg.Cluster.ClusterName, row.User(cfg), Pem.Cert(ca.Cert), client.CertPem, client.KeyPem);
    }

    private static async Task WriteOneAsync(PhaseContext ctx, KubeConfigSpec row, X509Certificate2 caCert, System.Security.Cryptography.AsymmetricAlgorithm? caKey, CancellationToken ct)
    {
        var path = NodePaths.KubeConfig(row.FileName);
        var existing = await ctx.Host.ReadFileAsync(path, ct).ConfigureAwait(false);
        if (existing is not null)
        {
            var view = KubeConfigFile.Read(existing, path);
            var caData = view.CaPem;
            if (caData is null && view.Cluster.Str("certificate-authority") is { } caFile)
            {
                caData = await ctx.Host.ReadTextAsync(caFile, ct).ConfigureAwait(false);
            }
            if (caData is null || caData.Trim() != Pem.Cert(caCert).Trim())
            {
                throw new UserError($"a kubeconfig file \"{path}\" exists already but has got the wrong CA cert; delete it to let it be generated again");
            }
            var server = row.Server(ctx.Config);
            if (view.Server != server)
            {
                ctx.Ui.Warn(Phase, $"a kubeconfig file \"{path}\" exists already but has an unexpected API Server URL: expected: {server}, got: {view.Server}");
            }
            ctx.Ui.Info(Phase, $"Using existing kubeconfig file: \"{path}\"");
            return;
        }
        if (caKey is null)
        {
            throw new UserError($"external CA mode ({PkiStore.KeyPath(ctx.Config.CertDir, "ca")} is absent): {path} must be provided; create it with a client certificate from your CA, or provide the CA key");
        }
        ctx.Ui.Info(Phase, $"Writing \"{row.FileName}\" kubeconfig file");
        var bytes = Render(row, ctx.Config, new CertAndKey(caCert, caKey), ctx.StartTime);
        await ctx.Host.WriteFileAsync(path, bytes, FileModes.Private, FileModes.Dir, ct).ConfigureAwait(false);
    }
}
