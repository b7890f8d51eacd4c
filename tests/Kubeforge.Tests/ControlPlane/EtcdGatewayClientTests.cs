using System.Net;
using System.Text;
using Kubeforge.ControlPlane;

namespace Kubeforge.Tests.ControlPlane;

/// <summary>EtcdGatewayClientTests check the v3 gateway requests (paths, JSON field names as etcd 3.4 answered them)
/// and the parsing of members, with a stub HTTP handler.</summary>
public sealed class EtcdGatewayClientTests
{
    private sealed class Stub(Func<HttpRequestMessage, string, (HttpStatusCode, string)> answer) : HttpMessageHandler
    {
        public List<(string Url, string Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(ct);
            Requests.Add((request.RequestUri!.ToString(), body));
            var (status, text) = answer(request, body);
            return new HttpResponseMessage(status) { Content = new StringContent(text, Encoding.UTF8, "application/json") };
        }
    }

    // recorded from etcd 3.4.23's gateway
    private const string AddAnswer = """
        {"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","raft_term":"2"},"member":{"ID":"8402335666106998939","peerURLs":["https://10.0.0.2:2380"],"isLearner":true},"members":[{"ID":"8402335666106998939","peerURLs":["https://10.0.0.2:2380"],"isLearner":true},{"ID":"10276657743932975437","name":"cp1","peerURLs":["https://10.0.0.1:2380"],"clientURLs":["https://10.0.0.1:2379"]}]}
        """;

    [Fact]
    public async Task AddListPromoteUseTheGatewayShapes()
    {
        var stub = new Stub((req, _) => req.RequestUri!.AbsolutePath switch
        {
            "/v3/cluster/member/add" => (HttpStatusCode.OK, AddAnswer),
            "/v3/cluster/member/promote" => (HttpStatusCode.BadRequest, """{"error":"etcdserver: can only promote a learner member which is in sync with leader","code":9}"""),
            _ => (HttpStatusCode.NotFound, "{}"),
        });
        using var client = new EtcdGatewayClient(["https://10.0.0.1:2379"], new HttpClient(stub));
        var (added, members) = await client.AddAsync("https://10.0.0.2:2380", learner: true);
        Assert.Equal(8402335666106998939UL, added.Id);
        Assert.True(added.IsLearner);
        Assert.Equal("", added.Name);
        Assert.Equal("cp1", members.Single(m => !m.IsLearner).Name);
        Assert.Equal("8e9e05c52164694d", members.Single(m => !m.IsLearner).HexId);
        Assert.Equal("""{"peerURLs":["https://10.0.0.2:2380"],"isLearner":true}""", stub.Requests[0].Body);

        var e = await Assert.ThrowsAsync<EtcdApiException>(() => client.PromoteAsync(added.Id));
        Assert.Contains("in sync with leader", e.Message);
        Assert.Equal("""{"ID":"8402335666106998939"}""", stub.Requests[1].Body);
        Assert.EndsWith("/v3/cluster/member/promote", stub.Requests[1].Url);
    }

    private sealed class SyncStub : HttpMessageHandler
    {
        public List<string> Hosts { get; } = [];

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken ct)
        {
            Hosts.Add(request.RequestUri!.Host);
            if (request.RequestUri.Host == "10.0.0.1") throw new HttpRequestException("Connection refused");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("""{"header":{"revision":"7"}}""", Encoding.UTF8, "application/json") };
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) => Task.FromResult(Send(request, ct));
    }

    [Fact]
    public void PostIsSynchronousAndSticksToTheEndpointThatAnswered()
    {
        var stub = new SyncStub();
        using var client = new EtcdGatewayClient(["https://10.0.0.1:2379", "https://10.0.0.2:2379"], new HttpClient(stub));
        Assert.Equal("7", (string?)client.Post("/v3/kv/range", "{}")["header"]!["revision"]);
        Assert.Equal("7", (string?)client.Post("/v3/kv/range", "{}")["header"]!["revision"]);
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.2"], stub.Hosts); // the down member is not retried first on every call
    }

    [Fact]
    public void AJoinIsFinishedOnlyForAStartedVotingMember()
    {
        const string peer = "https://10.0.0.2:2380";
        var first = new EtcdMember(1, "cp1", ["https://10.0.0.1:2380"], ["https://10.0.0.1:2379"], false);
        Assert.False(EtcdJoinPhase.Finished([first], peer)); // not added
        Assert.False(EtcdJoinPhase.Finished([first, new(2, "", [peer], [], true)], peer)); // added as learner, not started
        Assert.False(EtcdJoinPhase.Finished([first, new(2, "cp2", [peer], ["https://10.0.0.2:2379"], true)], peer)); // started, not promoted
        Assert.False(EtcdJoinPhase.Finished([first, new(2, "", [peer], [], false)], peer)); // voting, not started
        Assert.True(EtcdJoinPhase.Finished([first, new(2, "cp2", [peer], ["https://10.0.0.2:2379"], false)], peer));
    }
}
