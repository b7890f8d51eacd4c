using Kubeforge.Yaml;

namespace Kubeforge.LabNode;

/// <summary>KubeletConfig is the part of /var/lib/kubelet/config.yaml (KubeletConfiguration) the stand-in uses.</summary>
public sealed record KubeletConfig(string StaticPodPath, string HealthzBindAddress, int HealthzPort)
{
    /// <summary>Parse reads staticPodPath, healthzBindAddress and healthzPort (kubelet defaults: none, 127.0.0.1, 10248).</summary>
    public static KubeletConfig Parse(string yaml, string source)
    {
        var doc = YamlReader.Read(yaml, source) as YMap ?? throw new FormatException($"{source}: not a YAML mapping");
        if (doc.Str("kind") is { } kind && kind != "KubeletConfiguration")
            throw new FormatException($"{source}: kind is \"{kind}\", want KubeletConfiguration");
        var port = doc.Str("healthzPort") is { } p ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : 10248;
        return new KubeletConfig(doc.Str("staticPodPath") ?? "", doc.Str("healthzBindAddress") ?? "127.0.0.1", port);
    }
}
