using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Tests.ControlPlane;

/// <summary>FakeHost is an in-memory IHost: files with modes, directories with modes, recorded commands and
/// canned command results.</summary>
internal sealed class FakeHost(bool managesServices) : IHost
{
    public Dictionary<string, (byte[] Content, int Mode, int DirMode)> Files { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> Dirs { get; } = new(StringComparer.Ordinal);
    public List<string[]> Commands { get; } = [];
    public Dictionary<string, CommandResult> Results { get; } = new(StringComparer.Ordinal);
    public int Writes { get; private set; }

    public string Name => "fake";
    public bool ManagesServices => managesServices;

    public Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default) =>
        Task.FromResult(Files.TryGetValue(path, out var f) ? f.Content : null);

    public Task<FileState> StatAsync(string path, CancellationToken ct = default)
    {
        if (Files.TryGetValue(path, out var f))
        {
            return Task.FromResult(new FileState(true, false, f.Mode, f.Content.Length));
        }
        return Task.FromResult(Dirs.TryGetValue(path, out var m) ? new FileState(true, true, m, 0) : new FileState(false, false, 0, 0));
    }

    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default) => Task.FromResult<IReadOnlyList<string>>([]);

    public Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = FileModes.Dir, CancellationToken ct = default)
    {
        Writes++;
        var dir = NodePaths.Parent(path);
        Dirs.TryAdd(dir, dirMode);
        Files[path] = (content, mode, dirMode);
        return Task.CompletedTask;
    }

    public Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default)
    {
        Dirs[path] = mode;
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string path, CancellationToken ct = default)
    {
        Files.Remove(path);
        return Task.CompletedTask;
    }

    public Task RenameAsync(string from, string to, CancellationToken ct = default) => throw new NotSupportedException();

    public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default)
    {
        Commands.Add([.. argv]);
        return Task.FromResult(Results.TryGetValue(string.Join(' ', argv), out var r) ? r : new CommandResult(0, "", ""));
    }

    public string Text(string path) => System.Text.Encoding.UTF8.GetString(Files[path].Content);
}

/// <summary>RecordingUi keeps every line a phase prints.</summary>
internal sealed class RecordingUi : IUi
{
    public List<string> Lines { get; } = [];

    public void Info(string phase, string message) => Lines.Add($"[{phase}] {message}");

    public void Warn(string phase, string message) => Lines.Add($"[{phase}] WARNING: {message}");

    public void Raw(string text) => Lines.Add(text);
}
