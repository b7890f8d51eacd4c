using System.CommandLine;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Cli;

/// <summary>HostOptions is the reusable option set that picks the machine a command acts on: this machine (default), a --rootfs
/// folder, or an SSH target (--host user@addr[:port] with key, known_hosts and sudo settings); --dry-run wraps it.</summary>
public sealed class HostOptions
{
    public Option<string?> Host { get; } = new("--host") { Description = "Act on this machine over SSH: [user@]address[:port] (default: this machine)" };
    public Option<string?> SshKey { get; } = new("--ssh-key") { Description = "Private key for --host (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa)" };
    public Option<string?> KnownHosts { get; } = new("--known-hosts") { Description = "known_hosts file the host key is checked against (default ~/.ssh/known_hosts)" };
    public Option<bool> AcceptNewHostKeys { get; } = new("--accept-new-host-keys") { Description = "Record the key of a host not yet in known_hosts (a changed key is always refused)" };
    public Option<string?> SudoPasswordFile { get; } = new("--sudo-password-file") { Description = "File holding the sudo password of a non-root --host user" };
    public Option<string?> Rootfs { get; } = new("--rootfs") { Description = "Resolve every host path under this folder (nothing outside it is touched; services are not managed)" };
    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Change nothing; print the diff of every file and every command that would run" };

    /// <summary>All lists the options to add to a command.</summary>
    public IEnumerable<Option> All => [Host, SshKey, KnownHosts, AcceptNewHostKeys, SudoPasswordFile, Rootfs, DryRun];

    /// <summary>AddTo adds every option to cmd.</summary>
    public HostOptions AddTo(Command cmd)
    {
        foreach (var o in All)
        {
            cmd.Options.Add(o);
        }
        return this;
    }

    /// <summary>ParseTarget splits "[user@]address[:port]" (IPv6 in brackets) into its parts.</summary>
    public static (string User, string Address, int Port) ParseTarget(string target)
    {
        var user = "root";
        var at = target.LastIndexOf('@');
        if (at >= 0)
        {
            user = target[..at];
            target = target[(at + 1)..];
        }
        var port = 22;
        if (target.StartsWith('['))
        {
            var close = target.IndexOf(']');
            if (close < 0)
            {
                throw new UserError($"--host: \"{target}\" has an unclosed '['; write IPv6 addresses as [fd00::5]:22");
            }
            if (close + 1 < target.Length && target[close + 1] == ':' && !int.TryParse(target[(close + 2)..], out port))
            {
                throw new UserError($"--host: bad port in \"{target}\"");
            }
            target = target[1..close];
        }
        else if (target.Count(c => c == ':') == 1)
        {
            var c = target.IndexOf(':');
            if (!int.TryParse(target[(c + 1)..], out port) || port is < 1 or > 65535)
            {
                throw new UserError($"--host: bad port in \"{target}\"; use user@address:port");
            }
            target = target[..c];
        }
        if (user.Length == 0 || target.Length == 0)
        {
            throw new UserError("--host: give [user@]address[:port], e.g. root@10.0.0.11");
        }
        return (user, target, port);
    }

    /// <summary>BuildReal makes the real host (SSH, rootfs or local) from the parsed flags.</summary>
    public IHost BuildReal(ParseResult pr, CliIo io)
    {
        if (pr.GetValue(Host) is not { } target)
        {
            return io.Env.HostFactory(pr.GetValue(Rootfs));
        }
        if (pr.GetValue(Rootfs) is not null)
        {
            throw new UserError("--rootfs and --host cannot be combined; --rootfs is for a folder on this machine");
        }
        var (user, address, port) = ParseTarget(target);
        string? sudo = null;
        if (pr.GetValue(SudoPasswordFile) is { } f)
        {
            if (!File.Exists(f))
            {
                throw new UserError($"--sudo-password-file: {f} does not exist");
            }
            sudo = File.ReadAllText(f).TrimEnd('\r', '\n');
        }
        var o = new SshHostOptions
        {
            Host = address,
            Port = port,
            User = user,
            PrivateKeyPath = pr.GetValue(SshKey),
            SudoPassword = sudo,
            AcceptNewHostKeys = pr.GetValue(AcceptNewHostKeys),
        };
        if (pr.GetValue(KnownHosts) is { } kh)
        {
            o = o with { KnownHostsPath = kh };
        }
        return new SshHost(o);
    }

    /// <summary>Wrap returns a DryRunHost over real when --dry-run is given, else real.</summary>
    public IHost Wrap(ParseResult pr, IHost real) => pr.GetValue(DryRun) ? new DryRunHost(real) : real;

    /// <summary>HideContent withholds keys, anything under a pki folder, kubeconfig files of /etc/kubernetes and backups.</summary>
    public static bool HideContent(string path) =>
        path.EndsWith(".key", StringComparison.Ordinal) || path.EndsWith(".pem", StringComparison.Ordinal) || path.Contains("/pki/", StringComparison.Ordinal) ||
        (path.StartsWith("/etc/kubernetes/", StringComparison.Ordinal) && path.EndsWith(".conf", StringComparison.Ordinal)) ||
        path.Contains(".kubeforge-backup", StringComparison.Ordinal);

    /// <summary>PrintDryRunAsync prints per changed file its unified diff (content of secrets withheld) and per command its argv.</summary>
    public static async Task PrintDryRunAsync(CliIo io, DryRunHost dry, CancellationToken ct)
    {
        foreach (var c in await dry.FileChangesAsync(HideContent, ct).ConfigureAwait(false))
        {
            if (c.Deleted)
            {
                io.Ui.Info("dryrun", $"Would delete \"{c.Path}\"");
            }
            else if (c.Diff is null)
            {
                io.Ui.Info("dryrun", $"Would {(c.Created ? "create" : "change")} \"{c.Path}\" (mode {Convert.ToString(c.Mode, 8)}; content not shown)");
            }
            else
            {
                io.Ui.Info("dryrun", $"Would {(c.Created ? "create" : "change")} \"{c.Path}\" (mode {Convert.ToString(c.Mode, 8)}):");
                io.Ui.Raw(c.Diff);
            }
        }
        foreach (var a in dry.Actions.Where(a => a.Kind == DryRunKind.Run))
        {
            io.Ui.Info("dryrun", $"Would run: {ShellQuote.Join(a.Argv!)}");
        }
        io.Ui.Info("dryrun", $"Nothing on {dry.Name.Replace(" (dry run)", "")} was changed");
    }
}
