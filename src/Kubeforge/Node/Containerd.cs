using System.Text;
using System.Text.RegularExpressions;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Node;

/// <summary>RegistryMirror sends pulls for Registry ("registry.k8s.io", "docker.io") to Endpoint ("https://mirror.example.cn:5000"),
/// trusting the CA file CaPath on the node when given.</summary>
public sealed record RegistryMirror(string Registry, string Endpoint, string? CaPath = null, bool SkipVerify = false);

/// <summary>ContainerdOptions are the choices of the containerd step.</summary>
public sealed record ContainerdOptions
{
    /// <summary>SandboxImage is the pause image (ImageList.Pause(cfg): the cluster image repository + the release's pause tag).</summary>
    public required string SandboxImage { get; init; }
    /// <summary>Mirrors become hosts.toml files under /etc/containerd/certs.d.</summary>
    public IReadOnlyList<RegistryMirror> Mirrors { get; init; } = [];
    /// <summary>Install: null (expect containerd present), "package" (distro package) or a local release tarball path (operator side).</summary>
    public string? Install { get; init; }
    /// <summary>PackageName is the distro package (containerd on Debian/Ubuntu/openEuler; containerd.io from the Docker repo on CentOS/RHEL).</summary>
    public string? PackageName { get; init; }
    /// <summary>Refreshed: the package index was just refreshed (OsMirror.ApplyAsync for an offline mirror), so the install
    /// skips the full `apt-get update`, which an air-gapped host cannot complete.</summary>
    public bool Refreshed { get; init; }
}

/// <summary>Containerd installs and configures containerd as the guide's §2.1 does, reproducibly: config.toml (version 2 schema,
/// containerd 1.6/1.7) with SystemdCgroup = true, the sandbox image from the cluster's repository, config_path for
/// per-registry hosts.toml files; a restart only when the config changed; a check through the socket.</summary>
public static partial class Containerd
{
    public const string ConfigFile = "/etc/containerd/config.toml";

    /// <summary>BackupFile keeps the config.toml found before Kubeforge's first write.</summary>
    public const string BackupFile = ConfigFile + ".kubeforge-backup";
    public const string CertsDir = "/etc/containerd/certs.d";
    public const string Socket = "/run/containerd/containerd.sock";
    public const string UnitFile = "/etc/systemd/system/containerd.service";

    /// <summary>RenderConfig renders config.toml (version 2 schema).</summary>
    public static string RenderConfig(string sandboxImage) => $$"""
        # Written by kubeforge (containerd 1.6/1.7, config version 2)
        version = 2

        [plugins]
          [plugins."io.containerd.grpc.v1.cri"]
            sandbox_image = "{{sandboxImage}}"
            [plugins."io.containerd.grpc.v1.cri".containerd]
              default_runtime_name = "runc"
              [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                runtime_type = "io.containerd.runc.v2"
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                  SystemdCgroup = true
            [plugins."io.containerd.grpc.v1.cri".registry]
              config_path = "{{CertsDir}}"

        """;

    /// <summary>HostsTomlPath is the hosts.toml of a registry ("registry.k8s.io" → /etc/containerd/certs.d/registry.k8s.io/hosts.toml;
    /// a port becomes "host:port" as containerd expects).</summary>
    public static string HostsTomlPath(string registry) => $"{CertsDir}/{registry}/hosts.toml";

    /// <summary>RenderHostsToml renders the hosts.toml that sends pulls of m.Registry to m.Endpoint.</summary>
    public static string RenderHostsToml(RegistryMirror m)
    {
        var server = m.Registry == "docker.io" ? "https://registry-1.docker.io" : $"https://{m.Registry}";
        var sb = new StringBuilder($"# Written by kubeforge\nserver = \"{server}\"\n\n[host.\"{m.Endpoint}\"]\n  capabilities = [\"pull\", \"resolve\"]\n");
        if (m.CaPath is not null)
        {
            sb.Append($"  ca = \"{m.CaPath}\"\n");
        }
        if (m.SkipVerify)
        {
            sb.Append("  skip_verify = true\n");
        }
        return sb.ToString();
    }

    /// <summary>SystemdCgroup reads the runc SystemdCgroup setting of an existing config.toml (null: not set, containerd's default false).</summary>
    public static bool? SystemdCgroup(string config)
    {
        var m = SystemdCgroupLine().Match(config);
        return m.Success ? m.Groups[1].Value == "true" : null;
    }

    /// <summary>CriDisabled tells whether a config disables the CRI plugin (Docker's packaged containerd config does).</summary>
    public static bool CriDisabled(string config) => DisabledCri().IsMatch(config);

    /// <summary>SetSystemdCgroup turns "SystemdCgroup = false" into true (other bytes unchanged); null when the setting is absent.</summary>
    public static string? SetSystemdCgroup(string config) =>
        SystemdCgroupLine().IsMatch(config) ? SystemdCgroupLine().Replace(config, m => m.Value.Replace("false", "true")) : null;

    [GeneratedRegex(@"^[ \t]*SystemdCgroup[ \t]*=[ \t]*(true|false)[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex SystemdCgroupLine();

    [GeneratedRegex(@"^[ \t]*disabled_plugins[ \t]*=[ \t]*\[[^\]]*""(io\.containerd\.grpc\.v1\.)?cri""", RegexOptions.Multiline)]
    private static partial Regex DisabledCri();

    /// <summary>RenderUnit renders the systemd unit of a tarball install (upstream containerd.service with /usr/local/bin).</summary>
    public static string RenderUnit() => """
        # Written by kubeforge (upstream containerd.service)
        [Unit]
        Description=containerd container runtime
        Documentation=https://containerd.io
        After=network.target local-fs.target

        [Service]
        ExecStartPre=-/sbin/modprobe overlay
        ExecStart=/usr/local/bin/containerd
        Type=notify
        Delegate=yes
        KillMode=process
        Restart=always
        RestartSec=5
        LimitNPROC=infinity
        LimitCORE=infinity
        TasksMax=infinity
        OOMScoreAdjust=-999

        [Install]
        WantedBy=multi-user.target

        """;

    /// <summary>PackageInstallCommands are the argv lists that install the distro package (refresh: run `apt-get update` first).</summary>
    public static IReadOnlyList<IReadOnlyList<string>> PackageInstallCommands(OsFamily family, string package, bool refresh = true)
    {
        if (family == OsFamily.Rpm)
        {
            return [["dnf", "install", "-y", package]];
        }
        IReadOnlyList<string> install = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", package];
        return refresh ? [["apt-get", "update"], install] : [install];
    }

    /// <summary>RunAsync installs (if asked), writes config.toml and hosts.toml files, restarts containerd when they changed and
    /// checks it through the socket. Returns the steps.</summary>
    public static async Task<IReadOnlyList<PrepStep>> RunAsync(IHost host, HostFacts facts, ContainerdOptions o, CancellationToken ct = default)
    {
        var steps = new List<PrepStep>();
        var installed = false;
        if (o.Install == "package")
        {
            if (facts.Binaries.ContainsKey("containerd"))
            {
                steps.Add(new PrepStep("containerd-install", false, $"containerd {facts.ContainerdVersion} already installed"));
            }
            else
            {
                var pkg = o.PackageName ?? "containerd";
                foreach (var argv in PackageInstallCommands(facts.Os.Family, pkg, !o.Refreshed))
                {
                    await Must(host, argv, ct).ConfigureAwait(false);
                }
                installed = true;
                steps.Add(new PrepStep("containerd-install", true, $"installed package {pkg}"));
            }
        }
        else if (o.Install is { } tarball)
        {
            if (!File.Exists(tarball))
            {
                throw new UserError($"containerd tarball {tarball} does not exist on this machine; download containerd-<version>-linux-<arch>.tar.gz and give its path");
            }
            const string remote = "/var/tmp/kubeforge-containerd.tar.gz";
            await host.WriteFileAsync(remote, await File.ReadAllBytesAsync(tarball, ct).ConfigureAwait(false), FileModes.Private, ct: ct).ConfigureAwait(false);
            await Must(host, ["tar", "-C", "/usr/local", "-xzf", remote], ct).ConfigureAwait(false);
            await host.DeleteAsync(remote, ct).ConfigureAwait(false);
            await host.WriteIfChangedAsync(UnitFile, Encoding.UTF8.GetBytes(RenderUnit()), FileModes.Public, ct: ct).ConfigureAwait(false);
            installed = true;
            steps.Add(new PrepStep("containerd-install", true, $"unpacked {Path.GetFileName(tarball)} into /usr/local and wrote {UnitFile}"));
        }

        var config = Encoding.UTF8.GetBytes(RenderConfig(o.SandboxImage));
        // read once: the same bytes decide the backup and whether to write (as WriteIfChangedAsync would: bytes or mode)
        var current = await host.ReadFileAsync(ConfigFile, ct).ConfigureAwait(false);
        var currentMode = current is null ? 0 : (await host.StatAsync(ConfigFile, ct).ConfigureAwait(false)).Mode & 0xFFF;
        var sameBytes = current is not null && current.AsSpan().SequenceEqual(config);
        if (current is not null && !sameBytes && !await host.ExistsAsync(BackupFile, ct).ConfigureAwait(false))
        {
            // keep the previous config next to it, before replacing it; only the first kubeforge run finds a foreign one
            await host.WriteFileAsync(BackupFile, current, currentMode == 0 ? FileModes.Public : currentMode, ct: ct).ConfigureAwait(false);
        }
        var changed = !sameBytes || currentMode != FileModes.Public;
        if (changed)
        {
            await host.WriteFileAsync(ConfigFile, config, FileModes.Public, ct: ct).ConfigureAwait(false);
        }
        var mirrors = new List<string>();
        foreach (var m in o.Mirrors)
        {
            if (await host.WriteIfChangedAsync(HostsTomlPath(m.Registry), Encoding.UTF8.GetBytes(RenderHostsToml(m)), FileModes.Public, ct: ct).ConfigureAwait(false))
            {
                mirrors.Add(m.Registry);
            }
        }
        steps.Add(new PrepStep("containerd-config", changed || mirrors.Count > 0,
            (changed ? $"wrote {ConfigFile} (SystemdCgroup = true, sandbox_image {o.SandboxImage})" : $"{ConfigFile} up to date") +
            (mirrors.Count > 0 ? $"; hosts.toml for {string.Join(", ", mirrors)}" : "")));

        if (!host.ManagesServices)
        {
            return steps;
        }
        var active = facts.ActiveServices.Contains("containerd");
        if (installed || changed || mirrors.Count > 0 || !active)
        {
            if (installed)
            {
                await Must(host, ["systemctl", "daemon-reload"], ct).ConfigureAwait(false);
            }
            // --no-reload: enabling only adds the boot-time links; the unit is loaded already (a fresh install reloaded
            // above), and a daemon-reload per host is the most expensive thing systemd does here
            await Must(host, ["systemctl", "enable", "--no-reload", "containerd"], ct).ConfigureAwait(false);
            await Must(host, ["systemctl", "restart", "containerd"], ct).ConfigureAwait(false);
            steps.Add(new PrepStep("containerd-restart", true, active ? "restarted containerd (config changed)" : "started containerd"));
        }
        steps.Add(await CheckAsync(host, ct).ConfigureAwait(false));
        return steps;
    }

    /// <summary>CheckAsync asks containerd for its version through the socket (retrying while it starts).</summary>
    public static async Task<PrepStep> CheckAsync(IHost host, CancellationToken ct = default)
    {
        CommandResult r = new(1, "", "");
        for (var i = 0; i < 20; i++)
        {
            r = await host.RunAsync(["ctr", "--address", Socket, "version"], null, ct).ConfigureAwait(false);
            if (r.Ok)
            {
                var server = r.Stdout.Split("Server:").LastOrDefault()?.Split('\n').FirstOrDefault(l => l.Trim().StartsWith("Version:", StringComparison.Ordinal))?.Trim();
                return new PrepStep("containerd-check", false, $"containerd answers on {Socket} ({server})");
            }
            await Task.Delay(250, ct).ConfigureAwait(false);
        }
        return new PrepStep("containerd-check", false, $"containerd does not answer on {Socket}: {OsPrep.FirstLine(r.Stderr)}", Warning: true);
    }

    private static async Task Must(IHost host, IReadOnlyList<string> argv, CancellationToken ct)
    {
        var r = await host.RunAsync(argv, null, ct).ConfigureAwait(false);
        if (!r.Ok)
        {
            throw new UserError($"{host.Name}: {ShellQuote.Join(argv)} failed (exit {r.ExitCode}): {OsPrep.FirstLine(r.Stderr)}");
        }
    }
}
