using System.Globalization;

namespace Kubeforge.Yaml;

/// <summary>YNode is a small, ordered YAML/JSON document model: every render builds one of these and
/// a writer turns it into bytes (Go-compatible YAML or JSON). Readers keep the source position so
/// validation errors can name the line.</summary>
public abstract class YNode
{
    /// <summary>Line (1-based) where the node started in its source, 0 when built in code.</summary>
    public int Line { get; init; }

    /// <summary>Column (1-based) where the node started in its source, 0 when built in code.</summary>
    public int Column { get; init; }

    public static implicit operator YNode(string? value) => value is null ? YScalar.Null() : YScalar.Str(value);
    public static implicit operator YNode(int value) => YScalar.Int(value);
    public static implicit operator YNode(long value) => YScalar.Int(value);
    public static implicit operator YNode(bool value) => YScalar.Bool(value);
}

/// <summary>ScalarKind says how a scalar is typed, the way Go's YAML/JSON decoders see it.</summary>
public enum ScalarKind { String, Int, Float, Bool, Null }

/// <summary>YScalar is a leaf value. Text holds the canonical text (for strings the string itself).</summary>
public sealed class YScalar : YNode
{
    public YScalar(ScalarKind kind, string text, bool quotedInSource = false)
    {
        Kind = kind;
        Text = text;
        QuotedInSource = quotedInSource;
    }

    public ScalarKind Kind { get; }
    public string Text { get; }

    /// <summary>True when the source wrote the scalar quoted or as a block (so it is a string for sure).</summary>
    public bool QuotedInSource { get; }

    public static YScalar Str(string s) => new(ScalarKind.String, s);
    public static YScalar Int(long v) => new(ScalarKind.Int, v.ToString(CultureInfo.InvariantCulture));
    public static YScalar Bool(bool v) => new(ScalarKind.Bool, v ? "true" : "false");
    public static YScalar Null() => new(ScalarKind.Null, "null");
    public static YScalar Float(double v) => new(ScalarKind.Float, v.ToString("R", CultureInfo.InvariantCulture));

    public override string ToString() => Text;
}

/// <summary>YSeq is a sequence.</summary>
public sealed class YSeq : YNode, IEnumerable<YNode>
{
    public List<YNode> Items { get; } = new();

    public YSeq() { }

    public YSeq(IEnumerable<YNode> items) => Items.AddRange(items);

    public void Add(YNode item) => Items.Add(item);

    public int Count => Items.Count;

    public YNode this[int i] => Items[i];

    public IEnumerator<YNode> GetEnumerator() => Items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public static YSeq Of(params YNode[] items) => new(items);

    public static YSeq Strings(IEnumerable<string> items) => new(items.Select(s => (YNode)YScalar.Str(s)));
}

/// <summary>YMap is a mapping with string keys that keeps insertion order; writers decide the output order.</summary>
public sealed class YMap : YNode, IEnumerable<KeyValuePair<string, YNode>>
{
    private readonly List<KeyValuePair<string, YNode>> _entries = new();

    /// <summary>Positions of keys in the source, for error messages (key → (line, column)).</summary>
    public Dictionary<string, (int Line, int Column)> KeyPositions { get; } = new();

    public IReadOnlyList<KeyValuePair<string, YNode>> Entries => _entries;

    public int Count => _entries.Count;

    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    /// <summary>Add sets key to value (replacing an existing entry in place); a null value is stored as YAML null.</summary>
    public void Add(string key, YNode? value) => this[key] = value ?? YScalar.Null();

    public YNode? this[string key]
    {
        get
        {
            foreach (var e in _entries)
            {
                if (e.Key == key)
                {
                    return e.Value;
                }
            }
            return null;
        }
        set
        {
            for (var i = 0; i < _entries.Count; i++)
            {
                if (_entries[i].Key == key)
                {
                    if (value is null)
                    {
                        _entries.RemoveAt(i);
                    }
                    else
                    {
                        _entries[i] = new(key, value);
                    }
                    return;
                }
            }
            if (value is not null)
            {
                _entries.Add(new(key, value));
            }
        }
    }

    public bool ContainsKey(string key) => _entries.Any(e => e.Key == key);

    public bool Remove(string key)
    {
        var i = _entries.FindIndex(e => e.Key == key);
        if (i < 0)
        {
            return false;
        }
        _entries.RemoveAt(i);
        return true;
    }

    /// <summary>Str returns the string value of key, or null when absent or YAML null.</summary>
    public string? Str(string key) => this[key] is YScalar { Kind: not ScalarKind.Null } s ? s.Text : null;

    /// <summary>Map returns the mapping under key, or null.</summary>
    public YMap? Map(string key) => this[key] as YMap;

    /// <summary>Seq returns the sequence under key, or null.</summary>
    public YSeq? Seq(string key) => this[key] as YSeq;

    /// <summary>GetOrAddMap returns the mapping under key, creating an empty one when absent.</summary>
    public YMap GetOrAddMap(string key)
    {
        if (this[key] is YMap m)
        {
            return m;
        }
        var created = new YMap();
        this[key] = created;
        return created;
    }

    public IEnumerator<KeyValuePair<string, YNode>> GetEnumerator() => _entries.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>MergeFrom deep-merges over into this map: nested mappings merge key by key, anything else
    /// (scalars, sequences) replaces the existing value with a copy.</summary>
    public void MergeFrom(YMap over)
    {
        foreach (var (k, v) in over._entries)
        {
            if (v is YMap vm && this[k] is YMap mine)
            {
                mine.MergeFrom(vm);
            }
            else
            {
                this[k] = Clone(v);
            }
        }
    }

    /// <summary>DeepClone copies the whole tree.</summary>
    public YMap DeepClone() => (YMap)Clone(this);

    public static YNode Clone(YNode n) => n switch
    {
        YMap m => CloneMap(m),
        YSeq s => new YSeq(s.Items.Select(Clone)),
        YScalar sc => new YScalar(sc.Kind, sc.Text, sc.QuotedInSource),
        _ => throw new InvalidOperationException("unknown node"),
    };

    private static YMap CloneMap(YMap m)
    {
        var c = new YMap();
        foreach (var e in m._entries)
        {
            c._entries.Add(new(e.Key, Clone(e.Value)));
        }
        return c;
    }
}
