using Kubeforge.Cluster.Ha;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Yaml;

namespace Kubeforge.Cluster;

/// <summary>ClusterSteps is the steps table of <c>kubeforge up</c>: for every step of <see cref="ClusterPlan.Steps"/> its
/// implementation over the node code (always against ctx.Node, the host's IHost — never the operator's machine) and its
/// inputs, the parts of the cluster file that affect the step on a host, as a canonical string the journal hashes. The
/// API-side steps (init, joins, cni, label-nodes, checks) live in <see cref="ClusterApiSteps"/>.</summary>
public static class ClusterSteps
{
    /// <summary>Table maps every step name to its definition.</summary>
    public static IReadOnlyDictionary<string, StepDef> Table { get; } = new StepDef[]
    {
        new("preflight", PreflightAsync, (f, h) => Lines(Conn(h), $"version={f.Version}", $"roles={Roles(h)}", $"ignore={string.Join(',', f.IgnorePreflightErrors)}")),
        new("os-prepare", OsPrepareAsync, (f, h) => Lines(Conn(h), $"roles={Roles(h)}", "firewall=open", "apiserverPort=6443")),
        new("containerd", ContainerdAsync, (f, h) => Lines([Conn(h), $"containerd={f.Containerd.Version}", $"sandbox={SandboxImage(f, h)}", Mirrors(f), .. OsMirrorInputs(f)])),
        new("packages", PackagesAsync, (f, h) => Lines([Conn(h), $"binaries={f.KubernetesBinaries}", $"version={f.Version}", $"preset={f.Mirror.Preset}", $"repo={f.Mirror.PackageRepository}", .. PackageKeyInputs(f)])),
        new("images", ImagesAsync, (f, h) => Lines(Conn(h), $"images={f.Images}", $"list={string.Join(',', ImagesOf(f, h))}", Mirrors(f))),
        new("cluster-ca", ClusterApiSteps.ClusterCaAsync, (f, h) => Lines(Conn(h), Kubeadm(f, h))),
        new("load-balancer", (c, ct) => HaSteps.LoadBalancerAsync(c, ct), (f, h) => Lines(Conn(h), Ha(f), $"ca-from={f.FirstControlPlane.Name}")),
        new("vip", (c, ct) => HaSteps.VipAsync(c, ct), (f, h) => Lines(Conn(h), Ha(f), $"iface={h.Interface}")),
        new("init", ClusterApiSteps.InitAsync, (f, h) => Lines(Conn(h), Kubeadm(f, h), $"cni={f.Network.Cni}/{f.Network.FlannelBackend}", $"ignore={string.Join(',', f.IgnorePreflightErrors)}")),
        new("join-control-plane", ClusterApiSteps.JoinControlPlaneAsync, (f, h) => Lines(Conn(h), Kubeadm(f, h), $"endpoint={ClusterApiSteps.Endpoint(f)}")),
        new("join-worker", ClusterApiSteps.JoinWorkerAsync, (f, h) => Lines(Conn(h), Kubeadm(f, h), $"endpoint={ClusterApiSteps.Endpoint(f)}")),
        new("cni", ClusterApiSteps.CniAsync, (f, h) => Lines(Conn(h), $"cni={f.Network.Cni}/{f.Network.FlannelBackend}", $"pods={f.Network.PodSubnet}", $"version={f.Version}", $"repo={f.Mirror.ImageRepository}")),
        new("label-nodes", ClusterApiSteps.LabelNodesAsync, (f, h) => Lines([Conn(h), .. f.Hosts.Select(x => $"{x.Name}:{Roles(x)}:{string.Join(',', x.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))}")])),
        new("checks", ClusterApiSteps.ChecksAsync, (f, h) => Lines(Conn(h), $"hosts={string.Join(',', f.Hosts.Select(x => x.Name))}", $"endpoint={ClusterApiSteps.Endpoint(f)}")),
    }.ToDictionary(d => d.Name, StringComparer.Ordinal);

    private static string Lines(params string[] lines) => string.Join("\n", lines);

    private static string Conn(ClusterHost h) => $"host={h.Name} address={h.Address} nodeIp={h.NodeIp} port={h.Port} user={h.User}";

    private static string Roles(ClusterHost h) => string.Join(',', h.Roles.Order(StringComparer.Ordinal));

    private static string Mirrors(ClusterFile f) =>
        "mirrors=" + string.Join(';', f.Mirror.RegistryMirrors.Select(m => $"{m.Registry}={string.Join(',', m.Endpoints)},ca={m.CaFile}"));

    // only present when set, so files without them keep their journal hashes
    private static string[] OsMirrorInputs(ClusterFile f) => f.Mirror.OsPackageRepository is { } u ? [$"osMirror={u} key={Digest(f.Mirror.OsPackageKeyData)}"] : [];

    private static string[] PackageKeyInputs(ClusterFile f) => f.Mirror.PackageKey is not null ? [$"packageKey={Digest(f.Mirror.PackageKeyData)}"] : [];

    private static string Digest(byte[]? data) => data is null ? "unread" : "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));

    private static string Ha(ClusterFile f) => f.Ha is { } ha
        ? $"vip={ha.Vip}:{ha.Port} lb={ha.LoadBalancer} router={ha.Keepalived.RouterId}/{ha.Keepalived.VirtualRouterId} iface={ha.Keepalived.Interface} cps={string.Join(',', f.ControlPlanes.Select(c => c.ClusterAddress))}"
        : "ha=none";

    private static string Kubeadm(ClusterFile f, ClusterHost h)
    {
        var (init, cluster) = f.ToKubeadmDocuments(h);
        return GoYamlWriter.Write(init) + "---\n" + GoYamlWriter.Write(cluster);
    }

    /// <summary>SandboxImage is spec.containerd.sandboxImage, else the release's pause image from the cluster's repository.</summary>
    public static string SandboxImage(ClusterFile f, ClusterHost h) => f.Containerd.SandboxImage ?? ImageList.Pause(f.ToKubeadmConfig(h));

    /// <summary>ImagesOf lists the images a host needs: the whole release list on a control plane, pause and kube-proxy on a
    /// worker, plus flannel's images when the CNI is flannel.</summary>
    public static IReadOnlyList<string> ImagesOf(ClusterFile f, ClusterHost h)
    {
        var cfg = f.ToKubeadmConfig(h);
        var list = h.IsControlPlane ? ImageList.For(cfg).ToList() : [ImageList.Pause(cfg), ClusterObjects.KubeProxy.Image(cfg)];
        if (cfg.Cni.Enabled)
        {
            list.Add(ClusterObjects.Flannel.Image(cfg));
            list.Add(ClusterObjects.Flannel.CniPluginImage(cfg));
        }
        return list.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>FactsHost is the real machine behind a task's host (a dry run still gathers facts from the real host).</summary>
    public static IHost FactsHost(IHost h) => h switch
    {
        TaskHost { Inner: DryRunHost d } => d.Inner,
        DryRunHost d => d.Inner,
        _ => h,
    };

    /// <summary>FromPrep turns the node code's PrepSteps into a step result: Done when any changed the host.</summary>
    public static StepResult FromPrep(IReadOnlyList<PrepStep> steps, string what)
    {
        var changed = steps.Where(s => s.Changed).Select(s => s.Name).ToList();
        var warnings = steps.Where(s => s.Warning).Select(s => s.Name).ToList();
        var summary = (changed.Count > 0 ? $"{what}: changed {string.Join(", ", changed)}" : $"{what}: up to date") +
            (warnings.Count > 0 ? $" (warnings: {string.Join(", ", warnings)})" : "");
        return StepResult.Of(changed.Count > 0, summary, steps.Select(s => $"{s.Name}: {(s.Changed ? "changed" : "unchanged")}: {(s.Warning ? "WARNING: " : "")}{s.Detail}").ToList());
    }

    /// <summary>Deferred names the checks a later step fixes (os-prepare, containerd), so preflight only warns about them.</summary>
    private static readonly string[] Deferred = ["CRI", "ContainerdConfig", "CgroupDriver"];

    /// <summary>FactsAsync gathers the host's facts once per run and host (the fact script and config reads are a dozen SSH
    /// channels): preflight gathers fresh and later host-preparation steps of the same run reuse it — what they read from it
    /// (OS family, binaries, services, the files of other steps) is not changed by the steps before them.</summary>
    private static async Task<HostFacts> FactsAsync(StepContext ctx, bool fresh, CancellationToken ct)
    {
        var key = "facts/" + ctx.Host.Name;
        if (!fresh && ctx.Shared.TryGetValue(key, out var cached) && cached is HostFacts f)
        {
            return f;
        }
        var facts = await HostFacts.GatherAsync(FactsHost(ctx.Node), ctx.Time, ct).ConfigureAwait(false);
        ctx.Shared[key] = facts;
        if (facts.Snapshot is { } files)
        {
            ctx.Shared["snapshot/" + ctx.Host.Name] = new FileSnapshot(files);
        }
        return facts;
    }

    /// <summary>PrepHost is the task's host seen through the snapshot of config files the facts round read: the host-
    /// preparation steps compare and back up those files without an SSH round trip per read (the snapshot stays true:
    /// writes update it, commands that may change files forget it).</summary>
    private static IHost PrepHost(StepContext ctx) =>
        ctx.Shared.TryGetValue("snapshot/" + ctx.Host.Name, out var s) && s is FileSnapshot snap ? new SnapshotHost(ctx.Node, snap) : ctx.Node;

    private static async Task<StepResult> PreflightAsync(StepContext ctx, CancellationToken ct)
    {
        var real = FactsHost(ctx.Node);
        var facts = await FactsAsync(ctx, fresh: true, ct).ConfigureAwait(false);
        var ignore = ctx.File.IgnorePreflightErrors.ToList();
        var joined = await real.ExistsAsync(NodePaths.KubeConfig("kubelet.conf"), ct).ConfigureAwait(false);
        var results = NodePreflight.Run(facts, new PreflightOptions
        {
            Profile = ctx.File.Profile,
            ControlPlane = ctx.Host.IsControlPlane,
            NodeName = ctx.Host.Name,
            AdvertiseAddress = ctx.Host.ClusterAddress,
            IgnoreErrors = ignore,
        });
        var errors = results.Where(r => r.Level == CheckLevel.Error && !r.Safe && !Deferred.Contains(r.Name)
            && !(joined && (r.Name.StartsWith("Port-", StringComparison.Ordinal) || r.Name.StartsWith("FileAvailable", StringComparison.Ordinal)))).ToList();
        var fixable = results.Where(r => r.Level != CheckLevel.Ok && !errors.Contains(r)).ToList();
        var details = results.Where(r => r.Level != CheckLevel.Ok)
            .Select(r => $"[{r.Level.ToString().ToUpperInvariant()} {r.Name}]: {r.Message}{(r.Fix is null ? "" : $" (fix: {r.Fix})")}").ToList();
        details.Insert(0, $"{facts.Os.PrettyName}, {facts.Arch}, {(facts.CgroupV2 ? "cgroup v2" : "cgroup v1")}, {facts.Cpus} CPUs, {facts.MemoryMb} MB");
        if (errors.Count > 0)
        {
            throw new Phases.UserError($"{ctx.Host.Label}: preflight: " + string.Join("; ", errors.Select(e => $"[ERROR {e.Name}]: {e.Message}" + (e.Fix is null ? "" : $" (fix: {e.Fix})"))) +
                "; fix the host, or list the check in spec.ignorePreflightErrors");
        }
        return new StepResult(StepStatus.Unchanged,
            $"{facts.Os.PrettyName}: {results.Count} checks passed" + (fixable.Count > 0 ? $"; {fixable.Count} to be fixed by later steps or warnings ({string.Join(", ", fixable.Select(r => r.Name))})" : ""),
            details);
    }

    private static async Task<StepResult> OsPrepareAsync(StepContext ctx, CancellationToken ct)
    {
        var facts = await FactsAsync(ctx, fresh: false, ct).ConfigureAwait(false);
        var steps = await OsPrep.RunAsync(PrepHost(ctx), facts, new OsPrepOptions
        {
            Timestamp = ctx.Time.GetUtcNow(),
            ControlPlane = ctx.Host.IsControlPlane,
            ApiServerPort = 6443,
            Firewall = FirewallChoice.Open,
        }, ct).ConfigureAwait(false);
        return FromPrep(steps, "OS preparation");
    }

    private static async Task<StepResult> ContainerdAsync(StepContext ctx, CancellationToken ct)
    {
        var f = ctx.File;
        var facts = await FactsAsync(ctx, fresh: false, ct).ConfigureAwait(false);
        string? install = null;
        if (f.Containerd.Version == ContainerdSpec.Distro)
        {
            install = "package";
        }
        else if (!facts.Binaries.ContainsKey("containerd") || facts.ContainerdVersion?.TrimStart('v') != f.Containerd.Version)
        {
            throw new Phases.UserError($"{ctx.Host.Label}: spec.containerd.version is {f.Containerd.Version} but the host has {(facts.ContainerdVersion is null ? "no containerd" : $"containerd {facts.ContainerdVersion}")}; installing a containerd release over SSH is not in this build: preinstall it or use version: distro");
        }
        var steps = new List<PrepStep>();
        var node = PrepHost(ctx); // every change of this step goes through the snapshot, which keeps it true
        if (f.Mirror.OsPackages is { } os)
        {
            // like `kubeforge prepare --os-package-mirror`: the key and a signed-by source (yum: gpgcheck), refreshed alone when an install follows
            var installs = install == "package" && !facts.Binaries.ContainsKey("containerd");
            steps.Add(await OsMirror.ApplyAsync(node, facts.Os.Family, os, installs, ct).ConfigureAwait(false));
        }
        var mirrors = new List<Node.RegistryMirror>();
        foreach (var m in f.Mirror.RegistryMirrors)
        {
            string? caPath = null;
            if (m.CaFile is { } ca)
            {
                // a CA on the operator's machine is copied next to the mirror's hosts.toml; otherwise it names a node path
                if (File.Exists(ca))
                {
                    caPath = $"{Containerd.CertsDir}/{m.Registry}/ca.crt";
                    await node.WriteIfChangedAsync(caPath, await File.ReadAllBytesAsync(ca, ct).ConfigureAwait(false), FileModes.Public, ct: ct).ConfigureAwait(false);
                }
                else
                {
                    caPath = ca;
                }
            }
            mirrors.Add(new Node.RegistryMirror(m.Registry, m.Endpoints[0], caPath));
        }
        steps.AddRange(await Containerd.RunAsync(node, facts, new ContainerdOptions
        {
            SandboxImage = SandboxImage(f, ctx.Host),
            Install = install,
            Refreshed = f.Mirror.OsPackageRepository is not null,
            Mirrors = mirrors,
        }, ct).ConfigureAwait(false));
        return FromPrep(steps, "containerd");
    }

    private static async Task<StepResult> PackagesAsync(StepContext ctx, CancellationToken ct)
    {
        var f = ctx.File;
        var real = FactsHost(ctx.Node);
        if (f.KubernetesBinaries == ClusterFile.PreinstalledBinaries)
        {
            var v = await Packages.VerifyAsync(real, f.Version, ct).ConfigureAwait(false);
            return new StepResult(StepStatus.Unchanged, $"preinstalled: {v.Detail}");
        }
        var facts = await FactsAsync(ctx, fresh: false, ct).ConfigureAwait(false);
        var source = f.Mirror.Preset == MirrorSpec.AliyunPreset ? PackageSource.Aliyun : PackageSource.Upstream;
        var custom = f.Mirror.CustomPackages;
        var repo = custom is null ? Packages.Render(facts.Os.Family, f.Profile, source) : Packages.Render(facts.Os.Family, f.Profile, custom);
        var current = await real.ReadTextAsync(repo.Path, ct).ConfigureAwait(false) == repo.Content
            && (custom?.Key is not { } key || (await real.ReadFileAsync(repo.KeyPath!, ct).ConfigureAwait(false))?.AsSpan().SequenceEqual(key) == true);
        var have = facts.KubeletVersion is { } kv && Packages.ParseKubeletVersion(kv) is { } got && got.Major == f.Version.Major && got.Minor == f.Version.Minor && got.Patch == f.Version.Patch;
        if (current && have)
        {
            return new StepResult(StepStatus.Unchanged, $"kubelet {f.Version} installed from {repo.Path}");
        }
        var steps = custom is null
            ? await Packages.InstallAsync(ctx.Node, facts.Os.Family, f.Version, f.Profile, source, withKubeadm: false, ct).ConfigureAwait(false)
            : await Packages.InstallAsync(ctx.Node, facts.Os.Family, f.Version, f.Profile, custom, withKubeadm: false, ct).ConfigureAwait(false);
        return FromPrep(steps, $"packages {f.Version}");
    }

    private static async Task<StepResult> ImagesAsync(StepContext ctx, CancellationToken ct)
    {
        if (ctx.File.Images == ClusterFile.PreinstalledImages)
        {
            return new StepResult(StepStatus.Unchanged, "images preinstalled (spec.images: preinstalled); nothing pulled");
        }
        var images = ImagesOf(ctx.File, ctx.Host);
        var ls = await FactsHost(ctx.Node).RunAsync(["ctr", "--address", Containerd.Socket, "-n", "k8s.io", "images", "ls", "-q"], null, ct).ConfigureAwait(false);
        var present = ls.Ok ? ls.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal) : [];
        var missing = images.Where(i => !present.Contains(i) && !present.Contains(DockerIo(i))).ToList();
        if (missing.Count == 0)
        {
            return new StepResult(StepStatus.Unchanged, $"all {images.Count} images present");
        }
        await ImagePull.PullAllAsync(ctx.Node, missing, ctx.Ui, ct).ConfigureAwait(false);
        return new StepResult(StepStatus.Done, $"pulled {missing.Count} of {images.Count} images", missing);
    }

    private static string DockerIo(string image) => image.Count(c => c == '/') switch
    {
        0 => "docker.io/library/" + image,
        1 when !image.Split('/')[0].Contains('.') && !image.Split('/')[0].Contains(':') => "docker.io/" + image,
        _ => image,
    };

    /// <summary>Canonical renders an inputs string for tests and the log (it is already canonical; kept for symmetry).</summary>
    public static string Inputs(string step, ClusterFile f, ClusterHost h) => Table[step].Inputs(f, h);
}
