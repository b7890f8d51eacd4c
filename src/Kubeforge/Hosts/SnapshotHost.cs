using Kubeforge.Node;

namespace Kubeforge.Hosts;

/// <summary>FileSnapshot is what one round of reading (the fact script) saw of a fixed set of files: bytes and mode, or
/// absent. It stays true while everything that may change those files goes through a <see cref="SnapshotHost"/> over it:
/// writes, deletes and renames update it, and any command that is not known to leave files alone forgets it. Shared by
/// the steps of one run on one host (thread-safe).</summary>
public sealed class FileSnapshot
{
    // Commands that never write the snapshot's files (config files under /etc and /var/lib/kubelet): kernel knobs,
    // service control, read-only probes. Anything else — a package manager, a shell — forgets the snapshot.
    private static readonly HashSet<string> FileNeutral = new(StringComparer.Ordinal)
    {
        "modprobe", "sysctl", "swapoff", "setenforce", "systemctl", "ctr", "crictl", "true", "test", "stat", "cat", "ip", "ss",
    };

    private readonly Lock _lock = new();
    private readonly Dictionary<string, SnapshotFile?> _files;
    private readonly HashSet<string> _scope;

    /// <summary>FileSnapshot starts from the files read (path → content and mode, null when absent).</summary>
    public FileSnapshot(IReadOnlyDictionary<string, SnapshotFile?> files)
    {
        _files = new(files, StringComparer.Ordinal);
        _scope = new(files.Keys, StringComparer.Ordinal);
    }

    /// <summary>TryGet answers for a path the snapshot still knows: found, and the file (null when absent).</summary>
    public bool TryGet(string path, out SnapshotFile? file)
    {
        lock (_lock)
        {
            return _files.TryGetValue(path, out file);
        }
    }

    /// <summary>Count is the number of paths still known.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _files.Count;
            }
        }
    }

    internal void Put(string path, SnapshotFile? file)
    {
        lock (_lock)
        {
            if (_scope.Contains(path))
            {
                _files[path] = file;
            }
        }
    }

    internal void Forget(string path)
    {
        lock (_lock)
        {
            // a directory operation covers every known path below it
            foreach (var p in _files.Keys.Where(p => p == path || p.StartsWith(path.TrimEnd('/') + "/", StringComparison.Ordinal)).ToList())
            {
                _files.Remove(p);
            }
        }
    }

    internal void Clear()
    {
        lock (_lock)
        {
            _files.Clear();
            _scope.Clear();
        }
    }

    /// <summary>IsFileNeutral tells whether a command leaves the snapshot's files alone (by program name).</summary>
    public static bool IsFileNeutral(IReadOnlyList<string> argv) =>
        argv.Count > 0 && FileNeutral.Contains(argv[0][(argv[0].LastIndexOf('/') + 1)..]);
}

/// <summary>SnapshotHost answers reads and stats of the snapshot's files from memory — each is an SSH round trip
/// otherwise — and passes everything else to the inner host, keeping the snapshot true (see <see cref="FileSnapshot"/>).</summary>
public sealed class SnapshotHost(IHost inner, FileSnapshot snapshot) : IHost
{
    /// <summary>Inner is the host below.</summary>
    public IHost Inner => inner;

    /// <inheritdoc/>
    public string Name => inner.Name;

    /// <inheritdoc/>
    public bool ManagesServices => inner.ManagesServices;

    /// <inheritdoc/>
    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) =>
        snapshot.TryGet(path, out var f) ? Task.FromResult(f is null ? null : (byte[]?)f.Content.ToArray()) : inner.ReadFileAsync(path, ct);

    /// <inheritdoc/>
    public Task<FileState> StatAsync(string path, CancellationToken ct = default) =>
        snapshot.TryGet(path, out var f)
            ? Task.FromResult(f is null ? new FileState(false, false, 0, 0) : new FileState(true, false, f.Mode, f.Content.Length))
            : inner.StatAsync(path, ct);

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) => inner.ListAsync(path, ct);

    /// <inheritdoc/>
    public async Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = FileModes.Dir, CancellationToken ct = default)
    {
        snapshot.Forget(path); // if the write fails half way, the file is unknown
        await inner.WriteFileAsync(path, content, mode, dirMode, ct).ConfigureAwait(false);
        snapshot.Put(path, new SnapshotFile(content.ToArray(), mode & 0xFFF)); // an atomic write: now exactly this
    }

    /// <inheritdoc/>
    public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default)
    {
        snapshot.Forget(path);
        return inner.CreateDirectoryAsync(path, mode, ct);
    }

    /// <inheritdoc/>
    public async Task DeleteAsync(string path, CancellationToken ct = default)
    {
        snapshot.Forget(path);
        await inner.DeleteAsync(path, ct).ConfigureAwait(false);
        snapshot.Put(path, null);
    }

    /// <inheritdoc/>
    public async Task RenameAsync(string from, string to, CancellationToken ct = default)
    {
        snapshot.Forget(from);
        snapshot.Forget(to);
        await inner.RenameAsync(from, to, ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default)
    {
        if (!FileSnapshot.IsFileNeutral(argv))
        {
            snapshot.Clear();
        }
        return inner.RunAsync(argv, stdin, ct);
    }
}
