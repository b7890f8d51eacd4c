using System.Text.Json.Nodes;

namespace Kubeforge.Yaml;

/// <summary>YJson converts YNode trees to and from System.Text.Json nodes (for API bodies and hashing).</summary>
public static class YJson
{
    /// <summary>ToJson converts a node; map keys keep their order.</summary>
    public static JsonNode? ToJson(YNode node) => node switch
    {
        YMap m => new JsonObject(m.Entries.Select(e => new KeyValuePair<string, JsonNode?>(e.Key, ToJson(e.Value)))),
        YSeq s => new JsonArray(s.Items.Select(ToJson).ToArray()),
        YScalar { Kind: ScalarKind.Null } => null,
        YScalar { Kind: ScalarKind.Bool } b => JsonValue.Create(b.Text == "true"),
        YScalar { Kind: ScalarKind.Int } i when long.TryParse(i.Text, out var l) => JsonValue.Create(l),
        YScalar { Kind: ScalarKind.Float } f when double.TryParse(f.Text, System.Globalization.CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
        YScalar s => JsonValue.Create(s.Text),
        _ => throw new InvalidOperationException("unknown node"),
    };

    /// <summary>FromJson converts a JSON node into a YNode tree.</summary>
    public static YNode FromJson(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return YScalar.Null();
            case JsonObject o:
            {
                var m = new YMap();
                foreach (var (k, v) in o)
                {
                    m.Add(k, FromJson(v));
                }
                return m;
            }
            case JsonArray a:
                return new YSeq(a.Select(FromJson));
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case System.Text.Json.JsonValueKind.String:
                        return YScalar.Str(v.GetValue<string>());
                    case System.Text.Json.JsonValueKind.True:
                        return YScalar.Bool(true);
                    case System.Text.Json.JsonValueKind.False:
                        return YScalar.Bool(false);
                    case System.Text.Json.JsonValueKind.Number:
                        var raw = v.ToJsonString();
                        return long.TryParse(raw, out var l) ? YScalar.Int(l) : new YScalar(ScalarKind.Float, raw);
                    default:
                        return YScalar.Null();
                }
            default:
                throw new InvalidOperationException("unknown JSON node");
        }
    }
}
