using System.Text.Json.Nodes;

namespace Kubeforge.Cluster;

/// <summary>PlanTask is one step on one host.</summary>
public sealed record PlanTask(string Step, ClusterHost Host);

/// <summary>PlanStage is a named set of tasks that run concurrently; the next stage starts when all are done (except
/// between host-local stages, see <see cref="HostLocal"/>).</summary>
public sealed record PlanStage(string Name, IReadOnlyList<PlanTask> Tasks)
{
    /// <summary>HostLocal is true when every task of the stage only reads and changes its own host (host preparation):
    /// consecutive host-local stages run per host, each host going on to its next step without waiting for the others.</summary>
    public bool HostLocal => Tasks.All(t => ClusterPlan.HostLocalSteps.Contains(t.Step));

    /// <summary>Hosts lists the distinct hosts of the stage in task order.</summary>
    public IEnumerable<ClusterHost> Hosts => Tasks.Select(t => t.Host).Distinct();
}

/// <summary>Sequence builds a lifecycle as a list of stages, Talos-style: each line of the builder is one stage (or
/// one more step of the stage just added), so the whole plan reads like a table. Empty stages are dropped.</summary>
public sealed class Sequence
{
    private readonly List<PlanStage> _stages = [];

    public IReadOnlyList<PlanStage> Stages => _stages;

    /// <summary>Append adds stage with step on every host (concurrently); a stage of the same name directly
    /// before gets the tasks added instead, so one stage can hold several steps.</summary>
    public Sequence Append(string stage, IEnumerable<ClusterHost> hosts, string step)
    {
        var tasks = hosts.Select(h => new PlanTask(step, h)).ToList();
        if (tasks.Count == 0)
        {
            return this;
        }
        if (_stages.Count > 0 && _stages[^1].Name == stage)
        {
            _stages[^1] = _stages[^1] with { Tasks = [.. _stages[^1].Tasks, .. tasks] };
        }
        else
        {
            _stages.Add(new PlanStage(stage, tasks));
        }
        return this;
    }

    /// <summary>AppendWhen is Append when condition holds, else nothing.</summary>
    public Sequence AppendWhen(bool condition, string stage, IEnumerable<ClusterHost> hosts, string step) =>
        condition ? Append(stage, hosts, step) : this;

    /// <summary>AppendEach adds one stage per host, in order (one host at a time, e.g. etcd growing member by member).</summary>
    public Sequence AppendEach(string stage, IEnumerable<ClusterHost> hosts, string step)
    {
        foreach (var h in hosts)
        {
            _stages.Add(new PlanStage(stage, [new PlanTask(step, h)]));
        }
        return this;
    }
}

/// <summary>ClusterPlan is what <c>kubeforge up</c> does, in order: stages of concurrent (step, host) tasks.</summary>
public static class ClusterPlan
{
    /// <summary>Steps are the step names, with what each one does (the runner implements them).</summary>
    public static readonly IReadOnlyDictionary<string, string> Steps = new Dictionary<string, string>
    {
        ["preflight"] = "check SSH access, OS, CPU/memory, ports, swap, time sync; nothing is changed",
        ["os-prepare"] = "swap off (persisted), kernel modules overlay/br_netfilter, sysctls, hostname",
        ["containerd"] = "install containerd, write config.toml (SystemdCgroup, sandbox image) and registry mirrors",
        ["packages"] = "install kubelet, kubeadm, kubectl of the cluster's release from the package mirror",
        ["images"] = "pull the node's images through the image mirror",
        ["cluster-ca"] = "create the cluster CA on the first control plane (init reuses it; the load balancers' health checks need it)",
        ["load-balancer"] = "run the local load balancer (haproxy or nginx service) from the VIP port to every apiserver",
        ["vip"] = "run keepalived holding the VIP, tracking the local apiserver's /readyz",
        ["init"] = "kubeadm init on the first control plane (with --upload-certs when HA)",
        ["join-control-plane"] = "kubeadm join --control-plane: one at a time, etcd grows one member at a time",
        ["join-worker"] = "kubeadm join as a worker",
        ["cni"] = "install the pod network (flannel)",
        ["label-nodes"] = "apply node labels and the worker role label",
        ["checks"] = "wait until all nodes are Ready, etcd is healthy and the endpoint answers through the VIP",
    };

    /// <summary>HostLocalSteps are the steps that touch nothing but their own host (see <see cref="PlanStage.HostLocal"/>).</summary>
    public static readonly IReadOnlySet<string> HostLocalSteps = new HashSet<string>(StringComparer.Ordinal) { "preflight", "os-prepare", "containerd", "packages", "images" };

    /// <summary>Build returns the stages that create the cluster of file. existing names hosts already in the
    /// cluster: they are skipped, except that the HA load balancer is reconfigured on every control plane when
    /// control planes are added. With no existing hosts it is the full install.</summary>
    public static IReadOnlyList<PlanStage> Build(ClusterFile file, IReadOnlyCollection<string>? existing = null)
    {
        existing ??= [];
        foreach (var name in existing)
        {
            file.Host(name);
        }
        var fresh = existing.Count == 0;
        var first = file.FirstControlPlane;
        if (!fresh && !existing.Contains(first.Name))
        {
            throw new Phases.UserError($"{file.Source}: {first.Label} is the first control plane and must already be in the cluster to add nodes; put the existing control plane first in spec.hosts");
        }
        var added = file.Hosts.Where(h => !existing.Contains(h.Name)).ToList();
        var addedCps = added.Where(h => h.IsControlPlane).ToList();
        var addedWorkers = added.Where(h => !h.IsControlPlane).ToList();
        var cps = file.ControlPlanes.ToList();
        var lbHosts = fresh || addedCps.Count > 0 ? cps : [];
        var labelled = added.Any(h => h.Labels.Count > 0 || (!h.IsControlPlane && h.IsWorker));

        return new Sequence()
            .Append("preflight", added, "preflight")
            .Append("os-prepare", added, "os-prepare")
            .Append("containerd", added, "containerd")
            .Append("packages", added, "packages")
            .Append("images", added, "images")
            .AppendWhen(file.Ha is not null && fresh, "cluster-ca", [first], "cluster-ca")
            .AppendWhen(file.Ha is not null, "load-balancer", lbHosts, "load-balancer")
            .AppendWhen(file.Ha is not null, "load-balancer", lbHosts, "vip")
            .AppendWhen(fresh, "init", [first], "init")
            .AppendEach("join-control-plane", addedCps.Where(h => h != first), "join-control-plane")
            .Append("join-workers", addedWorkers, "join-worker")
            .AppendWhen(fresh && file.Network.Cni != Config.CniConfig.None, "cni", [first], "cni")
            .AppendWhen(labelled, "checks", [first], "label-nodes")
            .Append("checks", [first], "checks")
            .Stages;
    }

    /// <summary>ToTable renders the plan for people: one row per task, stage number and name on its first row.</summary>
    public static string ToTable(ClusterFile file, IReadOnlyList<PlanStage> stages)
    {
        var rows = new List<string[]> { new[] { "#", "STAGE", "STEP", "HOST", "ADDRESS", "ROLES" } };
        for (var i = 0; i < stages.Count; i++)
        {
            var firstRow = true;
            foreach (var t in stages[i].Tasks)
            {
                rows.Add([firstRow ? (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : "", firstRow ? stages[i].Name : "", t.Step, t.Host.Name, t.Host.Local ? "local" : t.Host.Address, string.Join(",", t.Host.Roles)]);
                firstRow = false;
            }
        }
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new System.Text.StringBuilder();
        sb.Append($"Cluster \"{file.Name}\": Kubernetes {file.Version}, {file.ControlPlanes.Count()} control plane(s), {file.Workers.Count()} worker(s)");
        sb.Append(file.Ha is { } ha ? $", endpoint {file.ControlPlaneEndpoint} ({ha.LoadBalancer} + keepalived)\n" : "\n");
        sb.Append("Tasks of one stage run concurrently; stages run in order, except that each host goes through the host-preparation\nstages (preflight to images) without waiting for the others. Nothing has been executed.\n\n");
        foreach (var r in rows)
        {
            sb.Append(string.Join("  ", r.Select((cell, c) => c == r.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd()).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>ToJson renders the plan as JSON (JsonNode, AOT-safe): cluster facts and stages with their tasks.</summary>
    public static JsonObject ToJson(ClusterFile file, IReadOnlyList<PlanStage> stages)
    {
        var arr = new JsonArray();
        for (var i = 0; i < stages.Count; i++)
        {
            var tasks = new JsonArray();
            foreach (var t in stages[i].Tasks)
            {
                tasks.Add((JsonNode)new JsonObject
                {
                    ["step"] = t.Step,
                    ["host"] = t.Host.Name,
                    ["address"] = t.Host.Address,
                    ["roles"] = new JsonArray(t.Host.Roles.Select(r => (JsonNode?)JsonValue.Create(r)).ToArray()),
                });
            }
            arr.Add((JsonNode)new JsonObject { ["index"] = i + 1, ["name"] = stages[i].Name, ["tasks"] = tasks });
        }
        return new JsonObject
        {
            ["cluster"] = file.Name,
            ["kubernetesVersion"] = file.Version.ToString(),
            ["controlPlaneEndpoint"] = file.ControlPlaneEndpoint,
            ["stages"] = arr,
        };
    }
}
