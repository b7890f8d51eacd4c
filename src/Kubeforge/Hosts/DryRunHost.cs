namespace Kubeforge.Hosts;

/// <summary>DryRunHost reads the real host but changes nothing: writes land in an in-memory overlay (so
/// later steps see them), deletes hide files, and commands are recorded instead of run.</summary>
public sealed class DryRunHost(IHost inner) : IHost
{
    private readonly Dictionary<string, (byte[]? Content, int Mode)> _overlay = new(StringComparer.Ordinal);
    private readonly List<DryRunAction> _actions = [];

    public string Name => inner.Name + " (dry run)";

    public bool ManagesServices => false;

    /// <summary>Inner is the real host this dry run reads (preflight gathers its facts there).</summary>
    public IHost Inner => inner;

    /// <summary>Actions lists every change the run would have made, in order.</summary>
    public IReadOnlyList<DryRunAction> Actions => _actions;

    /// <summary>ReadOriginalAsync reads the real host, ignoring the overlay (for diffs).</summary>
    public Task<byte[]?> ReadOriginalAsync(string path, CancellationToken ct = default) => inner.ReadFileAsync(path, ct);

    /// <summary>FileChangesAsync compares each path the run wrote or deleted (final state) with the real file: unchanged files
    /// are left out; hideContent(path) = true reports a change without a diff (keys, kubeconfigs).</summary>
    public async Task<IReadOnlyList<DryRunFileChange>> FileChangesAsync(Func<string, bool>? hideContent = null, CancellationToken ct = default)
    {
        var list = new List<DryRunFileChange>();
        foreach (var (path, (content, mode)) in _overlay.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var real = await inner.ReadFileAsync(path, ct).ConfigureAwait(false);
            if (content is null)
            {
                if (real is not null)
                {
                    list.Add(new DryRunFileChange(path, true, false, null, 0));
                }
                continue;
            }
            var realMode = real is null ? 0 : (await inner.StatAsync(path, ct).ConfigureAwait(false)).Mode & 0xFFF;
            if (real is not null && real.AsSpan().SequenceEqual(content) && realMode == mode)
            {
                continue;
            }
            var hide = hideContent?.Invoke(path) == true || content.Contains((byte)0) || (real?.Contains((byte)0) ?? false);
            var diff = hide ? null : UnifiedDiff.Diff(real is null ? null : System.Text.Encoding.UTF8.GetString(real),
                System.Text.Encoding.UTF8.GetString(content), real is null ? "/dev/null" : "a" + path, "b" + path);
            list.Add(new DryRunFileChange(path, false, real is null, diff, mode));
        }
        return list;
    }

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) =>
        _overlay.TryGetValue(path, out var o) ? Task.FromResult(o.Content) : inner.ReadFileAsync(path, ct);

    public async Task<FileState> StatAsync(string path, CancellationToken ct = default)
    {
        if (_overlay.TryGetValue(path, out var o))
        {
            return o.Content is null ? new FileState(false, false, 0, 0) : new FileState(true, false, o.Mode, o.Content.Length);
        }
        if (_overlay.Keys.Any(k => k.StartsWith(path.TrimEnd('/') + "/", StringComparison.Ordinal) && _overlay[k].Content is not null))
        {
            return new FileState(true, true, FileModes.Dir, 0);
        }
        return await inner.StatAsync(path, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default)
    {
        var prefix = path.TrimEnd('/') + "/";
        var names = new SortedSet<string>((await inner.ListAsync(path, ct).ConfigureAwait(false)), StringComparer.Ordinal);
        foreach (var (k, v) in _overlay)
        {
            if (k.StartsWith(prefix, StringComparison.Ordinal))
            {
                var name = k[prefix.Length..].Split('/')[0];
                if (v.Content is null && !k[prefix.Length..].Contains('/'))
                {
                    names.Remove(name);
                }
                else if (v.Content is not null)
                {
                    names.Add(name);
                }
            }
        }
        return names.ToList();
    }

    public Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = FileModes.Dir, CancellationToken ct = default)
    {
        _overlay[path] = (content, mode);
        _actions.Add(new DryRunAction(DryRunKind.WriteFile, path, null, content, mode));
        return Task.CompletedTask;
    }

    public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default)
    {
        _actions.Add(new DryRunAction(DryRunKind.CreateDirectory, path, null, null, mode));
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string path, CancellationToken ct = default)
    {
        _overlay[path] = (null, 0);
        _actions.Add(new DryRunAction(DryRunKind.Delete, path, null, null, 0));
        return Task.CompletedTask;
    }

    public async Task RenameAsync(string from, string to, CancellationToken ct = default)
    {
        var content = await ReadFileAsync(from, ct).ConfigureAwait(false);
        var st = await StatAsync(from, ct).ConfigureAwait(false);
        _overlay[to] = (content, st.Mode);
        _overlay[from] = (null, 0);
        _actions.Add(new DryRunAction(DryRunKind.Rename, from, [to], null, 0));
    }

    public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default)
    {
        _actions.Add(new DryRunAction(DryRunKind.Run, argv[0], argv.ToList(), null, 0));
        return Task.FromResult(new CommandResult(0, "", ""));
    }
}

/// <summary>DryRunFileChange is the net change of one file in a dry run: a unified diff against the real file (null for secret
/// or binary content), or deletion.</summary>
public sealed record DryRunFileChange(string Path, bool Deleted, bool Created, string? Diff, int Mode);

public enum DryRunKind { WriteFile, CreateDirectory, Delete, Rename, Run }

/// <summary>DryRunAction is one change a dry run would have made.</summary>
public sealed record DryRunAction(DryRunKind Kind, string Path, IReadOnlyList<string>? Argv, byte[]? Content, int Mode);
