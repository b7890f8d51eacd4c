namespace Kubeforge.Hosts;

/// <summary>UndoHost passes everything to an inner host and remembers what this run changed: files and folders it
/// created, and the previous bytes of files it replaced. <see cref="RollbackAsync"/> puts the node back (used by join,
/// which must leave no partial files when it fails).</summary>
public sealed class UndoHost(IHost inner) : IHost
{
    private readonly List<(string Path, byte[]? Previous, int Mode)> _files = [];
    private readonly List<string> _dirs = [];

    public string Name => inner.Name;
    public bool ManagesServices => inner.ManagesServices;

    /// <summary>Changed tells whether this run wrote anything.</summary>
    public bool Changed => _files.Count > 0 || _dirs.Count > 0;

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) => inner.ReadFileAsync(path, ct);
    public Task<FileState> StatAsync(string path, CancellationToken ct = default) => inner.StatAsync(path, ct);
    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) => inner.ListAsync(path, ct);
    public Task RenameAsync(string from, string to, CancellationToken ct = default) => inner.RenameAsync(from, to, ct);
    public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default) => inner.RunAsync(argv, stdin, ct);

    public async Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = FileModes.Dir, CancellationToken ct = default)
    {
        await NoteMissingParentsAsync(path, ct).ConfigureAwait(false);
        if (!_files.Any(f => f.Path == path))
        {
            var st = await inner.StatAsync(path, ct).ConfigureAwait(false);
            _files.Add((path, st.Exists ? await inner.ReadFileAsync(path, ct).ConfigureAwait(false) : null, st.Mode & 0xFFF));
        }
        await inner.WriteFileAsync(path, content, mode, dirMode, ct).ConfigureAwait(false);
    }

    public async Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default)
    {
        await NoteMissingParentsAsync(path + "/x", ct).ConfigureAwait(false);
        await inner.CreateDirectoryAsync(path, mode, ct).ConfigureAwait(false);
    }

    public Task DeleteAsync(string path, CancellationToken ct = default) => inner.DeleteAsync(path, ct);

    /// <summary>RollbackAsync restores replaced files, deletes created files, then removes created folders that are empty.</summary>
    public async Task RollbackAsync(CancellationToken ct = default)
    {
        for (var i = _files.Count - 1; i >= 0; i--)
        {
            var (path, previous, mode) = _files[i];
            if (previous is null)
            {
                await inner.DeleteAsync(path, ct).ConfigureAwait(false);
            }
            else
            {
                await inner.WriteFileAsync(path, previous, mode, FileModes.Dir, ct).ConfigureAwait(false);
            }
        }
        foreach (var dir in _dirs.OrderByDescending(d => d.Length))
        {
            if ((await inner.ListAsync(dir, ct).ConfigureAwait(false)).Count == 0)
            {
                await inner.DeleteAsync(dir, ct).ConfigureAwait(false);
            }
        }
        _files.Clear();
        _dirs.Clear();
    }

    private async Task NoteMissingParentsAsync(string path, CancellationToken ct)
    {
        for (var dir = NodePaths.Parent(path); dir.Length > 1; dir = NodePaths.Parent(dir))
        {
            if (_dirs.Contains(dir) || (await inner.StatAsync(dir, ct).ConfigureAwait(false)).Exists)
            {
                break;
            }
            _dirs.Add(dir);
        }
    }
}
