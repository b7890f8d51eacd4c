using System.Text.Json.Nodes;
using Kubeforge.Phases;
using Kubeforge.Versions;
using static Kubeforge.ClusterObjects.K8sObjects;

namespace Kubeforge.ClusterObjects;

/// <summary>UploadConfig renders what kubeadm's upload-config phase stores in the cluster (spec §10.1, §5.2):
/// the kubeadm-config and kubelet-config ConfigMaps, the Roles that let joining nodes read them, and the Node
/// patch carrying the CRI socket annotation.</summary>
public static class UploadConfig
{
    public const string KubeadmConfigMapName = "kubeadm-config";
    public const string ClusterConfigurationKey = "ClusterConfiguration";
    public const string NodesKubeadmConfigRole = "kubeadm:nodes-kubeadm-config";
    public const string KubeletConfigKey = "kubelet";
    public const string CriSocketAnnotation = "kubeadm.alpha.kubernetes.io/cri-socket";

    /// <summary>KubeadmConfigMap is kube-system/kubeadm-config with the ClusterConfiguration YAML.</summary>
    public static JsonObject KubeadmConfigMap(string clusterConfigYaml) =>
        ConfigMap(KubeSystem, KubeadmConfigMapName, [new(ClusterConfigurationKey, clusterConfigYaml)]);

    /// <summary>KubeadmConfigRbac is Role + RoleBinding kubeadm:nodes-kubeadm-config (bootstrap tokens and nodes may get it).</summary>
    public static JsonObject[] KubeadmConfigRbac() =>
    [
        Role(KubeSystem, NodesKubeadmConfigRole, Rule(["get"], "", ["configmaps"], [KubeadmConfigMapName])),
        RoleBinding(KubeSystem, NodesKubeadmConfigRole, NodesKubeadmConfigRole, Group(BootstrapGroup), Group(NodesGroup)),
    ];

    /// <summary>KubeletConfigMap is the kubelet ConfigMap (name per profile, key "kubelet"), signed with the
    /// component-config hash unless the user supplied the KubeletConfiguration.</summary>
    public static JsonObject KubeletConfigMap(VersionProfile profile, string kubeletConfigYaml, bool userSupplied = false)
    {
        var cm = ConfigMap(KubeSystem, profile.KubeletConfigMapName, [new(KubeletConfigKey, kubeletConfigYaml)]);
        return userSupplied ? cm : Sign(cm);
    }

    /// <summary>KubeletConfigRbac is the Role/RoleBinding (name per profile) letting nodes and bootstrap tokens get the kubelet ConfigMap.</summary>
    public static JsonObject[] KubeletConfigRbac(VersionProfile profile) =>
    [
        Role(KubeSystem, profile.KubeletConfigRoleName, Rule(["get"], "", ["configmaps"], [profile.KubeletConfigMapName])),
        RoleBinding(KubeSystem, profile.KubeletConfigRoleName, profile.KubeletConfigRoleName, Group(NodesGroup), Group(BootstrapGroup)),
    ];

    /// <summary>CriSocketPatch is the strategic-merge patch that annotates a Node with its CRI socket.</summary>
    public static string CriSocketPatch(string criSocket) =>
        new JsonObject { ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [CriSocketAnnotation] = criSocket } } }.ToJsonString();
}

/// <summary>UploadConfigPhase is "init phase upload-config" (sub-phases kubeadm and kubelet).</summary>
public static class UploadConfigPhase
{
    /// <summary>RunAsync runs both sub-phases.</summary>
    public static async Task RunAsync(PhaseContext ctx, IKubeApi api, string clusterConfigYaml, string kubeletConfigYaml, CancellationToken ct)
    {
        await RunKubeadmAsync(ctx, api, clusterConfigYaml, ct).ConfigureAwait(false);
        await RunKubeletAsync(ctx, api, kubeletConfigYaml, ct).ConfigureAwait(false);
    }

    /// <summary>RunKubeadmAsync uploads kubeadm-config and its RBAC.</summary>
    public static async Task RunKubeadmAsync(PhaseContext ctx, IKubeApi api, string clusterConfigYaml, CancellationToken ct)
    {
        ctx.Ui.Info("upload-config", $"Storing the configuration used in ConfigMap \"{UploadConfig.KubeadmConfigMapName}\" in the \"{KubeSystem}\" Namespace");
        await Apply.AllAsync(api, [UploadConfig.KubeadmConfigMap(clusterConfigYaml), .. UploadConfig.KubeadmConfigRbac()], ct).ConfigureAwait(false);
    }

    /// <summary>RunKubeletAsync uploads the kubelet ConfigMap and its RBAC, then annotates the Node with the CRI socket.</summary>
    public static async Task RunKubeletAsync(PhaseContext ctx, IKubeApi api, string kubeletConfigYaml, CancellationToken ct)
    {
        var p = ctx.Config.Profile;
        ctx.Ui.Info("kubelet", $"Creating a ConfigMap \"{p.KubeletConfigMapName}\" in namespace {KubeSystem} with the configuration for the kubelets in the cluster");
        var userSupplied = ctx.Config.KubeletConfiguration.Count > 0;
        await Apply.AllAsync(api, [UploadConfig.KubeletConfigMap(p, kubeletConfigYaml, userSupplied), .. UploadConfig.KubeletConfigRbac(p)], ct).ConfigureAwait(false);

        var node = ctx.Config.NodeName;
        var socket = ctx.Config.Init.NodeRegistration.CriSocket.Length > 0 ? ctx.Config.Init.NodeRegistration.CriSocket : p.DefaultCriSocket;
        ctx.Ui.Info("patchnode", $"Uploading the CRI Socket information \"{socket}\" to the Node API object \"{node}\" as an annotation");
        await NodePatch.ApplyAsync(ctx, api, node, n =>
            n["metadata"]?["annotations"]?[UploadConfig.CriSocketAnnotation]?.GetValue<string>() == socket
                ? null
                : UploadConfig.CriSocketPatch(socket), ct).ConfigureAwait(false);
    }
}

/// <summary>NodePatch waits for the Node object to exist (the kubelet registers it) and patches it, like kubeadm's
/// apiclient.PatchNode; a patch builder returning null means "already as wanted" and nothing is sent.</summary>
public static class NodePatch
{
    /// <summary>StrategicMerge is the patch content type kubeadm uses for Nodes.</summary>
    public const string StrategicMerge = "application/strategic-merge-patch+json";

    /// <summary>ApplyAsync gets the node (retrying up to the API-call timeout), builds the patch from it and sends it.</summary>
    public static async Task ApplyAsync(PhaseContext ctx, IKubeApi api, string nodeName, Func<JsonObject, string?> buildPatch, CancellationToken ct,
        TimeSpan? timeout = null)
    {
        var deadline = ctx.Time.GetUtcNow() + (timeout ?? TimeSpan.FromMinutes(1));
        JsonObject? node;
        while ((node = await api.GetAsync(ApiResource.Node, null, nodeName, ct).ConfigureAwait(false)) is null)
        {
            if (ctx.DryRun)
            {
                // the dry-run API knows no nodes: patch an empty one so the action is shown
                node = new JsonObject { ["metadata"] = new JsonObject { ["name"] = nodeName } };
                break;
            }
            if (ctx.Time.GetUtcNow() >= deadline)
            {
                throw new UserError($"node \"{nodeName}\" did not register with the API server within {(timeout ?? TimeSpan.FromMinutes(1)).TotalSeconds:0}s: check that the kubelet runs (journalctl -u kubelet) and that nodeRegistration.name matches the node's name");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), ctx.Time, ct).ConfigureAwait(false);
        }
        var patch = buildPatch(node);
        if (patch is not null)
        {
            await api.PatchAsync(ApiResource.Node, null, nodeName, patch, StrategicMerge, ct).ConfigureAwait(false);
        }
    }
}
