using System.Text.Json.Nodes;
using Kubeforge.Config;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.ClusterObjects;

/// <summary>MarkControlPlane renders the mark-control-plane patch (spec §11): the profile's labels with value "",
/// and the taint list = the node's existing taints plus the configured ones. A strategic merge patch replaces
/// spec.taints as a whole, so the patch carries the full list.</summary>
public static class MarkControlPlane
{
    /// <summary>Taints returns the taints to add: nodeRegistration.taints, or the profile default when null.</summary>
    public static IReadOnlyList<Taint> Taints(KubeadmConfig cfg) => cfg.Init.NodeRegistration.Taints ?? cfg.Profile.ControlPlaneTaints;

    /// <summary>LabelsForLog is how kubeadm prints the labels (v1.22 marks the master label "(deprecated)").</summary>
    public static string LabelsForLog(VersionProfile p) =>
        "[" + string.Join(' ', p.ControlPlaneLabels.Select(l => l == "node-role.kubernetes.io/master" ? l + "(deprecated)" : l)) + "]";

    /// <summary>Patch builds the strategic merge patch for a node, or null when labels and taints are already in place.</summary>
    public static string? Patch(JsonObject node, IReadOnlyList<string> labels, IReadOnlyList<Taint> taints)
    {
        var existingLabels = node["metadata"]?["labels"] as JsonObject;
        var missingLabels = labels.Where(l => existingLabels?[l] is null).ToList();
        var list = node["spec"]?["taints"] is JsonArray a ? a.OfType<JsonObject>().Select(t => (JsonObject)t.DeepClone()).ToList() : [];
        var added = false;
        foreach (var t in taints)
        {
            if (list.Any(e => e["key"]?.GetValue<string>() == t.Key && e["effect"]?.GetValue<string>() == t.Effect))
            {
                continue;
            }
            var o = new JsonObject { ["key"] = t.Key };
            if (t.Value.Length > 0)
            {
                o["value"] = t.Value;
            }
            o["effect"] = t.Effect;
            list.Add(o);
            added = true;
        }
        if (missingLabels.Count == 0 && !added)
        {
            return null;
        }
        var patch = new JsonObject();
        if (missingLabels.Count > 0)
        {
            patch["metadata"] = new JsonObject { ["labels"] = K8sObjects.StringMap(missingLabels.Select(l => new KeyValuePair<string, string>(l, ""))) };
        }
        if (added)
        {
            patch["spec"] = new JsonObject { ["taints"] = new JsonArray(list.Select(t => (JsonNode?)t).ToArray()) };
        }
        return patch.ToJsonString();
    }
}

/// <summary>MarkControlPlanePhase is "init phase mark-control-plane".</summary>
public static class MarkControlPlanePhase
{
    /// <summary>RunAsync labels and taints the node, printing kubeadm's two lines.</summary>
    public static async Task RunAsync(PhaseContext ctx, IKubeApi api, CancellationToken ct)
    {
        var p = ctx.Config.Profile;
        var node = ctx.Config.NodeName;
        var taints = MarkControlPlane.Taints(ctx.Config);
        ctx.Ui.Info("mark-control-plane", $"Marking the node {node} as control-plane by adding the labels: {MarkControlPlane.LabelsForLog(p)}");
        if (taints.Count > 0)
        {
            ctx.Ui.Info("mark-control-plane", $"Marking the node {node} as control-plane by adding the taints [{string.Join(' ', taints)}]");
        }
        await NodePatch.ApplyAsync(ctx, api, node, n => MarkControlPlane.Patch(n, p.ControlPlaneLabels, taints), ct).ConfigureAwait(false);
    }
}
