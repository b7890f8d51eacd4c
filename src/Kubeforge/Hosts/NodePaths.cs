namespace Kubeforge.Hosts;

/// <summary>NodePaths is the one place for the node paths kubeadm uses (spec/kubeadm.md §0).</summary>
public static class NodePaths
{
    public const string KubernetesDir = "/etc/kubernetes";
    public const string ManifestsDir = "/etc/kubernetes/manifests";
    public const string DefaultCertDir = "/etc/kubernetes/pki";
    public const string KubeletDir = "/var/lib/kubelet";
    public const string KubeletConfigFile = "/var/lib/kubelet/config.yaml";
    public const string KubeletEnvFile = "/var/lib/kubelet/kubeadm-flags.env";
    public const string KubeletClientCurrentPem = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    public const string FlexVolumeDir = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec";

    public static string KubeConfig(string fileName) => $"{KubernetesDir}/{fileName}";

    public static string Manifest(string component) => $"{ManifestsDir}/{component}.yaml";

    /// <summary>Join combines node paths with forward slashes.</summary>
    public static string Join(string dir, string name) => dir.TrimEnd('/') + "/" + name.TrimStart('/');

    public static string Parent(string path)
    {
        var i = path.TrimEnd('/').LastIndexOf('/');
        return i <= 0 ? "/" : path[..i];
    }
}

/// <summary>FileModes holds the octal modes kubeadm uses.</summary>
public static class FileModes
{
    public const int Private = 0x180;      // 0600
    public const int Public = 0x1A4;       // 0644
    public const int Dir = 0x1ED;          // 0755
    public const int PrivateDir = 0x1C0;   // 0700
}
