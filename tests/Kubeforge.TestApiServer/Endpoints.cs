using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Kubeforge.TestApiServer;

/// <summary>ApiHandler is the HTTP front end: authentication, authorization, discovery, health and the generic REST verbs.</summary>
public sealed class ApiHandler(TestApiServerOptions options, ObjectStore store, Authenticator authn, RbacAuthorizer authz,
    Func<string> advertisedEndpoint, CancellationToken stopping)
{
    private static readonly JsonSerializerOptions JsonOut = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] HealthPaths = ["/healthz", "/livez", "/readyz"];

    private static readonly Dictionary<string, string[]> ShortNames = new()
    {
        ["namespaces"] = ["ns"], ["configmaps"] = ["cm"], ["serviceaccounts"] = ["sa"], ["services"] = ["svc"],
        ["nodes"] = ["no"], ["pods"] = ["po"], ["endpoints"] = ["ep"], ["events"] = ["ev"], ["deployments"] = ["deploy"],
        ["daemonsets"] = ["ds"], ["certificatesigningrequests"] = ["csr"],
    };

    /// <summary>HandleAsync serves one request.</summary>
    public async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            var cert = await ctx.Connection.GetClientCertificateAsync(ctx.RequestAborted);
            var user = authn.Authenticate(cert, ctx.Request.Headers.Authorization.ToString());
            if (user == null || (user == UserInfo.Anonymous && !options.AnonymousAuth))
                throw new ApiException(401, "Unauthorized", "Unauthorized");
            var path = ctx.Request.Path.Value ?? "/";
            var method = ctx.Request.Method.ToUpperInvariant();
            var req = ParseResourcePath(path);
            if (req == null)
            {
                var attrs = RequestAttributes.NonResource(method.ToLowerInvariant(), path);
                if (!authz.Authorize(user, attrs)) throw Forbidden(attrs, user);
                await NonResourceAsync(ctx, path);
                return;
            }
            var verb = Verb(method, req.Value.Name != null, ctx.Request.Query["watch"] == "true" || ctx.Request.Query["watch"] == "1");
            var (group, version, plural, ns, name, sub) = req.Value;
            var a = new RequestAttributes(verb, group, plural, sub, ns, name);
            if (!authz.Authorize(user, a)) throw Forbidden(a, user);
            if (group == "authentication.k8s.io" && plural == "selfsubjectreviews" && verb == "create" && name == null)
            {
                ctx.Response.StatusCode = 201;
                await WriteAsync(ctx, SelfSubjectReview(user, version));
                return;
            }
            var r = Resources.Find(group, version, plural);
            if (r == null || (sub != null && !r.Subresources.Contains(sub)) || (ns != null && !r.Namespaced))
                throw new ApiException(404, "NotFound", "the server could not find the requested resource");
            if (verb == "watch" && sub == null) { await WatchAsync(ctx, r, ns); return; }
            await WriteAsync(ctx, await ResourceAsync(ctx, r, verb, ns, name, sub, user));
        }
        catch (ApiException e)
        {
            await WriteAsync(ctx, e.ToStatus(), e.Code);
        }
        catch (JsonException e)
        {
            await WriteAsync(ctx, ApiException.BadRequest($"invalid JSON body: {e.Message}").ToStatus(), 400);
        }
        catch (Exception e) when (e is not OperationCanceledException && !ctx.Response.HasStarted)
        {
            Console.Error.WriteLine($"test-apiserver: {ctx.Request.Method} {ctx.Request.Path}: {e}");
            await WriteAsync(ctx, new ApiException(500, "InternalError", $"Internal error occurred: {e.Message}").ToStatus(), 500);
        }
    }

    // SelfSubjectReview answers `kubectl auth whoami` with the authenticated identity.
    private static JsonObject SelfSubjectReview(UserInfo user, string version) => new()
    {
        ["kind"] = "SelfSubjectReview", ["apiVersion"] = "authentication.k8s.io/" + version,
        ["metadata"] = new JsonObject(),
        ["status"] = new JsonObject
        {
            ["userInfo"] = new JsonObject
            {
                ["username"] = user.Name,
                ["groups"] = new JsonArray(user.Groups.Select(g => (JsonNode)JsonValue.Create(g)).ToArray()),
            },
        },
    };

    private static ApiException Forbidden(RequestAttributes a, UserInfo user)
    {
        var details = new JsonObject();
        if (a.Name != null) details["name"] = a.Name;
        if (a.Group.Length > 0) details["group"] = a.Group;
        if (a.IsResourceRequest) details["kind"] = a.Resource;
        return new ApiException(403, "Forbidden", a.ForbiddenMessage(user), details);
    }

    private static string Verb(string method, bool named, bool watch) => method switch
    {
        "GET" or "HEAD" => named ? "get" : watch ? "watch" : "list",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => named ? "delete" : "deletecollection",
        _ => method.ToLowerInvariant(),
    };

    // ParseResourcePath splits /api/v1/... and /apis/{g}/{v}/... into request parts; null for non-resource paths.
    private static (string Group, string Version, string Plural, string? Ns, string? Name, string? Sub)? ParseResourcePath(string path)
    {
        var s = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        int rest;
        string group, version;
        if (s.Length >= 3 && s[0] == "api") { group = ""; version = s[1]; rest = 2; }
        else if (s.Length >= 4 && s[0] == "apis") { group = s[1]; version = s[2]; rest = 3; }
        else return null;
        var p = s[rest..];
        string? ns = null;
        if (p.Length >= 3 && p[0] == "namespaces" && p[2] != "status" && p[2] != "finalize") { ns = p[1]; p = p[2..]; }
        if (p.Length > 3) return (group, version, "", ns, null, null);
        return (group, version, p[0], ns, p.Length > 1 ? p[1] : null, p.Length > 2 ? p[2] : null);
    }

    private async Task<JsonNode> ResourceAsync(HttpContext ctx, ResourceInfo r, string verb, string? ns, string? name,
        string? sub, UserInfo user)
    {
        switch (verb)
        {
            case "get":
                return store.Get(r.Plural, ns, name!) is { } o ? o : throw ApiException.NotFound(r, name!);
            case "list":
                return List(r, ns, ctx.Request.Query["labelSelector"].ToString(), ctx.Request.Query["fieldSelector"].ToString());
            case "create":
            {
                if (sub != null) throw new ApiException(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
                var body = await ReadObjectAsync(ctx);
                var rv = (string?)body["metadata"]?["resourceVersion"];
                if (!string.IsNullOrEmpty(rv) && rv != "0")
                    throw new ApiException(500, "InternalError", "resourceVersion should not be set on objects to be created");
                body["metadata"]?.AsObject().Remove("resourceVersion");
                if (r.Kind == "CertificateSigningRequest") PrepareCsr(body, user);
                ctx.Response.StatusCode = 201;
                return store.Create(r.Plural, ns, body);
            }
            case "update":
            {
                var body = await ReadObjectAsync(ctx);
                var meta = body["metadata"] as JsonObject ?? new JsonObject();
                body["metadata"] = meta;
                var bodyName = (string?)meta["name"];
                if (string.IsNullOrEmpty(bodyName)) meta["name"] = name;
                else if (bodyName != name) throw ApiException.BadRequest("the name of the object (" + bodyName +
                    ") does not match the name on the URL (" + name + ")");
                return store.Update(r.Plural, ns, body, sub);
            }
            case "patch":
            {
                var text = await ReadTextAsync(ctx);
                var type = (ctx.Request.ContentType ?? "").Split(';')[0].Trim();
                if (type is not ("application/json-patch+json" or "application/merge-patch+json" or "application/strategic-merge-patch+json"))
                    throw new ApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json");
                var pinned = JsonNode.Parse(text) switch // the patch itself sets a resourceVersion: a lost race is a 409
                {
                    JsonObject p => p["metadata"]?["resourceVersion"] is JsonValue,
                    JsonArray a => a.OfType<JsonObject>().Any(op => (string?)op["path"] == "/metadata/resourceVersion"),
                    _ => false,
                };
                // like the apiserver's GuaranteedUpdate: a patch without resourceVersion is re-applied to the fresh object when
                // another writer (here or on another instance sharing etcd) wins the race
                for (var attempt = 0; ; attempt++)
                {
                    var current = store.Get(r.Plural, ns, name!) ?? throw ApiException.NotFound(r, name!);
                    var patched = type == "application/json-patch+json"
                        ? Patch.JsonPatch(current, JsonNode.Parse(text) as JsonArray ?? throw ApiException.BadRequest("json patch must be an array"))
                        : Patch.MergePatch(current, JsonNode.Parse(text));
                    if (patched is not JsonObject obj) throw ApiException.BadRequest("patch did not produce an object");
                    var meta = obj["metadata"] as JsonObject ?? new JsonObject();
                    obj["metadata"] = meta;
                    var currentRv = (string?)current["metadata"]!["resourceVersion"];
                    var rv = (string?)meta["resourceVersion"];
                    if (!string.IsNullOrEmpty(rv) && rv != currentRv) throw ApiException.Conflict(r, name!);
                    meta["name"] = name;
                    meta["resourceVersion"] = currentRv;
                    try { return store.Update(r.Plural, ns, obj, sub); }
                    catch (ApiException e) when (e.Reason == "Conflict" && !pinned && attempt < 20) { }
                }
            }
            case "delete":
            {
                var old = store.Delete(r.Plural, ns, name!);
                var details = ApiException.Details(r, name);
                details["uid"] = old["metadata"]?["uid"]?.DeepClone();
                return new JsonObject
                {
                    ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success",
                    ["details"] = details,
                };
            }
            case "deletecollection":
            {
                var list = List(r, ns, ctx.Request.Query["labelSelector"].ToString(), ctx.Request.Query["fieldSelector"].ToString());
                foreach (var item in ((JsonArray)list["items"]!).OfType<JsonObject>())
                    store.Delete(r.Plural, (string?)item["metadata"]!["namespace"], (string)item["metadata"]!["name"]!);
                return list;
            }
            default:
                throw new ApiException(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }
    }

    // WatchAsync streams watch events (one JSON object per line) until timeoutSeconds, client disconnect or server stop.
    // Without a resourceVersion (or "0") existing objects come first as ADDED; with one, objects newer than it come as
    // MODIFIED (no event history is kept).
    private async Task WatchAsync(HttpContext ctx, ResourceInfo r, string? ns)
    {
        var q = ctx.Request.Query;
        string labels = q["labelSelector"].ToString(), fields = q["fieldSelector"].ToString();
        bool Match(JsonObject o) => Selectors.MatchLabels(o, labels) && Selectors.MatchFields(o, fields);
        var channel = System.Threading.Channels.Channel.CreateUnbounded<StoreEvent>();
        void OnChange(StoreEvent e)
        {
            if (e.Resource.Plural == r.Plural && (ns == null || e.Namespace == ns)) channel.Writer.TryWrite(e);
        }
        store.Changed += OnChange;
        try
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            var rv = q["resourceVersion"].ToString();
            var since = long.TryParse(rv, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : -1;
            foreach (var o in store.List(r.Plural, ns).Where(Match))
            {
                var orv = long.Parse((string)o["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture);
                if (since < 0) await Event("ADDED", o);
                else if (orv > since) await Event("MODIFIED", o);
            }
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            var timeout = int.TryParse(q["timeoutSeconds"], out var t) && t > 0 ? t : 1800;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
            cts.CancelAfter(TimeSpan.FromSeconds(timeout));
            await foreach (var e in channel.Reader.ReadAllAsync(cts.Token))
                if (Match(e.Object)) await Event(e.Type, e.Object);
        }
        catch (OperationCanceledException) { }
        finally { store.Changed -= OnChange; }

        async Task Event(string type, JsonObject o)
        {
            var line = new JsonObject { ["type"] = type, ["object"] = o.DeepClone() }.ToJsonString(JsonOut) + "\n";
            await ctx.Response.WriteAsync(line, ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
    }

    // PrepareCsr mirrors the CSR strategy: the requester's identity is recorded and status is cleared.
    private static void PrepareCsr(JsonObject body, UserInfo user)
    {
        var spec = body["spec"] as JsonObject ?? new JsonObject();
        body["spec"] = spec;
        spec["username"] = user.Name;
        spec["groups"] = new JsonArray(user.Groups.Select(g => (JsonNode)JsonValue.Create(g)).ToArray());
        spec.Remove("uid");
        spec.Remove("extra");
        body["status"] = new JsonObject();
    }

    private JsonObject List(ResourceInfo r, string? ns, string labelSelector, string fieldSelector)
    {
        var items = new JsonArray();
        var all = store.List(r.Plural, ns, out var revision);
        foreach (var o in all)
        {
            if (!Selectors.MatchLabels(o, labelSelector) || !Selectors.MatchFields(o, fieldSelector)) continue;
            o.Remove("kind");
            o.Remove("apiVersion");
            items.Add(o);
        }
        return new JsonObject
        {
            ["kind"] = r.Kind + "List", ["apiVersion"] = r.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = ObjectStore.Rv(revision) },
            ["items"] = items,
        };
    }

    private async Task NonResourceAsync(HttpContext ctx, string path)
    {
        var p = path.TrimEnd('/');
        if (HealthPaths.Any(h => p == h || p.StartsWith(h + "/", StringComparison.Ordinal)))
        {
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync("ok");
            return;
        }
        JsonNode body = p switch
        {
            "/version" => VersionInfo(),
            "/api" => new JsonObject
            {
                ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1"),
                ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject
                    { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = advertisedEndpoint() }),
            },
            "/apis" => new JsonObject
            {
                ["kind"] = "APIGroupList", ["apiVersion"] = "v1",
                ["groups"] = new JsonArray(Resources.All.Where(r => r.Group.Length > 0).Select(r => r.Group).Distinct()
                    .Select(g => (JsonNode)Group(g)).ToArray()),
            },
            "/api/v1" => ResourceList("", "v1"),
            _ when p.StartsWith("/apis/", StringComparison.Ordinal) && p.Split('/').Length == 3 &&
                   Resources.All.Any(r => r.Group == p.Split('/')[2]) => Group(p.Split('/')[2]),
            _ when p.StartsWith("/apis/", StringComparison.Ordinal) && p.Split('/').Length == 4 &&
                   Resources.All.Any(r => r.Group == p.Split('/')[2] && r.Version == p.Split('/')[3]) =>
                ResourceList(p.Split('/')[2], p.Split('/')[3]),
            _ => throw new ApiException(404, "NotFound", "the server could not find the requested resource"),
        };
        await WriteAsync(ctx, body);
    }

    private JsonObject VersionInfo()
    {
        var v = options.GitVersion.TrimStart('v').Split('.', '-', '+');
        return new JsonObject
        {
            ["major"] = v.ElementAtOrDefault(0) ?? "1", ["minor"] = v.ElementAtOrDefault(1) ?? "0",
            ["emulationMajor"] = v.ElementAtOrDefault(0) ?? "1", ["emulationMinor"] = v.ElementAtOrDefault(1) ?? "0",
            ["gitVersion"] = options.GitVersion, ["gitCommit"] = "0000000000000000000000000000000000000000",
            ["gitTreeState"] = "clean", ["buildDate"] = "2025-01-01T00:00:00Z", ["goVersion"] = "go1.25.0",
            ["compiler"] = "gc", ["platform"] = "linux/amd64",
        };
    }

    private static JsonObject Group(string g)
    {
        var gv = new JsonObject { ["groupVersion"] = g + "/v1", ["version"] = "v1" };
        return new JsonObject
        {
            ["kind"] = "APIGroup", ["apiVersion"] = "v1", ["name"] = g, ["versions"] = new JsonArray(gv),
            ["preferredVersion"] = gv.DeepClone(),
        };
    }

    private static JsonObject ResourceList(string group, string version)
    {
        var list = new JsonArray();
        foreach (var r in Resources.All.Where(r => r.Group == group && r.Version == version))
        {
            var entry = new JsonObject
            {
                ["name"] = r.Plural, ["singularName"] = r.Singular, ["namespaced"] = r.Namespaced, ["kind"] = r.Kind,
                ["verbs"] = new JsonArray("create", "delete", "deletecollection", "get", "list", "patch", "update"),
            };
            if (ShortNames.TryGetValue(r.Plural, out var shorts))
                entry["shortNames"] = new JsonArray(shorts.Select(x => (JsonNode)JsonValue.Create(x)).ToArray());
            list.Add(entry);
            foreach (var sub in r.Subresources)
                list.Add(new JsonObject
                {
                    ["name"] = $"{r.Plural}/{sub}", ["singularName"] = "", ["namespaced"] = r.Namespaced, ["kind"] = r.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList", ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}", ["resources"] = list,
        };
    }

    private static async Task<string> ReadTextAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ctx.RequestAborted);
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpContext ctx)
    {
        var type = (ctx.Request.ContentType ?? "application/json").Split(';')[0].Trim();
        if (type != "application/json" && type != "*/*")
            throw new ApiException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json");
        return JsonNode.Parse(await ReadTextAsync(ctx)) as JsonObject ?? throw ApiException.BadRequest("request body must be a JSON object");
    }

    private static async Task WriteAsync(HttpContext ctx, JsonNode body, int? code = null)
    {
        if (code != null) ctx.Response.StatusCode = code.Value;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString(JsonOut), ctx.RequestAborted);
    }
}

/// <summary>Selectors evaluates label selectors (=, ==, !=, exists, !exists, in, notin) and field selectors (dotted paths).</summary>
public static class Selectors
{
    /// <summary>MatchLabels tells whether the object's metadata.labels satisfy the selector (empty matches all).</summary>
    public static bool MatchLabels(JsonObject obj, string selector)
    {
        var labels = obj["metadata"]?["labels"] as JsonObject;
        string? Label(string k) => labels != null && labels.TryGetPropertyValue(k, out var v) ? (string?)v : null;
        foreach (var raw in SplitTerms(selector))
        {
            var term = raw.Trim();
            if (term.Length == 0) continue;
            var words = term.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (words.Length == 2 && (words[1].StartsWith("in ", StringComparison.Ordinal) || words[1].StartsWith("notin ", StringComparison.Ordinal)))
            {
                var notIn = words[1].StartsWith("notin", StringComparison.Ordinal);
                var set = words[1][(words[1].IndexOf('(') + 1)..words[1].LastIndexOf(')')].Split(',').Select(x => x.Trim()).ToHashSet();
                var val = Label(words[0]);
                if (notIn ? val != null && set.Contains(val) : val == null || !set.Contains(val)) return false;
            }
            else if (term.StartsWith('!')) { if (Label(term[1..].Trim()) != null) return false; }
            else if (term.Contains("!=")) { var (k, v) = Split(term, "!="); if (Label(k) == v) return false; }
            else if (term.Contains("==")) { var (k, v) = Split(term, "=="); if (Label(k) != v) return false; }
            else if (term.Contains('=')) { var (k, v) = Split(term, "="); if (Label(k) != v) return false; }
            else if (Label(term) == null) return false;
        }
        return true;
    }

    /// <summary>MatchFields tells whether the object satisfies a field selector such as `metadata.name=x,spec.nodeName!=y`.</summary>
    public static bool MatchFields(JsonObject obj, string selector)
    {
        foreach (var raw in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var neg = raw.Contains("!=");
            var (k, v) = Split(raw, neg ? "!=" : raw.Contains("==") ? "==" : "=");
            JsonNode? cur = obj;
            foreach (var part in k.Split('.')) cur = cur is JsonObject o ? o[part] : null;
            var actual = cur is JsonValue jv ? jv.ToString() : "";
            if ((actual == v) == neg) return false;
        }
        return true;
    }

    private static (string, string) Split(string term, string op)
    {
        var i = term.IndexOf(op, StringComparison.Ordinal);
        return (term[..i].Trim(), term[(i + op.Length)..].Trim());
    }

    // SplitTerms splits on commas outside parentheses.
    private static IEnumerable<string> SplitTerms(string s)
    {
        int depth = 0, start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '(') depth++;
            else if (s[i] == ')') depth--;
            else if (s[i] == ',' && depth == 0) { yield return s[start..i]; start = i + 1; }
        }
        yield return s[start..];
    }
}
