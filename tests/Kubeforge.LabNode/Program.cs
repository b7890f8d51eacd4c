namespace Kubeforge.LabNode;

/// <summary>Program dispatches kubeforge-labnode's subcommands: kubelet, kube-apiserver, kube-scheduler,
/// kube-controller-manager — TEST DOUBLES for the lab hosts, not Kubernetes.</summary>
public static class Program
{
    /// <summary>Main runs the subcommand named by the first argument with the remaining (component) flags.</summary>
    public static async Task<int> Main(string[] args)
    {
        var rest = args.Skip(1).ToArray();
        switch (args.FirstOrDefault())
        {
            case "kubelet": return await Kubelet.MainAsync(rest);
            case "kube-apiserver": return await Components.ApiServerAsync(rest);
            case "kube-scheduler" or "kube-controller-manager": return await Components.LeaderComponentAsync(args[0], rest);
            case "crictl": return await CriCtl.MainAsync(rest);
            default:
                Console.Error.WriteLine("usage: kubeforge-labnode kubelet|kube-apiserver|kube-scheduler|kube-controller-manager|crictl [component flags]\n" +
                    "Test doubles for the Kubeforge lab hosts (tests/lab/README.md); not Kubernetes.");
                return 2;
        }
    }
}
