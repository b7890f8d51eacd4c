using Kubeforge.ControlPlane;
using Kubeforge.KubeConfig;
using Kubeforge.Kubelet;
using Kubeforge.Pki;
using Kubeforge.Versions;

namespace Kubeforge.Phases;

/// <summary>InitWorkflow is the phase tree of "kubeforge init", as data (kubeadm's cmd/phases/init).
/// The order of the top-level phases follows the target version (v1.22 writes kubelet files before the
/// manifests; newer releases after them), so the tree is built for a version profile.</summary>
public static class InitWorkflow
{
    /// <summary>Phases returns the init phases in the order the given release runs them.</summary>
    public static IReadOnlyList<Phase> Phases(VersionProfile profile)
    {
        var certs = new Phase("certs", "Certificate generation")
        {
            Run = (ctx, _) =>
            {
                ctx.Ui.Info("certs", $"Using certificateDir folder \"{ctx.Config.CertDir}\"");
                return Task.CompletedTask;
            },
            Children = [Phase.All("certificate"), .. CertTable.Names.Select(n => new Phase(n, CertTable.Describe(n))
            {
                Run = (ctx, ct) => CertsPhase.RunAsync(ctx, n),
            })],
        };
        var kubeconfig = new Phase("kubeconfig", "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file")
        {
            Run = (ctx, _) =>
            {
                ctx.Ui.Info("kubeconfig", $"Using kubeconfig folder \"{Hosts.NodePaths.KubernetesDir}\"");
                return Task.CompletedTask;
            },
            Children = [Phase.All("kubeconfig"), .. KubeConfigPhase.Names.Select(n => new Phase(n, KubeConfigPhase.Describe(n))
            {
                Run = (ctx, ct) => KubeConfigPhase.RunAsync(ctx, n),
                RunIf = n == "super-admin" ? ctx => ctx.Config.Profile.SuperAdminConf : null,
            })],
        };
        var etcd = new Phase("etcd", "Generate static Pod manifest file for local etcd")
        {
            Children =
            [
                new Phase("local", "Generate the static Pod manifest file for a local, single-node local etcd instance")
                {
                    Run = (ctx, ct) => EtcdPhase.RunLocalAsync(ctx),
                    RunIf = ctx => ctx.Config.LocalEtcd,
                },
            ],
        };
        var controlPlane = new Phase("control-plane", "Generate all static Pod manifest files necessary to establish the control plane")
        {
            Run = (ctx, _) =>
            {
                ctx.Ui.Info("control-plane", $"Using manifest folder \"{Hosts.NodePaths.ManifestsDir}\"");
                return Task.CompletedTask;
            },
            Children =
            [
                Phase.All("control plane"),
                new Phase("apiserver", "Generates the kube-apiserver static Pod manifest") { Run = (ctx, ct) => ControlPlanePhase.RunAsync(ctx, "kube-apiserver") },
                new Phase("controller-manager", "Generates the kube-controller-manager static Pod manifest") { Run = (ctx, ct) => ControlPlanePhase.RunAsync(ctx, "kube-controller-manager") },
                new Phase("scheduler", "Generates the kube-scheduler static Pod manifest") { Run = (ctx, ct) => ControlPlanePhase.RunAsync(ctx, "kube-scheduler") },
            ],
        };
        var kubeletStart = new Phase("kubelet-start", "Write kubelet settings and (re)start the kubelet")
        {
            Run = (ctx, ct) => KubeletStartPhase.RunAsync(ctx),
        };
        var preflight = new Phase("preflight", "Run pre-flight checks")
        {
            Run = (ctx, ct) => Preflight.RunInitAsync(ctx, ct),
        };

        return profile.KubeletStartAfterControlPlane
            ? [preflight, certs, kubeconfig, etcd, controlPlane, kubeletStart]
            : [preflight, certs, kubeconfig, kubeletStart, controlPlane, etcd];
    }
}
