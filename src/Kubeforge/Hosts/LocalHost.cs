using System.Diagnostics;

namespace Kubeforge.Hosts;

/// <summary>LocalHost is this machine. With a rootfs every node path is resolved under that folder,
/// nothing outside it is touched, and services are not managed.</summary>
public sealed class LocalHost : IHost
{
    private readonly string? _rootfs;

    public LocalHost(string? rootfs = null)
    {
        _rootfs = string.IsNullOrEmpty(rootfs) ? null : Path.GetFullPath(rootfs);
    }

    public string Name => _rootfs is null ? "local" : $"local (rootfs {_rootfs})";

    public bool ManagesServices => _rootfs is null;

    public string? Rootfs => _rootfs;

    /// <summary>Resolve maps a node path to the real path on this machine.</summary>
    public string Resolve(string nodePath)
    {
        if (!nodePath.StartsWith('/'))
        {
            throw new ArgumentException($"node path must be absolute: {nodePath}", nameof(nodePath));
        }
        if (_rootfs is null)
        {
            return nodePath;
        }
        var full = Path.GetFullPath(Path.Join(_rootfs, nodePath));
        if (full != _rootfs && !full.StartsWith(_rootfs + "/", StringComparison.Ordinal))
        {
            throw new ArgumentException($"path {nodePath} leaves the rootfs {_rootfs}", nameof(nodePath));
        }
        return full;
    }

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default)
    {
        var p = Resolve(path);
        return Task.FromResult(File.Exists(p) ? File.ReadAllBytes(p) : null);
    }

    public Task<FileState> StatAsync(string path, CancellationToken ct = default)
    {
        var p = Resolve(path);
        if (Directory.Exists(p))
        {
            return Task.FromResult(new FileState(true, true, (int)File.GetUnixFileMode(p), 0));
        }
        if (File.Exists(p))
        {
            return Task.FromResult(new FileState(true, false, (int)File.GetUnixFileMode(p), new FileInfo(p).Length));
        }
        return Task.FromResult(new FileState(false, false, 0, 0));
    }

    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default)
    {
        var p = Resolve(path);
        IReadOnlyList<string> names = Directory.Exists(p)
            ? Directory.EnumerateFileSystemEntries(p).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];
        return Task.FromResult(names);
    }

    public Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = FileModes.Dir, CancellationToken ct = default)
    {
        var p = Resolve(path);
        var dir = Path.GetDirectoryName(p)!;
        CreateDirs(dir, dirMode);
        var tmp = Path.Join(dir, $".{Path.GetFileName(p)}.kubeforge-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = (UnixFileMode)mode,
            }))
            {
                fs.Write(content);
                fs.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(tmp, (UnixFileMode)mode);
            File.Move(tmp, p, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
        return Task.CompletedTask;
    }

    public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default)
    {
        CreateDirs(Resolve(path), mode);
        return Task.CompletedTask;
    }

    private static void CreateDirs(string dir, int mode)
    {
        if (Directory.Exists(dir))
        {
            return;
        }
        var parent = Path.GetDirectoryName(dir);
        if (parent is not null && !Directory.Exists(parent))
        {
            CreateDirs(parent, FileModes.Dir);
        }
        Directory.CreateDirectory(dir, (UnixFileMode)mode);
    }

    public Task DeleteAsync(string path, CancellationToken ct = default)
    {
        var p = Resolve(path);
        if (Directory.Exists(p))
        {
            Directory.Delete(p, recursive: true);
        }
        else if (File.Exists(p))
        {
            File.Delete(p);
        }
        return Task.CompletedTask;
    }

    public Task RenameAsync(string from, string to, CancellationToken ct = default)
    {
        var f = Resolve(from);
        var t = Resolve(to);
        CreateDirs(Path.GetDirectoryName(t)!, FileModes.Dir);
        if (Directory.Exists(f))
        {
            Directory.Move(f, t);
        }
        else
        {
            File.Move(f, t, overwrite: false);
        }
        return Task.CompletedTask;
    }

    public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in argv.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }
        using var p = new Process { StartInfo = psi };
        try
        {
            p.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new CommandResult(127, "", $"{argv[0]}: {e.Message}");
        }
        var outTask = p.StandardOutput.ReadToEndAsync(ct);
        var errTask = p.StandardError.ReadToEndAsync(ct);
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin.AsMemory(), ct).ConfigureAwait(false);
        }
        p.StandardInput.Close();
        try
        {
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        return new CommandResult(p.ExitCode, await outTask.ConfigureAwait(false), await errTask.ConfigureAwait(false));
    }
}
