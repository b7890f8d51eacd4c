using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kubeforge.Yaml;

/// <summary>YamlReader parses YAML text (one or many documents) into YNode trees, resolving plain
/// scalars with YAML 1.1 rules like kubeadm's reader. Syntax errors become <see cref="YamlFormatException"/>.</summary>
public static class YamlReader
{
    /// <summary>ReadAll returns every non-empty document of text.</summary>
    public static List<YNode> ReadAll(string text, string sourceName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new YamlFormatException($"{sourceName}: line {e.Start.Line}: {e.Message}", (int)e.Start.Line);
        }
        var docs = new List<YNode>();
        foreach (var d in stream.Documents)
        {
            if (d.RootNode is YamlScalarNode { Value: null or "" } && d.RootNode.Tag.IsEmpty)
            {
                continue;
            }
            docs.Add(Convert(d.RootNode, sourceName));
        }
        return docs;
    }

    /// <summary>Read parses exactly one document (an empty text gives an empty mapping).</summary>
    public static YNode Read(string text, string sourceName)
    {
        var docs = ReadAll(text, sourceName);
        return docs.Count switch
        {
            0 => new YMap(),
            1 => docs[0],
            _ => throw new YamlFormatException($"{sourceName}: expected one YAML document, found {docs.Count}", 1),
        };
    }

    private static YNode Convert(YamlNode node, string source)
    {
        var line = (int)node.Start.Line;
        var col = (int)node.Start.Column;
        switch (node)
        {
            case YamlMappingNode m:
            {
                var map = new YMap { Line = line, Column = col };
                foreach (var (k, v) in m.Children)
                {
                    if (k is not YamlScalarNode ks || ks.Value is null)
                    {
                        throw new YamlFormatException($"{source}: line {k.Start.Line}: mapping keys must be strings", (int)k.Start.Line);
                    }
                    if (map.ContainsKey(ks.Value))
                    {
                        throw new YamlFormatException($"{source}: line {k.Start.Line}: duplicate key \"{ks.Value}\"", (int)k.Start.Line);
                    }
                    map.Add(ks.Value, Convert(v, source));
                    map.KeyPositions[ks.Value] = ((int)k.Start.Line, (int)k.Start.Column);
                }
                return map;
            }
            case YamlSequenceNode s:
            {
                var seq = new YSeq { Line = line, Column = col };
                foreach (var c in s.Children)
                {
                    seq.Add(Convert(c, source));
                }
                return seq;
            }
            case YamlScalarNode sc:
            {
                var text = sc.Value ?? "";
                if (sc.Style is YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any && sc.Tag.IsEmpty)
                {
                    var kind = Yaml11.Resolve(text);
                    return new YScalar(kind, kind == ScalarKind.Null ? "null" : text) { Line = line, Column = col };
                }
                return new YScalar(ScalarKind.String, text, quotedInSource: true) { Line = line, Column = col };
            }
            default:
                throw new YamlFormatException($"{source}: line {line}: aliases are not supported", line);
        }
    }
}

/// <summary>YamlFormatException is a YAML syntax problem in a named input.</summary>
public sealed class YamlFormatException(string message, int line) : Exception(message)
{
    public int SourceLine { get; } = line;
}
