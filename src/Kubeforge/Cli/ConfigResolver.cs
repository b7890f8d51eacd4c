using System.CommandLine;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>ConfigResolver turns the init flags (and the --config file) into a validated KubeadmConfig.</summary>
public static class ConfigResolver
{
    /// <summary>ReadConfigFile reads a --config file from the operator's machine with a clear error when missing.</summary>
    public static string? ReadConfigFile(string? path)
    {
        if (path is null)
        {
            return null;
        }
        if (!File.Exists(path))
        {
            throw new UserError($"--config: file \"{path}\" does not exist; pass the path of a kubeadm configuration file (see \"kubeforge config print init-defaults\")");
        }
        return File.ReadAllText(path);
    }

    private static List<string>? NullIfEmpty(List<string> l) => l.Count == 0 ? null : l;

    public static Task<KubeadmConfig> ResolveInitAsync(InitFlagSet f, ParseResult pr, IHost host, CancellationToken ct)
    {
        var path = pr.GetValue(f.Config);
        var text = ReadConfigFile(path);
        var flags = new InitFlags
        {
            KubernetesVersion = pr.GetValue(f.KubernetesVersion),
            ImageRepository = pr.GetValue(f.ImageRepository),
            PodNetworkCidr = pr.GetValue(f.PodNetworkCidr),
            ServiceCidr = pr.GetValue(f.ServiceCidr),
            ServiceDnsDomain = pr.GetValue(f.ServiceDnsDomain),
            ApiserverAdvertiseAddress = pr.GetValue(f.AdvertiseAddress),
            ApiserverBindPort = pr.GetValue(f.BindPort),
            ApiserverCertExtraSans = NullIfEmpty(InitFlagSet.Split(pr.GetValue(f.CertExtraSans))),
            ControlPlaneEndpoint = pr.GetValue(f.ControlPlaneEndpoint),
            NodeName = pr.GetValue(f.NodeName),
            CertDir = pr.GetValue(f.CertDir),
            SkipPhases = NullIfEmpty(InitFlagSet.Split(pr.GetValue(f.SkipPhases))),
            IgnorePreflightErrors = NullIfEmpty(InitFlagSet.Split(pr.GetValue(f.IgnorePreflightErrors))),
            CriSocket = pr.GetValue(f.CriSocket),
            UploadCerts = pr.GetValue(f.UploadCerts) ? true : null,
            CertificateKey = pr.GetValue(f.CertificateKey),
            Token = pr.GetValue(f.Token),
            TokenTtl = pr.GetValue(f.TokenTtl),
            DryRun = pr.GetValue(f.DryRun) ? true : null,
            Cni = pr.GetValue(f.Cni),
            CniBackend = pr.GetValue(f.CniBackend),
            CniIface = pr.GetValue(f.CniIface),
            CniImageRepository = pr.GetValue(f.CniImageRepository),
        };
        var node = NodeIdentity.Detect();
        return Task.FromResult(KubeadmConfigLoader.Load(text, path ?? "flags", flags, node));
    }
}
