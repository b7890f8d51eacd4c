using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.ClusterObjects;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Cluster;

/// <summary>Disruption is one thing <c>ha verify</c> stops on purpose, recorded before it is stopped so that an interrupted
/// run (Ctrl-C, a kill, a lost connection) is undone by the next run: the host and the kind of disruption.</summary>
public sealed record Disruption(string Host, string Kind, string Target)
{
    /// <summary>StopService stops a systemd unit (Target: unit name).</summary>
    public const string StopService = "stop-service";

    /// <summary>MoveManifest moves a static pod manifest out of the manifest folder (Target: component), which is how an
    /// operator stops a static pod: the kubelet stops it.</summary>
    public const string MoveManifest = "move-manifest";

    /// <summary>ParkedPath is where a moved manifest waits (outside the manifest folder, so the kubelet ignores it).</summary>
    public static string ParkedPath(string component) => $"{NodePaths.KubernetesDir}/{component}.yaml.kubeforge-ha-verify";
}

/// <summary>VerifyResult is one line of the report: what was stopped where, the measured gap (API unavailability through the
/// VIP, or time to a new lease holder), the bound it is judged against and the verdict.</summary>
public sealed record VerifyResult(string Action, string Host, TimeSpan Measured, TimeSpan Bound, bool Pass, string Detail);

/// <summary>HaVerify is <c>kubeforge ha verify -f cluster.yaml</c>: a post-install self-test of the HA set-up. One at a time
/// it stops the VIP holder's load balancer, the VIP holder's API server, and the holders of the kube-scheduler and
/// kube-controller-manager leases, measures the API's availability through the VIP (probing /readyz every probe interval) and
/// the time until a new lease holder appears, restores what it stopped and reports gap vs. bound. Every disruption is written
/// to a pending file before it happens and removed after it is undone, so nothing stays stopped after an interruption: the
/// next run (or <see cref="RestorePendingAsync"/>) restores it first.</summary>
public sealed class HaVerify(ClusterFile file, Func<ClusterHost, IHost> hostOf, IUi ui, string stateDir)
{
    /// <summary>ProbeInterval is how often the API through the VIP is probed.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>VipBound is the longest acceptable API gap through the VIP when a load balancer or API server stops
    /// (keepalived's master-down time plus the health-check detection time).</summary>
    public TimeSpan VipBound { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>StableFor is how long the API must answer again after a gap before the disruption is undone.</summary>
    public TimeSpan StableFor { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>GiveUpAfter is how long past its bound a disruption is watched before it is judged failed and undone.</summary>
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>ApiUp probes the API through the VIP (true: /readyz answered 200). Replaceable for tests.</summary>
    public Func<CancellationToken, Task<bool>>? ApiUp { get; init; }

    /// <summary>LeaseHolder reads a kube-system lease's holder identity. Replaceable for tests.</summary>
    public Func<string, CancellationToken, Task<string?>>? LeaseHolder { get; init; }

    private string PendingFile => Path.Join(stateDir, "ha-verify-pending.json");

    /// <summary>LeaseBound is the longest acceptable time from stopping a lease holder to a new holder: the lease duration
    /// plus 1.2 retry periods (client-go's jittered retry) plus one retry period for the last renewal before the stop.</summary>
    public TimeSpan LeaseBound => file.LeaderElection.LeaseDuration + 2.2 * file.LeaderElection.RetryPeriod;

    /// <summary>RunAsync runs the self-test. Every disruption is undone before it returns, also on cancellation.</summary>
    public async Task<IReadOnlyList<VerifyResult>> RunAsync(CancellationToken ct)
    {
        if (file.Ha is null)
        {
            throw new UserError($"{file.Source}: spec.ha is not set; ha verify needs a cluster with a VIP and several control planes");
        }
        await RestorePendingAsync(CancellationToken.None).ConfigureAwait(false);
        var results = new List<VerifyResult>();
        using var admin = ApiUp is null || LeaseHolder is null ? await AdminApiAsync(ct).ConfigureAwait(false) : null;
        var apiUp = ApiUp ?? (async c =>
        {
            try
            {
                return (await admin!.GetRawAsync("/readyz", c).ConfigureAwait(false)).Status == 200;
            }
            catch (Exception e) when (e is not OperationCanceledException || !c.IsCancellationRequested)
            {
                return false; // refused, reset, timed out, TLS failure: the API is not available through the VIP right now
            }
        });
        var leaseHolder = LeaseHolder ?? (async (name, c) =>
            (string?)(await admin!.GetAsync(ApiResource.Lease, "kube-system", name, c).ConfigureAwait(false))?["spec"]?["holderIdentity"]);

        if (!await apiUp(ct).ConfigureAwait(false))
        {
            throw new UserError($"the API does not answer through the VIP {file.ControlPlaneEndpoint}; fix that first (kubeforge status -f {file.Source})");
        }

        var holder = await VipHolderAsync(ct).ConfigureAwait(false)
            ?? throw new UserError($"no control plane holds the VIP {file.Ha.Vip}; check keepalived (kubeforge status -f {file.Source})");
        var lbUnit = file.Ha.LoadBalancer == "nginx" ? "nginx" : "haproxy";
        results.Add(await DisruptAsync(new Disruption(holder.Name, Disruption.StopService, lbUnit), $"stop {lbUnit} on the VIP holder",
            apiUp, ct).ConfigureAwait(false));

        holder = await VipHolderAsync(ct).ConfigureAwait(false) ?? holder;
        results.Add(await DisruptAsync(new Disruption(holder.Name, Disruption.MoveManifest, "kube-apiserver"), "stop kube-apiserver on the VIP holder",
            apiUp, ct).ConfigureAwait(false));

        foreach (var lease in ClusterStatus.Leases)
        {
            results.Add(await LeaseTakeoverAsync(lease, leaseHolder, ct).ConfigureAwait(false));
        }
        return results;
    }

    /// <summary>VipHolderAsync returns the control plane whose interfaces carry the VIP (null: none).</summary>
    public async Task<ClusterHost?> VipHolderAsync(CancellationToken ct)
    {
        foreach (var cp in file.ControlPlanes)
        {
            var r = await hostOf(cp).RunAsync(["ip", "-o", "addr", "show"], null, ct).ConfigureAwait(false);
            if (r.Stdout.Contains($" {file.Ha!.Vip}/", StringComparison.Ordinal))
            {
                return cp;
            }
        }
        return null;
    }

    private async Task<VerifyResult> DisruptAsync(Disruption d, string action, Func<CancellationToken, Task<bool>> apiUp, CancellationToken ct)
    {
        ui.Info("ha verify", $"{action} ({d.Host}); probing the API through {file.ControlPlaneEndpoint} every {ProbeInterval.TotalMilliseconds:0} ms");
        await ApplyAsync(d, ct).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        TimeSpan? downAt = null, upAt = null;
        try
        {
            // watch until the API has answered for StableFor after a gap, or for VipBound + StableFor with no gap at all
            var lastChange = TimeSpan.Zero;
            while (clock.Elapsed < VipBound + GiveUpAfter)
            {
                var up = await apiUp(ct).ConfigureAwait(false);
                var t = clock.Elapsed;
                if (!up && downAt is null)
                {
                    downAt = t;
                }
                if (up && downAt is not null && upAt is null)
                {
                    upAt = t;
                    lastChange = t;
                }
                if (!up && upAt is not null)
                {
                    upAt = null; // flapped: keep measuring until it is stably up
                }
                if (up && (downAt is null ? t > VipBound + StableFor : t - lastChange > StableFor))
                {
                    break;
                }
                await Task.Delay(ProbeInterval, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            await UndoAsync(d).ConfigureAwait(false);
        }
        var gap = downAt is null ? TimeSpan.Zero : (upAt ?? clock.Elapsed) - downAt.Value;
        var pass = upAt is not null || downAt is null;
        pass &= gap <= VipBound;
        var detail = downAt is null ? "the API never stopped answering" : upAt is null ? "the API did not come back while the component was stopped" : $"unavailable for {gap.TotalSeconds:0.00} s";
        ui.Info("ha verify", $"{action}: {detail}; restored");
        return new VerifyResult(action, d.Host, gap, VipBound, pass, detail);
    }

    private async Task<VerifyResult> LeaseTakeoverAsync(string lease, Func<string, CancellationToken, Task<string?>> holderOf, CancellationToken ct)
    {
        var before = await holderOf(lease, ct).ConfigureAwait(false);
        var host = before is null ? null : file.ControlPlanes.FirstOrDefault(cp => before.StartsWith(cp.Name + "_", StringComparison.OrdinalIgnoreCase) || before == cp.Name);
        var action = $"stop the {lease} lease holder";
        if (host is null)
        {
            return new VerifyResult(action, "-", TimeSpan.Zero, LeaseBound, false, before is null ? "the lease has no holder" : $"holder \"{before}\" is not a control plane of the file");
        }
        var d = new Disruption(host.Name, Disruption.MoveManifest, lease);
        ui.Info("ha verify", $"{action} ({host.Name}, identity {before}); waiting for a new holder (bound {LeaseBound.TotalSeconds:0.0} s)");
        await ApplyAsync(d, ct).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        string? after = null;
        try
        {
            while (clock.Elapsed < LeaseBound + GiveUpAfter)
            {
                after = await holderOf(lease, ct).ConfigureAwait(false);
                if (after is { Length: > 0 } && after != before) // "" is a released lease, not a new holder
                {
                    break;
                }
                await Task.Delay(ProbeInterval, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            await UndoAsync(d).ConfigureAwait(false);
        }
        var took = clock.Elapsed;
        var moved = after is { Length: > 0 } && after != before;
        var detail = moved ? $"new holder {after} after {took.TotalSeconds:0.00} s" : "no new holder appeared";
        ui.Info("ha verify", $"{action}: {detail}; restored");
        return new VerifyResult(action, host.Name, took, LeaseBound, moved && took <= LeaseBound, detail);
    }

    private async Task ApplyAsync(Disruption d, CancellationToken ct)
    {
        var pending = await ReadPendingAsync().ConfigureAwait(false);
        pending.Add(d);
        await WritePendingAsync(pending).ConfigureAwait(false);
        var host = hostOf(file.Host(d.Host));
        switch (d.Kind)
        {
            case Disruption.StopService:
                await Must(host, ["systemctl", "stop", d.Target], ct).ConfigureAwait(false);
                break;
            case Disruption.MoveManifest:
                await host.RenameAsync(NodePaths.Manifest(d.Target), Disruption.ParkedPath(d.Target), ct).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>UndoAsync restores one disruption and waits until the component answers again; it is not cancellable (an
    /// interrupted run must still restore).</summary>
    private async Task UndoAsync(Disruption d)
    {
        var host = hostOf(file.Host(d.Host));
        switch (d.Kind)
        {
            case Disruption.StopService:
                await Must(host, ["systemctl", "start", d.Target], CancellationToken.None).ConfigureAwait(false);
                break;
            case Disruption.MoveManifest when await host.ExistsAsync(Disruption.ParkedPath(d.Target), CancellationToken.None).ConfigureAwait(false):
                await host.RenameAsync(Disruption.ParkedPath(d.Target), NodePaths.Manifest(d.Target), CancellationToken.None).ConfigureAwait(false);
                break;
        }
        var pending = await ReadPendingAsync().ConfigureAwait(false);
        pending.RemoveAll(p => p == d);
        await WritePendingAsync(pending).ConfigureAwait(false);
    }

    /// <summary>RestorePendingAsync undoes what an interrupted run left stopped (read from the pending file).</summary>
    public async Task<int> RestorePendingAsync(CancellationToken ct)
    {
        var pending = await ReadPendingAsync().ConfigureAwait(false);
        foreach (var d in pending.ToList())
        {
            ui.Info("ha verify", $"restoring what an interrupted run left behind: {d.Kind} {d.Target} on {d.Host}");
            await UndoAsync(d).ConfigureAwait(false);
        }
        return pending.Count;
    }

    private async Task<List<Disruption>> ReadPendingAsync()
    {
        if (!File.Exists(PendingFile))
        {
            return [];
        }
        var arr = JsonNode.Parse(await File.ReadAllTextAsync(PendingFile).ConfigureAwait(false)) as JsonArray ?? [];
        return arr.Select(n => new Disruption((string)n!["host"]!, (string)n["kind"]!, (string)n["target"]!)).ToList();
    }

    private async Task WritePendingAsync(List<Disruption> pending)
    {
        Directory.CreateDirectory(stateDir);
        if (pending.Count == 0)
        {
            File.Delete(PendingFile);
            return;
        }
        var arr = new JsonArray(pending.Select(d => (JsonNode)new JsonObject { ["host"] = d.Host, ["kind"] = d.Kind, ["target"] = d.Target }).ToArray());
        var tmp = PendingFile + ".tmp";
        await File.WriteAllTextAsync(tmp, arr.ToJsonString()).ConfigureAwait(false);
        File.Move(tmp, PendingFile, overwrite: true);
    }

    private async Task<HttpKubeApi> AdminApiAsync(CancellationToken ct)
    {
        foreach (var cp in file.ControlPlanes)
        {
            try
            {
                if (await hostOf(cp).ReadFileAsync(NodePaths.KubeConfig("admin.conf"), ct).ConfigureAwait(false) is { } bytes)
                {
                    return HttpKubeApi.FromKubeConfig(bytes, TimeSpan.FromSeconds(2), "admin.conf", new Uri($"https://{file.ControlPlaneEndpoint}"));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ui.Warn("ha verify", $"{cp.Name}: {e.Message.Split('\n')[0]}");
            }
        }
        throw new UserError("no control plane of the file is reachable with /etc/kubernetes/admin.conf");
    }

    private static async Task Must(IHost host, IReadOnlyList<string> argv, CancellationToken ct)
    {
        var r = await host.RunAsync(argv, null, ct).ConfigureAwait(false);
        if (!r.Ok)
        {
            throw new UserError($"{host.Name}: {string.Join(' ', argv)} failed: {r.Stderr.Trim().Split('\n')[0]}");
        }
    }

    /// <summary>Report renders the results as a table with a verdict line.</summary>
    public static string Report(IReadOnlyList<VerifyResult> results)
    {
        var rows = new List<string[]> { new[] { "ACTION", "HOST", "MEASURED", "BOUND", "RESULT", "DETAIL" } };
        rows.AddRange(results.Select(r => new[]
        {
            r.Action, r.Host, r.Measured.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s",
            r.Bound.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s", r.Pass ? "pass" : "FAIL", r.Detail,
        }));
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            sb.Append(string.Join("  ", r.Select((cell, c) => c == r.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd()).Append('\n');
        }
        var failed = results.Count(r => !r.Pass);
        sb.Append(failed == 0 ? $"ha verify: all {results.Count} checks passed; everything stopped was restored\n" : $"ha verify: {failed} of {results.Count} checks FAILED; everything stopped was restored\n");
        return sb.ToString();
    }
}
