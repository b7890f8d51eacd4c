using System.Text;
using System.Text.Json.Nodes;
using Kubeforge.TestApiServer;

namespace Kubeforge.IntegrationTests.TestApiServer;

/// <summary>StorageTests cover the pure parts of the storage layer: the etcd key layout, gateway answer parsing, the
/// resourceVersion = revision mapping and the compare-and-swap retry of ObjectStore (no processes).</summary>
public class StorageTests
{
    [Fact]
    public void KeysFollowTheKubeApiserverRegistryLayout()
    {
        Assert.Equal("/registry/configmaps/kube-system/kubeadm-config", StorageKeys.Key("/registry", Resources.Get("configmaps"), "kube-system", "kubeadm-config"));
        Assert.Equal("/registry/configmaps/default/x", StorageKeys.Key("/registry", Resources.Get("configmaps"), null, "x"));
        Assert.Equal("/registry/namespaces/kube-system", StorageKeys.Key("/registry", Resources.Get("namespaces"), null, "kube-system"));
        Assert.Equal("/registry/minions/cp1", StorageKeys.Key("/registry", Resources.Get("nodes"), null, "cp1"));
        Assert.Equal("/registry/services/specs/default/kubernetes", StorageKeys.Key("/registry", Resources.Get("services"), "default", "kubernetes"));
        Assert.Equal("/registry/services/endpoints/default/kubernetes", StorageKeys.Key("/registry", Resources.Get("endpoints"), "default", "kubernetes"));
        Assert.Equal("/registry/clusterrolebindings/kubeadm:kubelet-bootstrap",
            StorageKeys.Key("/registry/", Resources.Get("clusterrolebindings"), "ignored", "kubeadm:kubelet-bootstrap"));
        Assert.Equal("/other/secrets/", StorageKeys.Prefix("/other", Resources.Get("secrets"), null));
        Assert.Equal("/registry/secrets/kube/", StorageKeys.Prefix("/registry", Resources.Get("secrets"), "kube")); // not kube-system
        Assert.Equal("/registry/minions/", StorageKeys.Prefix("/registry", Resources.Get("nodes"), "default"));
    }

    [Fact]
    public void RangeEndIncrementsTheLastByteThatCan()
    {
        Assert.Equal("/registry0"u8.ToArray(), StorageKeys.RangeEnd("/registry/"u8.ToArray()));
        Assert.Equal(new byte[] { 0x62 }, StorageKeys.RangeEnd([0x61, 0xff]));
        Assert.Equal(new byte[] { 0 }, StorageKeys.RangeEnd([0xff, 0xff]));
    }

    [Fact]
    public void GatewayAnswersMapToRevisions()
    {
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
        var resp = (JsonObject)JsonNode.Parse($$"""
            {"header":{"cluster_id":"1","member_id":"2","revision":"57","raft_term":"3"},
             "kvs":[{"key":"{{B64("/registry/configmaps/default/a")}}","create_revision":"40","mod_revision":"55","version":"3",
                     "value":"{{B64("{\"metadata\":{\"name\":\"a\"}}")}}"}],"count":"1"}
            """)!;
        var item = Assert.Single(EtcdBackend.Items(resp));
        Assert.Equal("/registry/configmaps/default/a", item.Key);
        Assert.Equal(55, item.ModRevision);
        Assert.Equal("a", (string?)item.Object["metadata"]!["name"]);
        Assert.Equal(57, EtcdBackend.HeaderRevision(resp));
        Assert.Empty(EtcdBackend.Items((JsonObject)JsonNode.Parse("""{"header":{"revision":"9"}}""")!)); // no kvs: absent
    }

    private static JsonObject Cm(string name, string value) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" }, ["data"] = new JsonObject { ["k"] = value },
    };

    [Fact]
    public void ResourceVersionIsTheModRevisionAndIsNotStored()
    {
        var backend = new MemoryBackend();
        using var store = new ObjectStore(backend);
        store.Create("namespaces", null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "default" } });
        var created = store.Create("configmaps", "default", Cm("a", "1"));
        var stored = backend.Get("/registry/configmaps/default/a")!;
        Assert.Equal(ObjectStore.Rv(stored.ModRevision), (string?)created["metadata"]!["resourceVersion"]);
        Assert.Null(stored.Object["metadata"]!["resourceVersion"]);
        Assert.Equal(stored.ModRevision, store.ResourceVersion);

        var same = store.Update("configmaps", "default", created); // no change: no write, same resourceVersion
        Assert.Equal((string?)created["metadata"]!["resourceVersion"], (string?)same["metadata"]!["resourceVersion"]);
        Assert.Equal(stored.ModRevision, backend.Revision);

        var changed = store.Update("configmaps", "default", Cm("a", "2"));
        Assert.Equal(ObjectStore.Rv(backend.Revision), (string?)changed["metadata"]!["resourceVersion"]);
        var e = Assert.Throws<ApiException>(() => store.Update("configmaps", "default", created)); // stale resourceVersion
        Assert.Equal("Conflict", e.Reason);
        var list = store.List("configmaps", "default", out var listRv);
        Assert.Equal(backend.Revision, listRv);
        Assert.Equal("2", (string?)Assert.Single(list)["data"]!["k"]);
    }

    /// <summary>RacingBackend lets another writer change a key between the store's read and its first compare-and-swap.</summary>
    private sealed class RacingBackend(MemoryBackend inner, Action<MemoryBackend> competitor) : IStorageBackend
    {
        public int LostRaces;
        private bool raced;
        public StoredObject? Get(string key) => inner.Get(key);
        public (IReadOnlyList<StoredObject> Items, long Revision) List(string prefix) => inner.List(prefix);
        public long? Create(string key, JsonObject value) => inner.Create(key, value);
        public long? Update(string key, JsonObject value, long modRevision)
        {
            if (!raced) { raced = true; competitor(inner); }
            var rev = inner.Update(key, value, modRevision);
            if (rev == null) LostRaces++;
            return rev;
        }
        public long? Delete(string key, long modRevision) => inner.Delete(key, modRevision);
        public long Revision => inner.Revision;
        public void Dispose() { }
    }

    [Fact]
    public void LostRacesAreRetriedWithoutResourceVersionAndConflictWithOne()
    {
        RacingBackend Racing(out ObjectStore store)
        {
            var inner = new MemoryBackend();
            var seed = new ObjectStore(inner);
            seed.Create("namespaces", null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "default" } });
            seed.Create("configmaps", "default", Cm("a", "0"));
            var racing = new RacingBackend(inner, b => new ObjectStore(b).Mutate("configmaps", "default", "a", o =>
            {
                o["metadata"]!["labels"] = new JsonObject { ["other"] = "writer" };
                return true;
            }));
            store = new ObjectStore(racing);
            return racing;
        }

        var racing = Racing(out var store);
        var mutated = store.Mutate("configmaps", "default", "a", o => { o["data"]!["k"] = "mine"; return true; })!;
        Assert.Equal(1, racing.LostRaces);
        Assert.Equal("mine", (string?)mutated["data"]!["k"]); // re-applied on the fresh object: both writes kept
        Assert.Equal("writer", (string?)mutated["metadata"]!["labels"]!["other"]);

        racing = Racing(out store);
        var current = store.Get("configmaps", "default", "a")!;
        current["data"]!["k"] = "pinned";
        var e = Assert.Throws<ApiException>(() => store.Update("configmaps", "default", current));
        Assert.Equal(409, e.Code);
        Assert.Equal("Conflict", e.Reason);
        Assert.Equal("0", (string?)store.Get("configmaps", "default", "a")!["data"]!["k"]);
    }

    [Fact]
    public void FromArgsReadsTheEtcdFlagsOfKubeadmsManifest()
    {
        string[] common = ["kube-apiserver", "--tls-cert-file=/p/apiserver.crt", "--tls-private-key-file=/p/apiserver.key"];
        var o = TestApiServerOptions.FromArgs([.. common, "--etcd-servers=https://10.0.0.1:2379,https://10.0.0.2:2379",
            "--etcd-cafile=/p/etcd/ca.crt", "--etcd-certfile=/p/apiserver-etcd-client.crt", "--etcd-keyfile=/p/apiserver-etcd-client.key"]);
        Assert.Equal(["https://10.0.0.1:2379", "https://10.0.0.2:2379"], o.EtcdServers);
        Assert.Equal("/p/etcd/ca.crt", o.EtcdCaFile);
        Assert.Equal("/p/apiserver-etcd-client.crt", o.EtcdCertFile);
        Assert.Equal("/p/apiserver-etcd-client.key", o.EtcdKeyFile);
        Assert.Equal("/registry", o.EtcdPrefix);
        Assert.Equal("/other", TestApiServerOptions.FromArgs([.. common, "--etcd-prefix=/other"]).EtcdPrefix);
        Assert.Empty(TestApiServerOptions.FromArgs([.. common, "--etcd-servers=https://127.0.0.1:2379"]).EtcdServers); // no client cert: in memory
        var e = Assert.Throws<ArgumentException>(() => TestApiServerOptions.FromArgs([.. common, "--etcd-servers=https://127.0.0.1:2379",
            "--etcd-certfile=/c", "--etcd-keyfile=/k"]));
        Assert.Contains("--etcd-cafile", e.Message);
    }
}
