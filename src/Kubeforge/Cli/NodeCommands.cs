using System.CommandLine;
using Kubeforge.Config;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Versions;

namespace Kubeforge.Cli;

/// <summary>NodeCommands builds "preflight" (checks with fixes) and "prepare" (OS preparation, containerd, packages) for one host.</summary>
public static class NodeCommands
{
    private sealed class NodeFlags
    {
        public HostOptions Host { get; } = new();
        public Option<string?> Version { get; } = new("--kubernetes-version") { Description = "Kubernetes version the node is prepared for (default: the newest supported)" };
        public Option<string?> ImageRepository { get; } = new("--image-repository") { Description = "Registry of the control-plane images (sets containerd's sandbox image)" };
        public Option<bool> Worker { get; } = new("--worker") { Description = "The node will be a worker (no control-plane ports or CPU/memory checks)" };
        public Option<string?> Firewall { get; } = new("--firewall") { Description = "What to do with an active firewalld: open (default), disable, leave" };
        public Option<int?> BindPort { get; } = new("--apiserver-bind-port") { Description = "API server port (default 6443)" };

        public void AddTo(Command c)
        {
            Host.AddTo(c);
            c.Options.Add(Version);
            c.Options.Add(ImageRepository);
            c.Options.Add(Worker);
            c.Options.Add(Firewall);
            c.Options.Add(BindPort);
        }

        public VersionProfile Profile(ParseResult pr) => ProfileOf(pr.GetValue(Version));

        public string SandboxImage(ParseResult pr)
        {
            var p = Profile(pr);
            return $"{pr.GetValue(ImageRepository) ?? p.DefaultImageRepository}/pause:{p.PauseVersion}";
        }

        public OsPrepOptions Prep(ParseResult pr, CliIo io) => new()
        {
            Timestamp = io.Env.Time.GetUtcNow(),
            ControlPlane = !pr.GetValue(Worker),
            ApiServerPort = pr.GetValue(BindPort) ?? 6443,
            Firewall = (pr.GetValue(Firewall) ?? "open") switch
            {
                "open" => FirewallChoice.Open,
                "disable" => FirewallChoice.Disable,
                "leave" => FirewallChoice.Leave,
                var x => throw new UserError($"--firewall: \"{x}\" is not one of open, disable, leave"),
            },
        };
    }

    /// <summary>ProfileOf maps --kubernetes-version to its profile (newest when null).</summary>
    public static VersionProfile ProfileOf(string? version)
    {
        if (version is null)
        {
            return VersionTable.Newest;
        }
        if (!KubeVersion.TryParse(version, out var v) || !VersionTable.TryGet(v, out var p))
        {
            throw new UserError($"--kubernetes-version: \"{version}\" is not a supported version; use one from {VersionTable.SupportedRange}");
        }
        return p;
    }

    /// <summary>Build returns the preflight and prepare commands.</summary>
    public static IEnumerable<Command> Build(CliIo io) => [BuildPreflight(io), BuildPrepare(io)];

    private static Command BuildPreflight(CliIo io)
    {
        var f = new NodeFlags();
        var fix = new Option<bool>("--fix") { Description = "Apply the safe fixes (OS preparation, containerd cgroup driver), then check again" };
        var ignore = new Option<string[]>("--ignore-preflight-errors") { Description = "Checks whose errors become warnings, comma-separated, or 'all'", AllowMultipleArgumentsPerToken = true };
        var nodeName = new Option<string?>("--node-name") { Description = "Node name (default: the host name)" };
        var adv = new Option<string?>("--apiserver-advertise-address") { Description = "Address the node will use (default: the default-route interface's)" };
        var cmd = new Command("preflight", "Check a host before installing Kubernetes on it; --fix applies the safe fixes") { fix, ignore, nodeName, adv };
        f.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            var real = f.Host.BuildReal(pr, io);
            try
            {
                var opts = new PreflightOptions
                {
                    Profile = f.Profile(pr),
                    ControlPlane = !pr.GetValue(f.Worker),
                    ApiServerPort = pr.GetValue(f.BindPort) ?? 6443,
                    NodeName = pr.GetValue(nodeName),
                    AdvertiseAddress = pr.GetValue(adv),
                    IgnoreErrors = InitFlagSet.Split(pr.GetValue(ignore)),
                };
                io.Ui.Info("preflight", $"Running pre-flight checks on {real.Name}");
                var facts = await HostFacts.GatherAsync(real, io.Env.Time, ct).ConfigureAwait(false);
                io.Ui.Info("preflight", $"{facts.Os.PrettyName}, {facts.Arch}, {(facts.CgroupV2 ? "cgroup v2" : "cgroup v1")}, {(facts.Systemd ? "systemd" : "no systemd")}");
                var results = NodePreflight.Run(facts, opts);
                io.Ui.Raw(NodePreflight.Format(results));
                if (pr.GetValue(fix) && results.Any(r => r.Level != CheckLevel.Ok && r.Safe))
                {
                    var host = f.Host.Wrap(pr, real);
                    io.Ui.Info("preflight", "Applying the safe fixes");
                    var steps = await PreflightFix.ApplyAsync(host, facts, results, f.Prep(pr, io), f.SandboxImage(pr), ct).ConfigureAwait(false);
                    PrintSteps(io, "preflight", steps);
                    if (host is DryRunHost dry)
                    {
                        await HostOptions.PrintDryRunAsync(io, dry, ct).ConfigureAwait(false);
                        return 0;
                    }
                    facts = await HostFacts.GatherAsync(real, io.Env.Time, ct).ConfigureAwait(false);
                    results = NodePreflight.Run(facts, opts);
                    io.Ui.Info("preflight", "Checks after the fixes:");
                    io.Ui.Raw(NodePreflight.Format(results));
                }
                var e = results.Count(r => r.Level == CheckLevel.Error);
                var w = results.Count(r => r.Level == CheckLevel.Warning);
                io.Ui.Info("preflight", $"{results.Count} checks: {e} errors, {w} warnings");
                NodePreflight.ThrowIfErrors(real.Name, results);
                return 0;
            }
            finally
            {
                (real as IDisposable)?.Dispose();
            }
        });
        return cmd;
    }

    private static Command BuildPrepare(CliIo io)
    {
        var f = new NodeFlags();
        var containerd = new Option<string?>("--containerd") { Description = "Install containerd: 'package' (distro package) or the path of a release tarball on this machine; without it an installed containerd is configured" };
        var packages = new Option<string?>("--packages") { Description = "kubelet/kubectl/cri-tools packages: 'upstream' (pkgs.k8s.io), 'aliyun' (its mirror), 'verify' (preinstalled; check kubelet --version)" };
        var withKubeadm = new Option<bool>("--with-kubeadm") { Description = "Install the kubeadm package too" };
        var osMirror = new Option<string?>("--os-package-mirror") { Description = "Offline/local mirror of the OS's packages for the containerd install: \"URL\" (flat apt repository or yum baseurl) or \"URL suite component...\"; GPG checks stay on (needs --os-package-key)" };
        var osKey = new Option<string?>("--os-package-key") { Description = "File on this machine with the OpenPGP public key the OS package mirror is signed with (armored or binary)" };
        var mirrors = new Option<string[]>("--registry-mirror") { Description = "registry=endpoint[,ca=/node/path/ca.crt] for containerd's hosts.toml, e.g. registry.k8s.io=https://mirror.example.cn:5000", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("prepare", "Prepare a host for Kubernetes: kernel modules, sysctls, swap, SELinux, firewalld, containerd, packages") { containerd, packages, withKubeadm, mirrors, osMirror, osKey };
        f.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            var mirror = ReadOsMirror(pr.GetValue(osMirror), pr.GetValue(osKey));
            var real = f.Host.BuildReal(pr, io);
            try
            {
                var facts = await HostFacts.GatherAsync(real, io.Env.Time, ct).ConfigureAwait(false);
                var host = f.Host.Wrap(pr, real);
                io.Ui.Info("prepare", $"Preparing {real.Name} ({facts.Os.PrettyName})");
                var steps = new List<PrepStep>(await OsPrep.RunAsync(host, facts, f.Prep(pr, io), ct).ConfigureAwait(false));
                var install = pr.GetValue(containerd);
                if (mirror is not null)
                {
                    var installs = install == "package" && !facts.Binaries.ContainsKey("containerd");
                    steps.Add(await OsMirror.ApplyAsync(host, facts.Os.Family, mirror, installs, ct).ConfigureAwait(false));
                }
                if (install is not null || facts.Binaries.ContainsKey("containerd"))
                {
                    steps.AddRange(await Containerd.RunAsync(host, facts, new ContainerdOptions
                    {
                        SandboxImage = f.SandboxImage(pr),
                        Install = install,
                        Refreshed = mirror is not null,
                        Mirrors = (pr.GetValue(mirrors) ?? []).Select(ParseMirror).ToList(),
                    }, ct).ConfigureAwait(false));
                }
                var profile = f.Profile(pr);
                var version = pr.GetValue(f.Version) is { } vs ? KubeVersion.Parse(vs) : profile.DefaultVersion;
                switch (pr.GetValue(packages))
                {
                    case null:
                        break;
                    case "verify":
                        steps.Add(await Packages.VerifyAsync(host is DryRunHost ? real : host, version, ct).ConfigureAwait(false));
                        break;
                    case "upstream" or "aliyun":
                        steps.AddRange(await Packages.InstallAsync(host, facts.Os.Family, version, profile,
                            pr.GetValue(packages) == "aliyun" ? PackageSource.Aliyun : PackageSource.Upstream, pr.GetValue(withKubeadm), ct).ConfigureAwait(false));
                        break;
                    case var x:
                        throw new UserError($"--packages: \"{x}\" is not one of upstream, aliyun, verify");
                }
                PrintSteps(io, "prepare", steps);
                io.Ui.Info("prepare", $"{steps.Count(s => s.Changed)} of {steps.Count} steps changed the host");
                if (host is DryRunHost dry)
                {
                    await HostOptions.PrintDryRunAsync(io, dry, ct).ConfigureAwait(false);
                }
                return 0;
            }
            finally
            {
                (real as IDisposable)?.Dispose();
            }
        });
        return cmd;
    }

    /// <summary>ReadOsMirror reads --os-package-mirror and --os-package-key (both or neither; the key file is on this machine).</summary>
    public static OsPackageMirror? ReadOsMirror(string? spec, string? keyFile)
    {
        if (spec is null && keyFile is null)
        {
            return null;
        }
        if (spec is null || keyFile is null)
        {
            throw new UserError(spec is null
                ? "--os-package-key: given without --os-package-mirror; name the mirror's URL too"
                : "--os-package-mirror: needs --os-package-key, the file of the key the mirror is signed with (GPG checks stay on)");
        }
        if (!File.Exists(keyFile))
        {
            throw new UserError($"--os-package-key: {keyFile} does not exist; export the mirror's signing key with gpg --export --armor KEYID > {keyFile}");
        }
        return OsPackageMirror.Parse(spec, File.ReadAllBytes(keyFile));
    }

    /// <summary>ParseMirror reads "registry=endpoint[,ca=path]".</summary>
    public static RegistryMirror ParseMirror(string s)
    {
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        var eq = parts[0].IndexOf('=');
        if (eq <= 0 || !parts[0][(eq + 1)..].StartsWith("http", StringComparison.Ordinal))
        {
            throw new UserError($"--registry-mirror: \"{s}\" should be registry=https://endpoint[,ca=/path/on/node]");
        }
        var ca = parts.Skip(1).FirstOrDefault(p => p.StartsWith("ca=", StringComparison.Ordinal))?[3..];
        return new RegistryMirror(parts[0][..eq], parts[0][(eq + 1)..], ca);
    }

    /// <summary>PrintSteps prints one line per step: changed/unchanged and the detail.</summary>
    public static void PrintSteps(CliIo io, string phase, IEnumerable<PrepStep> steps)
    {
        foreach (var s in steps)
        {
            var line = $"{s.Name}: {(s.Changed ? "changed" : "unchanged")}: {s.Detail}";
            if (s.Warning)
            {
                io.Ui.Warn(phase, line);
            }
            else
            {
                io.Ui.Info(phase, line);
            }
        }
    }
}
