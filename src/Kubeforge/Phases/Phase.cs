namespace Kubeforge.Phases;

/// <summary>Phase is one step of a workflow (kubeadm's workflow.Phase as data): a name, help, optional
/// children and an optional action. A phase with RunAllSiblings is the "all" entry that only exists on the
/// command line ("init phase certs all").</summary>
public sealed record Phase(string Name, string Short)
{
    public string? Long { get; init; }
    public IReadOnlyList<Phase> Children { get; init; } = [];
    public Func<PhaseContext, CancellationToken, Task>? Run { get; init; }

    /// <summary>RunIf decides at run time whether the phase (and its children) runs.</summary>
    public Func<PhaseContext, bool>? RunIf { get; init; }

    public bool RunAllSiblings { get; init; }

    /// <summary>Hidden phases run in the workflow but get no command of their own.</summary>
    public bool Hidden { get; init; }

    /// <summary>All creates the "all" entry of a parent phase.</summary>
    public static Phase All(string what) => new("all", $"Run all {what} phases") { RunAllSiblings = true };
}

/// <summary>PhasePath is a phase with its slash-separated path ("certs/apiserver").</summary>
public sealed record PhasePath(string Path, Phase Phase, int Depth);

/// <summary>WorkflowRunner runs a phase tree in order, honouring a selection (one phase path and its
/// descendants) and --skip-phases (a skipped parent skips its children), the way kubeadm's runner does.</summary>
public sealed class WorkflowRunner(IReadOnlyList<Phase> phases)
{
    public IReadOnlyList<Phase> Phases => phases;

    /// <summary>Flatten lists every phase with its path in execution order (parents before children).</summary>
    public IEnumerable<PhasePath> Flatten()
    {
        foreach (var p in phases)
        {
            foreach (var pp in Walk(p, "", 0))
            {
                yield return pp;
            }
        }
    }

    private static IEnumerable<PhasePath> Walk(Phase p, string prefix, int depth)
    {
        var path = prefix.Length == 0 ? p.Name : prefix + "/" + p.Name;
        yield return new PhasePath(path, p, depth);
        foreach (var c in p.Children)
        {
            foreach (var cc in Walk(c, path, depth + 1))
            {
                yield return cc;
            }
        }
    }

    /// <summary>ValidateSkip checks --skip-phases names against the tree and returns the unknown ones.</summary>
    public IReadOnlyList<string> UnknownPhases(IEnumerable<string> names)
    {
        var known = Flatten().Where(p => !p.Phase.RunAllSiblings).Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
        return names.Where(n => !known.Contains(n.Trim('/'))).ToList();
    }

    /// <summary>RunAsync runs the selected part of the tree. selection: null for everything, or a path such as
    /// "certs/all", "certs/apiserver" or "addon".</summary>
    public async Task RunAsync(PhaseContext ctx, string? selection, IReadOnlyCollection<string> skip, CancellationToken ct)
    {
        var selected = Select(selection);
        var skipSet = skip.Select(s => s.Trim('/')).ToHashSet(StringComparer.Ordinal);
        var disabled = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pp in Flatten())
        {
            if (pp.Phase.RunAllSiblings || !selected(pp.Path))
            {
                continue;
            }
            var parent = pp.Path.Contains('/') ? pp.Path[..pp.Path.LastIndexOf('/')] : null;
            if (parent is not null && disabled.Contains(parent))
            {
                disabled.Add(pp.Path);
                continue;
            }
            if (skipSet.Contains(pp.Path) || (pp.Phase.RunIf is { } cond && !cond(ctx)))
            {
                disabled.Add(pp.Path);
                continue;
            }
            ct.ThrowIfCancellationRequested();
            if (pp.Phase.Run is { } run)
            {
                await run(ctx, ct).ConfigureAwait(false);
            }
        }
    }

    private Func<string, bool> Select(string? selection)
    {
        if (selection is null)
        {
            return _ => true;
        }
        var sel = selection.Trim('/');
        if (sel.EndsWith("/all", StringComparison.Ordinal) || sel == "all")
        {
            var parent = sel == "all" ? "" : sel[..^4];
            // the parent itself and all its descendants
            return p => parent.Length == 0 || p == parent || p.StartsWith(parent + "/", StringComparison.Ordinal);
        }
        // a phase and its descendants (like kubeadm, the parents' own actions do not run)
        return p => p == sel || p.StartsWith(sel + "/", StringComparison.Ordinal);
    }
}
