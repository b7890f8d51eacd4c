using System.Diagnostics;
using Kubeforge.IntegrationTests.Hosts;

namespace Kubeforge.IntegrationTests.Kit;

/// <summary>AptRepoKit builds what an air-gapped site's package mirrors are, in a folder of its own: throwaway GnuPG signing keys,
/// flat apt repositories (apt-ftparchive) whose InRelease is clear-signed with one of them, .debs downloaded from Debian
/// (apt-get download) or built here (dpkg-deb), all served by python3 http.server on the lab bridge. Dispose stops the server
/// (by PID) and the keys' gpg-agents; the caller deletes the folder.</summary>
public sealed class AptRepoKit(string dir) : IDisposable
{
    private readonly List<Process> _procs = [];
    private readonly List<string> _gpgHomes = [];

    /// <summary>Web is the folder the server serves (repositories go under it).</summary>
    public string Web { get; } = Path.Join(dir, "www");

    /// <summary>GpgKey makes a throwaway ed25519 signing key in its own GnuPG home and returns the home.</summary>
    public string GpgKey(string name)
    {
        var home = Path.Join(dir, "gnupg-" + name);
        Directory.CreateDirectory(home);
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _gpgHomes.Add(home);
        Proc.MustRun("gpg", "--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key", $"kubeforge lab {name}", "ed25519", "sign", "never");
        return home;
    }

    /// <summary>ExportKey writes the armored public key of gpgHome to path (the operator-side key file) and returns path.</summary>
    public static string ExportKey(string gpgHome, string path)
    {
        File.WriteAllText(path, Proc.MustRun("gpg", "--homedir", gpgHome, "--armor", "--export"));
        return path;
    }

    /// <summary>SignedRepo makes dir a flat apt repository of the .debs in debs: Packages(.gz), Release and InRelease clear-signed
    /// with the key in gpgHome.</summary>
    public static void SignedRepo(string dir, string debs, string gpgHome)
    {
        Directory.CreateDirectory(dir);
        foreach (var deb in Directory.GetFiles(debs, "*.deb"))
        {
            File.Copy(deb, Path.Join(dir, Path.GetFileName(deb)));
        }
        Proc.MustRun("sh", "-c", $"cd '{dir}' && apt-ftparchive packages . > Packages && gzip -9kn Packages && apt-ftparchive release . > Release");
        Proc.MustRun("gpg", "--homedir", gpgHome, "--batch", "--yes", "--clearsign", "-o", Path.Join(dir, "InRelease"), Path.Join(dir, "Release"));
    }

    /// <summary>Download fetches Debian's .debs of the packages into a new folder debs (apt-get download; refreshes this machine's
    /// indexes once if they are stale) and returns it.</summary>
    public static string Download(string debs, params string[] packages)
    {
        Directory.CreateDirectory(debs);
        var cmd = $"cd '{debs}' && apt-get download {string.Join(' ', packages)}";
        var (dl, dlOut) = Proc.RunWithTimeout(TimeSpan.FromMinutes(5), "sh", "-c", cmd);
        if (dl != 0)
        {
            Proc.RunWithTimeout(TimeSpan.FromMinutes(5), "apt-get", "update", "-qq");
            (dl, dlOut) = Proc.RunWithTimeout(TimeSpan.FromMinutes(5), "sh", "-c", cmd);
        }
        Assert.True(dl == 0, dlOut);
        return debs;
    }

    /// <summary>DebVersion reads the Version of the package's .deb in debs.</summary>
    public static string DebVersion(string debs, string package) =>
        Proc.MustRun("dpkg-deb", "-f", Directory.GetFiles(debs, package + "_*.deb").Single(), "Version").Trim();

    /// <summary>BuildDeb builds package_version_arch.deb into debs with dpkg-deb: files maps absolute paths to contents (each
    /// written executable), depends is the Depends field (null: none).</summary>
    public static string BuildDeb(string debs, string package, string version, string? depends, IReadOnlyDictionary<string, string> files)
    {
        var arch = Proc.MustRun("dpkg", "--print-architecture").Trim();
        var root = Path.Join(debs, $".build-{package}");
        Directory.CreateDirectory(Path.Join(root, "DEBIAN"));
        File.WriteAllText(Path.Join(root, "DEBIAN", "control"),
            $"Package: {package}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Kubeforge lab <lab@kubeforge.invalid>\n" +
            (depends is null ? "" : $"Depends: {depends}\n") + $"Description: {package} stand-in built by a Kubeforge lab test\n");
        foreach (var (path, content) in files)
        {
            var full = Path.Join(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
            File.SetUnixFileMode(full, (UnixFileMode)0b111_101_101);
        }
        var deb = Path.Join(debs, $"{package}_{version}_{arch}.deb");
        Proc.MustRun("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, deb);
        Directory.Delete(root, recursive: true);
        return deb;
    }

    /// <summary>Serve starts python3 http.server on the lab bridge address over Web and returns its base URL
    /// ("http://10.98.2.1:PORT") once it answers.</summary>
    public string Serve()
    {
        Directory.CreateDirectory(Web);
        var port = SshdFixture.FreePort();
        _procs.Add(Proc.Start(Path.Join(dir, "http.log"), "python3", "-m", "http.server", "--bind", LabKit.Machine, port.ToString(), "--directory", Web));
        var url = $"http://{LabKit.Machine}:{port}";
        Assert.True(Proc.WaitUntil(() => Proc.Run("curl", "-fsS", "-o", "/dev/null", url + "/").Code == 0, TimeSpan.FromSeconds(20)), "the mirror server did not answer");
        return url;
    }

    /// <summary>Dispose stops the server by PID and the keys' gpg-agents.</summary>
    public void Dispose()
    {
        foreach (var p in _procs)
        {
            Proc.Stop(p);
            p.Dispose();
        }
        foreach (var home in _gpgHomes)
        {
            Proc.Run("gpgconf", "--homedir", home, "--kill", "all");
        }
    }
}
