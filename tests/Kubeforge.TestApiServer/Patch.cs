using System.Text.Json.Nodes;

namespace Kubeforge.TestApiServer;

/// <summary>Patch applies JSON merge patches (RFC 7386; strategic merge patches are treated the same) and JSON patches (RFC 6902).</summary>
public static class Patch
{
    /// <summary>MergePatch returns target with the merge patch applied (null members delete; objects merge; other values replace).</summary>
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p) return patch?.DeepClone();
        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (k, v) in p)
        {
            if (k.StartsWith("$", StringComparison.Ordinal)) continue; // strategic-merge directives are ignored
            if (v == null) result.Remove(k);
            else result[k] = MergePatch(result[k], v);
        }
        return result;
    }

    /// <summary>JsonPatch applies an RFC 6902 operation list (add, remove, replace, move, copy, test) and returns the result.</summary>
    public static JsonNode? JsonPatch(JsonNode? target, JsonArray ops)
    {
        var doc = new JsonObject { ["root"] = target?.DeepClone() };
        foreach (var opNode in ops)
        {
            if (opNode is not JsonObject op) throw ApiException.BadRequest("json patch: operation is not an object");
            var kind = (string?)op["op"];
            var path = (string?)op["path"] ?? throw ApiException.BadRequest("json patch: missing path");
            switch (kind)
            {
                case "add": Add(doc, path, op["value"]?.DeepClone()); break;
                case "remove": Remove(doc, path); break;
                case "replace": Remove(doc, path); Add(doc, path, op["value"]?.DeepClone()); break;
                case "move": { var v = Remove(doc, From(op)); Add(doc, path, v); break; }
                case "copy": Add(doc, path, Resolve(doc, From(op))?.DeepClone()); break;
                case "test":
                    if (!JsonNode.DeepEquals(Resolve(doc, path), op["value"]))
                        throw new ApiException(422, "Invalid", $"json patch: test operation failed at {path}");
                    break;
                default: throw ApiException.BadRequest($"json patch: unknown op {kind}");
            }
        }
        return doc["root"]?.DeepClone();
    }

    private static string From(JsonObject op) => (string?)op["from"] ?? throw ApiException.BadRequest("json patch: missing from");

    private static List<string> Tokens(string path)
    {
        if (path.Length > 0 && path[0] != '/') throw ApiException.BadRequest($"json patch: bad path {path}");
        var tokens = new List<string> { "root" };
        if (path.Length > 0)
            tokens.AddRange(path[1..].Split('/').Select(t => t.Replace("~1", "/").Replace("~0", "~")));
        return tokens;
    }

    private static (JsonNode Parent, string Last) Parent(JsonObject doc, string path)
    {
        var t = Tokens(path);
        JsonNode? cur = doc;
        foreach (var tok in t.Take(t.Count - 1)) cur = Child(cur, tok, path);
        return (cur!, t[^1]);
    }

    private static JsonNode Child(JsonNode? node, string tok, string path) => node switch
    {
        JsonObject o when o[tok] is { } c => c,
        JsonArray a when int.TryParse(tok, out var i) && i >= 0 && i < a.Count && a[i] is { } c => c,
        _ => throw new ApiException(422, "Invalid", $"json patch: path {path} does not exist"),
    };

    private static JsonNode? Resolve(JsonObject doc, string path)
    {
        var (parent, last) = Parent(doc, path);
        return parent is JsonObject o && o.ContainsKey(last) ? o[last] : Child(parent, last, path);
    }

    private static void Add(JsonObject doc, string path, JsonNode? value)
    {
        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o: o[last] = value; break;
            case JsonArray a when last == "-": a.Add(value); break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count: a.Insert(i, value); break;
            default: throw new ApiException(422, "Invalid", $"json patch: cannot add at {path}");
        }
    }

    private static JsonNode? Remove(JsonObject doc, string path)
    {
        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                var v = o[last];
                o.Remove(last);
                return v;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                var item = a[i];
                a.RemoveAt(i);
                return item;
            default: throw new ApiException(422, "Invalid", $"json patch: path {path} does not exist");
        }
    }
}
