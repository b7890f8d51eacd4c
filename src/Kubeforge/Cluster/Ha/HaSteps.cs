using Kubeforge.Phases;

namespace Kubeforge.Cluster.Ha;

/// <summary>HaSteps are the load-balancer and vip steps of the cluster plan (placeholder until the HA work lands; the
/// HA branch replaces this file).</summary>
public static class HaSteps
{
    /// <summary>LoadBalancerAsync renders and runs the API load balancer (haproxy or nginx) on a control-plane host.</summary>
    public static Task<StepResult> LoadBalancerAsync(StepContext ctx, CancellationToken ct) =>
        throw new UserError("the load-balancer step is not in this build yet");

    /// <summary>VipAsync renders and runs keepalived holding the VIP on a control-plane host.</summary>
    public static Task<StepResult> VipAsync(StepContext ctx, CancellationToken ct) =>
        throw new UserError("the vip step is not in this build yet");
}
