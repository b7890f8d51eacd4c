using System.Net;
using System.Text.Json.Nodes;
using static Kubeforge.IntegrationTests.TestApiServer.ApiServerHarness;

namespace Kubeforge.IntegrationTests.TestApiServer;

public class RestTests
{
    private const string Cms = "/api/v1/namespaces/kube-system/configmaps";

    private static JsonObject ConfigMap(string name, string value, string? rv = null, JsonObject? labels = null)
    {
        var meta = new JsonObject { ["name"] = name };
        if (rv != null) meta["resourceVersion"] = rv;
        if (labels != null) meta["labels"] = labels;
        return new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = meta, ["data"] = new JsonObject { ["k"] = value },
        };
    }

    [Fact]
    public async Task CreateGetListDeleteWithStatusCodes()
    {
        await using var h = await StartAsync();
        var c = h.Admin();
        var (code, created) = await SendAsync(c, HttpMethod.Post, Cms, ConfigMap("a", "1", labels: new JsonObject { ["tier"] = "x" }));
        Assert.Equal(HttpStatusCode.Created, code);
        var meta = created!["metadata"]!;
        Assert.Equal("kube-system", (string?)meta["namespace"]);
        Assert.False(string.IsNullOrEmpty((string?)meta["uid"]));
        Assert.Matches(@"^\d+$", (string?)meta["resourceVersion"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", (string?)meta["creationTimestamp"]);
        Assert.Equal(1, (int)meta["generation"]!);

        (code, var dup) = await SendAsync(c, HttpMethod.Post, Cms, ConfigMap("a", "2"));
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal("AlreadyExists", (string?)dup!["reason"]);
        Assert.Equal("configmaps \"a\" already exists", (string?)dup["message"]);

        await SendAsync(c, HttpMethod.Post, Cms, ConfigMap("b", "2", labels: new JsonObject { ["tier"] = "y" }));
        (code, var list) = await GetAsync(c, Cms + "?labelSelector=tier%3Dx");
        Assert.Equal("ConfigMapList", (string?)list!["kind"]);
        Assert.Equal(new[] { "a" }, list["items"]!.AsArray().Select(i => (string)i!["metadata"]!["name"]!));
        (_, list) = await GetAsync(c, Cms + "?fieldSelector=metadata.name%3Db");
        Assert.Equal(new[] { "b" }, list!["items"]!.AsArray().Select(i => (string)i!["metadata"]!["name"]!));
        (_, list) = await GetAsync(c, "/api/v1/configmaps?labelSelector=tier");
        Assert.Equal(2, list!["items"]!.AsArray().Count);

        (code, var nf) = await GetAsync(c, Cms + "/missing");
        Assert.Equal(HttpStatusCode.NotFound, code);
        Assert.Equal("configmaps \"missing\" not found", (string?)nf!["message"]);
        Assert.Equal("NotFound", (string?)nf["reason"]);

        (code, var del) = await SendAsync(c, HttpMethod.Delete, Cms + "/a");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("Success", (string?)del!["status"]);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(c, Cms + "/a")).Code);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(c, HttpMethod.Delete, Cms + "/a")).Code);
        Assert.Null(h.Store.Get("configmaps", "kube-system", "a"));
        Assert.NotNull(h.Store.Get("configmaps", "kube-system", "b"));
    }

    [Fact]
    public async Task CreateInMissingNamespaceIsNotFoundAndResourceVersionZeroIsAccepted()
    {
        await using var h = await StartAsync();
        var c = h.Admin();
        var (code, body) = await SendAsync(c, HttpMethod.Post, "/api/v1/namespaces/nope/configmaps", ConfigMap("a", "1"));
        Assert.Equal(HttpStatusCode.NotFound, code);
        Assert.Equal("namespaces \"nope\" not found", (string?)body!["message"]);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(c, HttpMethod.Post, Cms, ConfigMap("z", "1", rv: "0"))).Code);
    }

    [Fact]
    public async Task UpdateHonoursResourceVersionPreconditions()
    {
        await using var h = await StartAsync();
        var c = h.Admin();
        var (_, created) = await SendAsync(c, HttpMethod.Post, Cms, ConfigMap("a", "1"));
        var rv1 = (string)created!["metadata"]!["resourceVersion"]!;

        var (code, updated) = await SendAsync(c, HttpMethod.Put, Cms + "/a", ConfigMap("a", "2", rv: rv1));
        Assert.Equal(HttpStatusCode.OK, code);
        var rv2 = (string)updated!["metadata"]!["resourceVersion"]!;
        Assert.NotEqual(rv1, rv2);
        Assert.Equal((string?)created["metadata"]!["uid"], (string?)updated["metadata"]!["uid"]);

        (code, var conflict) = await SendAsync(c, HttpMethod.Put, Cms + "/a", ConfigMap("a", "3", rv: rv1));
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal("Conflict", (string?)conflict!["reason"]);
        Assert.Contains("the object has been modified", (string?)conflict["message"]);

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(c, HttpMethod.Put, Cms + "/a", ConfigMap("a", "4"))).Code);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(c, HttpMethod.Put, Cms + "/a", ConfigMap("a", "5", rv: "0"))).Code);
        Assert.Equal("5", (string?)h.Store.Get("configmaps", "kube-system", "a")!["data"]!["k"]);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(c, HttpMethod.Put, Cms + "/zz", ConfigMap("zz", "1"))).Code);

        // A no-op update keeps the resourceVersion, as the real server does.
        var before = (string?)h.Store.Get("configmaps", "kube-system", "a")!["metadata"]!["resourceVersion"];
        var (_, same) = await SendAsync(c, HttpMethod.Put, Cms + "/a", ConfigMap("a", "5"));
        Assert.Equal(before, (string?)same!["metadata"]!["resourceVersion"]);
    }

    [Fact]
    public async Task MergeStrategicAndJsonPatches()
    {
        await using var h = await StartAsync();
        var c = h.Admin();
        await SendAsync(c, HttpMethod.Post, Cms, ConfigMap("a", "1"));
        var (code, body) = await SendAsync(c, HttpMethod.Patch, Cms + "/a",
            JsonNode.Parse("""{"data":{"k":null,"n":"2"},"metadata":{"labels":{"l":"v"}}}"""), "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Null(body!["data"]!["k"]);
        Assert.Equal("2", (string?)body["data"]!["n"]);
        Assert.Equal("v", (string?)body["metadata"]!["labels"]!["l"]);

        (code, body) = await SendAsync(c, HttpMethod.Patch, Cms + "/a",
            JsonNode.Parse("""{"data":{"s":"3"}}"""), "application/strategic-merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("3", (string?)body!["data"]!["s"]);

        (code, body) = await SendAsync(c, HttpMethod.Patch, Cms + "/a", JsonNode.Parse(
            """[{"op":"test","path":"/data/n","value":"2"},{"op":"replace","path":"/data/n","value":"4"},{"op":"add","path":"/metadata/labels/a~1b","value":"x"},{"op":"remove","path":"/data/s"}]"""),
            "application/json-patch+json");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("4", (string?)body!["data"]!["n"]);
        Assert.Equal("x", (string?)body["metadata"]!["labels"]!["a/b"]);
        Assert.False(body["data"]!.AsObject().ContainsKey("s"));

        (code, _) = await SendAsync(c, HttpMethod.Patch, Cms + "/a",
            JsonNode.Parse("""{"metadata":{"resourceVersion":"1"},"data":{"x":"y"}}"""), "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(c, HttpMethod.Patch, Cms + "/none",
            JsonNode.Parse("{}"), "application/merge-patch+json")).Code);
    }

    [Fact]
    public async Task NodeTaintsAreReplacedAsAWholeAndStatusIsKeptOnMainUpdate()
    {
        await using var h = await StartAsync();
        var c = h.Admin();
        var node = JsonNode.Parse("""{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"spec":{"taints":[{"key":"a","effect":"NoSchedule"},{"key":"b","effect":"NoSchedule"}]},"status":{"phase":"x"}}""");
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(c, HttpMethod.Post, "/api/v1/nodes", node)).Code);
        var (_, patched) = await SendAsync(c, HttpMethod.Patch, "/api/v1/nodes/n1",
            JsonNode.Parse("""{"spec":{"taints":[{"key":"c","effect":"NoSchedule"}]},"status":{"phase":"changed"}}"""),
            "application/strategic-merge-patch+json");
        Assert.Equal(new[] { "c" }, patched!["spec"]!["taints"]!.AsArray().Select(t => (string)t!["key"]!));
        Assert.Equal("x", (string?)patched["status"]!["phase"]);
        Assert.Equal(2, (int)patched["metadata"]!["generation"]!);
    }

    [Fact]
    public async Task DiscoveryAndVersion()
    {
        await using var h = await StartAsync(o => o.GitVersion = "v1.31.4");
        var c = h.Admin();
        var (_, v) = await GetAsync(c, "/version");
        Assert.Equal("v1.31.4", (string?)v!["gitVersion"]);
        Assert.Equal("31", (string?)v["minor"]);
        var (_, apis) = await GetAsync(c, "/apis");
        Assert.Contains("certificates.k8s.io", apis!["groups"]!.AsArray().Select(g => (string?)g!["name"]));
        var (_, core) = await GetAsync(c, "/api/v1");
        Assert.Contains("configmaps", core!["resources"]!.AsArray().Select(r => (string?)r!["name"]));
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(c, "/api/v1/widgets")).Code);
    }

    [Fact]
    public async Task SecretStringDataIsStoredAsBase64Data()
    {
        await using var h = await StartAsync();
        var c = h.Admin();
        var (code, body) = await SendAsync(c, HttpMethod.Post, "/api/v1/namespaces/kube-system/secrets",
            JsonNode.Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"a":"hello"}}"""));
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal("aGVsbG8=", (string?)body!["data"]!["a"]);
        Assert.Equal("Opaque", (string?)body["type"]);
        Assert.Null(body["stringData"]);
    }

    [Fact]
    public async Task InvalidNamesAndRoleRefChangesAreRejected()
    {
        await using var h = await StartAsync();
        var c = h.Admin();
        var (code, body) = await SendAsync(c, HttpMethod.Post, Cms, ConfigMap("Bad_Name", "1"));
        Assert.Equal((HttpStatusCode)422, code);
        Assert.Equal("Invalid", (string?)body!["reason"]);

        JsonObject Binding(string role) => new()
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRoleBinding",
            ["metadata"] = new JsonObject { ["name"] = "kubeadm:get-nodes" },
            ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = role },
            ["subjects"] = new JsonArray(),
        };
        const string crbs = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(c, HttpMethod.Post, crbs, Binding("kubeadm:get-nodes"))).Code);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(c, HttpMethod.Put, crbs + "/kubeadm:get-nodes", Binding("kubeadm:get-nodes"))).Code);
        (code, body) = await SendAsync(c, HttpMethod.Put, crbs + "/kubeadm:get-nodes", Binding("cluster-admin"));
        Assert.Equal((HttpStatusCode)422, code);
        Assert.Contains("cannot change roleRef", (string?)body!["message"]);
    }

    [Fact]
    public async Task WatchStreamsAddedModifiedDeletedForMatchingObjects()
    {
        await using var h = await StartAsync();
        var c = h.Admin();
        h.Store.Put(ConfigMap("other", "1").Also(o => o["metadata"]!["namespace"] = "kube-system"));
        using var resp = await c.GetAsync(Cms.TrimStart('/') + "?watch=true&fieldSelector=metadata.name%3Dw&timeoutSeconds=20",
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        h.Store.Create("configmaps", "kube-system", ConfigMap("w", "1"));
        h.Store.Mutate("configmaps", "kube-system", "other", o => { o["data"]!["k"] = "2"; return true; });
        h.Store.Mutate("configmaps", "kube-system", "w", o => { o["data"]!["k"] = "2"; return true; });
        h.Store.Delete("configmaps", "kube-system", "w");
        var types = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var ev = JsonNode.Parse((await reader.ReadLineAsync())!)!;
            Assert.Equal("w", (string?)ev["object"]!["metadata"]!["name"]);
            types.Add((string)ev["type"]!);
        }
        Assert.Equal(new[] { "ADDED", "MODIFIED", "DELETED" }, types);
    }
}

internal static class JsonTestExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
