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
}
