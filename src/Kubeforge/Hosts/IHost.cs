namespace Kubeforge.Hosts;

/// <summary>CommandResult is the outcome of one command run on a host.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;
}

/// <summary>FileState is what a host knows about a path.</summary>
public sealed record FileState(bool Exists, bool IsDirectory, int Mode, long Length);

/// <summary>IHost is the only way phases touch a machine: files and commands. Paths are absolute node
/// paths ("/etc/kubernetes/pki/ca.crt"); an implementation may map them (a --rootfs folder, a remote
/// machine, a dry-run overlay). Commands are argv lists, never shell lines.</summary>
public interface IHost
{
    /// <summary>Name identifies the host in messages ("local", "node1 (10.0.0.11)").</summary>
    string Name { get; }

    /// <summary>ManagesServices is false when service operations must be skipped (a --rootfs tree, a dry run).</summary>
    bool ManagesServices { get; }

    /// <summary>ReadFileAsync returns the file's bytes, or null when it does not exist.</summary>
    Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default);

    /// <summary>StatAsync describes a path (Exists=false when absent).</summary>
    Task<FileState> StatAsync(string path, CancellationToken ct = default);

    /// <summary>ListAsync lists the entry names of a directory (empty when absent).</summary>
    Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default);

    /// <summary>WriteFileAsync writes atomically (temp file + rename) with the given mode, creating missing
    /// parent directories with dirMode.</summary>
    Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = 0x1ED /*0755*/, CancellationToken ct = default);

    /// <summary>CreateDirectoryAsync makes a directory (and parents) with the given mode.</summary>
    Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default);

    /// <summary>DeleteAsync removes a file or a directory tree; absent paths are fine.</summary>
    Task DeleteAsync(string path, CancellationToken ct = default);

    /// <summary>RenameAsync moves a file or directory.</summary>
    Task RenameAsync(string from, string to, CancellationToken ct = default);

    /// <summary>RunAsync runs argv (argv[0] is the program) and returns its result; stdin is optional.</summary>
    Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default);
}

/// <summary>HostExtensions are conveniences built only on IHost.</summary>
public static class HostExtensions
{
    public static async Task<bool> ExistsAsync(this IHost host, string path, CancellationToken ct = default) =>
        (await host.StatAsync(path, ct).ConfigureAwait(false)).Exists;

    public static async Task<string?> ReadTextAsync(this IHost host, string path, CancellationToken ct = default)
    {
        var b = await host.ReadFileAsync(path, ct).ConfigureAwait(false);
        return b is null ? null : System.Text.Encoding.UTF8.GetString(b);
    }

    /// <summary>WriteIfChangedAsync writes only when bytes or mode differ; returns true when it wrote.</summary>
    public static async Task<bool> WriteIfChangedAsync(this IHost host, string path, byte[] content, int mode, int dirMode = 0x1ED, CancellationToken ct = default)
    {
        var st = await host.StatAsync(path, ct).ConfigureAwait(false);
        if (st.Exists && !st.IsDirectory && (st.Mode & 0xFFF) == mode)
        {
            var old = await host.ReadFileAsync(path, ct).ConfigureAwait(false);
            if (old is not null && old.AsSpan().SequenceEqual(content))
            {
                return false;
            }
        }
        await host.WriteFileAsync(path, content, mode, dirMode, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>CopyTreeAsync copies a file or a directory tree (contents, file and directory modes) to another path on the
    /// same host; the source is left in place. It returns the number of files copied.</summary>
    public static async Task<int> CopyTreeAsync(this IHost host, string from, string to, CancellationToken ct = default)
    {
        var st = await host.StatAsync(from, ct).ConfigureAwait(false);
        if (!st.Exists)
        {
            return 0;
        }
        if (!st.IsDirectory)
        {
            var bytes = await host.ReadFileAsync(from, ct).ConfigureAwait(false) ?? [];
            await host.WriteFileAsync(to, bytes, st.Mode & 0xFFF, FileModes.Dir, ct).ConfigureAwait(false);
            return 1;
        }
        await host.CreateDirectoryAsync(to, st.Mode & 0xFFF, ct).ConfigureAwait(false);
        var n = 0;
        foreach (var name in await host.ListAsync(from, ct).ConfigureAwait(false))
        {
            n += await host.CopyTreeAsync(NodePaths.Join(from, name), NodePaths.Join(to, name), ct).ConfigureAwait(false);
        }
        return n;
    }

    /// <summary>CountFilesAsync counts the files (not directories) below a path (0 when absent).</summary>
    public static async Task<int> CountFilesAsync(this IHost host, string path, CancellationToken ct = default)
    {
        var st = await host.StatAsync(path, ct).ConfigureAwait(false);
        if (!st.Exists)
        {
            return 0;
        }
        if (!st.IsDirectory)
        {
            return 1;
        }
        var n = 0;
        foreach (var name in await host.ListAsync(path, ct).ConfigureAwait(false))
        {
            n += await host.CountFilesAsync(NodePaths.Join(path, name), ct).ConfigureAwait(false);
        }
        return n;
    }

    /// <summary>CleanDirAsync deletes everything inside a directory but keeps the directory (kubeadm's CleanDir); it returns
    /// the number of entries removed (0 when the directory is absent or empty).</summary>
    public static async Task<int> CleanDirAsync(this IHost host, string dir, CancellationToken ct = default)
    {
        var names = await host.ListAsync(dir, ct).ConfigureAwait(false);
        foreach (var name in names)
        {
            await host.DeleteAsync(NodePaths.Join(dir, name), ct).ConfigureAwait(false);
        }
        return names.Count;
    }
}
