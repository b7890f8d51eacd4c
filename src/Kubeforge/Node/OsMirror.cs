using System.Text;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Node;

/// <summary>OsPackageMirror is an offline or local mirror of the OS's own packages (containerd, runc, conntrack...) that a host's
/// package manager uses with GPG checks on: Url is the repository ("http://10.0.0.1/debian" with Suite and Components for a
/// dists/ layout, or a flat repository when Suite is null), Key the OpenPGP public key the repository is signed with (armored or
/// binary, as read from the operator's file).</summary>
public sealed record OsPackageMirror(string Url, byte[] Key, string? Suite = null, IReadOnlyList<string>? Components = null)
{
    /// <summary>Parse reads "URL [suite [component...]]" (the sources.list order) and the key bytes; a bad URL or a file that is
    /// no OpenPGP public key is a UserError naming the flag.</summary>
    public static OsPackageMirror Parse(string spec, byte[] key, string flag = "--os-package-mirror", string keyFlag = "--os-package-key")
    {
        var words = spec.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || !Uri.TryCreate(words[0], UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Host.Length == 0)
        {
            throw new UserError($"{flag}: \"{spec}\" is not an http(s) repository URL; write e.g. http://10.0.0.1/debian (flat repository) or \"http://10.0.0.1/debian bookworm main\"");
        }
        if (!OsMirror.IsOpenPgpKey(key))
        {
            throw new UserError($"{keyFlag}: the file is not an OpenPGP public key (armored or binary); export it with gpg --export [--armor] KEYID");
        }
        return new OsPackageMirror(words[0], key, words.Length > 1 ? words[1] : null, words.Length > 2 ? words[2..] : null);
    }
}

/// <summary>OsMirror points a host's package manager at an OsPackageMirror: an apt source list with signed-by (deb family) or a yum
/// .repo with gpgcheck and repo_gpgcheck (rpm family), the key in the family's keyring folder; then refreshes only that repository,
/// so a signature the key does not verify is refused before anything is installed.</summary>
public static class OsMirror
{
    public const string RepoId = "kubeforge-os-mirror";
    public const string AptList = "/etc/apt/sources.list.d/" + RepoId + ".list";
    public const string YumRepo = "/etc/yum.repos.d/" + RepoId + ".repo";
    public const string YumKey = "/etc/pki/rpm-gpg/RPM-GPG-KEY-" + RepoId;

    /// <summary>AptKey is the keyring path: .asc for an armored key, .gpg for a binary one (apt tells them by the extension).</summary>
    public static string AptKey(byte[] key) => $"/etc/apt/keyrings/{RepoId}.{(IsArmored(key) ? "asc" : "gpg")}";

    /// <summary>KeyPath is where the key goes on a host of the family.</summary>
    public static string KeyPath(OsFamily family, byte[] key) => family == OsFamily.Deb ? AptKey(key) : YumKey;

    /// <summary>IsArmored tells an ASCII-armored key from a binary one.</summary>
    public static bool IsArmored(byte[] key) => Encoding.ASCII.GetString(key, 0, Math.Min(key.Length, 64)).TrimStart().StartsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----", StringComparison.Ordinal);

    /// <summary>IsOpenPgpKey accepts an armored public key block or a binary public-key packet (tag 6, old or new format).</summary>
    public static bool IsOpenPgpKey(byte[] key) =>
        IsArmored(key) || (key.Length > 8 && ((key[0] & 0xC0) == 0xC0 ? (key[0] & 0x3F) == 6 : (key[0] & 0x80) != 0 && ((key[0] >> 2) & 0x0F) == 6));

    /// <summary>Render returns the repository definition for the family (pure).</summary>
    public static RepoFile Render(OsFamily family, OsPackageMirror m)
    {
        var keyPath = KeyPath(family, m.Key);
        if (family == OsFamily.Rpm)
        {
            return new RepoFile(YumRepo,
                $"# Written by kubeforge: OS packages from an offline mirror\n[{RepoId}]\nname=OS packages (kubeforge mirror)\nbaseurl={m.Url}\n" +
                $"enabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://{keyPath}\n", KeyPath: keyPath);
        }
        var url = m.Url.EndsWith('/') ? m.Url : m.Url + "/";
        var where = m.Suite is null ? "./" : $"{m.Suite} {string.Join(' ', m.Components is { Count: > 0 } c ? c : ["main"])}";
        return new RepoFile(AptList, $"# Written by kubeforge: OS packages from an offline mirror\ndeb [signed-by={keyPath}] {url} {where}\n", KeyPath: keyPath);
    }

    /// <summary>RefreshCommand refreshes only the mirror's index (apt: this source list alone; dnf: this repository alone).</summary>
    public static IReadOnlyList<string> RefreshCommand(OsFamily family) => family == OsFamily.Deb
        ? ["apt-get", "update", "-o", $"Dir::Etc::sourcelist={AptList}", "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0"]
        : ["dnf", "makecache", "--repo", RepoId];

    /// <summary>RefusalOf returns apt's or dnf's complaint about the repository's signature or index (null: none). apt reports
    /// a bad signature as "W: GPG error" followed by "E: The repository ... is not signed" (exit 100).</summary>
    public static string? RefusalOf(CommandResult r)
    {
        var lines = (r.Stdout + "\n" + r.Stderr).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        // apt's summary line names the repository and the reason; the indented detail under "Err:" comes earlier in stdout
        var gpg = lines.FirstOrDefault(l => l.StartsWith("W: GPG error", StringComparison.Ordinal))
            ?? lines.FirstOrDefault(l => l.Contains("NO_PUBKEY", StringComparison.Ordinal) || l.Contains("BADSIG", StringComparison.Ordinal)
                || l.Contains("is not signed", StringComparison.Ordinal));
        if (gpg is not null || r.Ok)
        {
            return gpg;
        }
        return lines.FirstOrDefault(l => l.StartsWith("E:", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal)) ?? $"exit {r.ExitCode}";
    }

    /// <summary>ApplyAsync writes the key and the repository definition (only when changed) and, when they changed or refresh is
    /// asked for (an install follows), refreshes the mirror's index; a refused signature is a UserError naming the mirror.</summary>
    public static async Task<PrepStep> ApplyAsync(IHost host, OsFamily family, OsPackageMirror m, bool refresh, CancellationToken ct = default)
    {
        var repo = Render(family, m);
        var wroteKey = await host.WriteIfChangedAsync(repo.KeyPath!, m.Key, FileModes.Public, ct: ct).ConfigureAwait(false);
        var wroteRepo = await host.WriteIfChangedAsync(repo.Path, Encoding.UTF8.GetBytes(repo.Content), FileModes.Public, ct: ct).ConfigureAwait(false);
        var changed = wroteKey || wroteRepo;
        var detail = changed ? $"wrote {repo.Path} and {repo.KeyPath} ({m.Url})" : $"{repo.Path} up to date";
        if (changed || refresh)
        {
            var argv = RefreshCommand(family);
            var r = await host.RunAsync(argv, null, ct).ConfigureAwait(false);
            if (RefusalOf(r) is { } why)
            {
                throw new UserError($"{host.Name}: the OS package mirror {m.Url} was refused: {why}; make sure --os-package-key (spec.mirror.osPackageKey) is the key the mirror's Release/repomd is signed with, and re-sign the mirror if it changed");
            }
            detail += $"; refreshed its index ({ShellQuote.Join(argv)})";
        }
        return new PrepStep("os-package-mirror", changed, detail);
    }
}
