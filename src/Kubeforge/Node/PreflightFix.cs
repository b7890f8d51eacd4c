using System.Text;
using Kubeforge.Hosts;

namespace Kubeforge.Node;

/// <summary>PreflightFix applies the safe fixes behind `preflight --fix`: OS preparation (modules, sysctls, swap, SELinux,
/// firewalld) and the containerd cgroup driver (an in-place SystemdCgroup edit, or a fresh config when the old one
/// disables CRI or lacks the setting), restarting containerd only when its config changed.</summary>
public static class PreflightFix
{
    /// <summary>ApplyAsync runs the fixes the results call for and returns the steps.</summary>
    public static async Task<IReadOnlyList<PrepStep>> ApplyAsync(IHost host, HostFacts facts, IReadOnlyList<CheckResult> results,
        OsPrepOptions prep, string sandboxImage, CancellationToken ct = default)
    {
        var steps = new List<PrepStep>(await OsPrep.RunAsync(host, facts, prep, ct).ConfigureAwait(false));
        if (results.Any(r => r.Level != CheckLevel.Ok && r.Name is "CgroupDriver" or "ContainerdConfig") && facts.Binaries.ContainsKey("containerd"))
        {
            var old = facts.File(Containerd.ConfigFile);
            var edited = old is not null && !Containerd.CriDisabled(old) ? Containerd.SetSystemdCgroup(old) : null;
            var content = edited ?? Containerd.RenderConfig(sandboxImage);
            if (old is not null)
            {
                await host.WriteFileAsync(OsPrep.BackupPath(Containerd.ConfigFile, prep.Timestamp), Encoding.UTF8.GetBytes(old), FileModes.Public, ct: ct).ConfigureAwait(false);
            }
            var wrote = await host.WriteIfChangedAsync(Containerd.ConfigFile, Encoding.UTF8.GetBytes(content), FileModes.Public, ct: ct).ConfigureAwait(false);
            var detail = edited is not null ? "set SystemdCgroup = true in " + Containerd.ConfigFile : "wrote a Kubernetes config " + Containerd.ConfigFile;
            if (wrote && host.ManagesServices && facts.Systemd)
            {
                var r = await host.RunAsync(["systemctl", "restart", "containerd"], null, ct).ConfigureAwait(false);
                detail += r.Ok ? "; restarted containerd" : $"; restarting containerd failed: {OsPrep.FirstLine(r.Stderr)}";
            }
            steps.Add(new PrepStep("containerd-cgroup", wrote, detail));
        }
        return steps;
    }
}
