using System.Text.Json.Nodes;

namespace Kubeforge.LeaderElection.Tests;

public class ConfigAndFormatTests
{
    private static LeaderElectionConfig Config(double lease, double renew, double retry, string identity = "me", bool callbacks = true) => new()
    {
        Lock = new LeaseLock(new NoClient(), "kube-system", "x", identity),
        LeaseDuration = TimeSpan.FromSeconds(lease), RenewDeadline = TimeSpan.FromSeconds(renew), RetryPeriod = TimeSpan.FromSeconds(retry),
        Callbacks = callbacks
            ? new LeaderCallbacks { OnStartedLeading = _ => Task.CompletedTask, OnStoppedLeading = () => { } }
            : new LeaderCallbacks { OnStoppedLeading = () => { } },
    };

    [Theory]
    [InlineData(10, 10, 2, "leaseDuration must be greater than renewDeadline")]
    [InlineData(9, 10, 2, "leaseDuration must be greater than renewDeadline")]
    [InlineData(15, 2.4, 2, "renewDeadline must be greater than retryPeriod*JitterFactor")]
    [InlineData(15, 2.3, 2, "renewDeadline must be greater than retryPeriod*JitterFactor")]
    [InlineData(15, 10, 0, "retryPeriod must be greater than zero")]
    [InlineData(15, 10, -1, "retryPeriod must be greater than zero")]
    [InlineData(0.9, 0.5, 0.1, "leaseDuration must be at least 1s")]
    public void InvalidTimingsAreRefusedNamingTheRule(double lease, double renew, double retry, string rule)
    {
        var e = Assert.Throws<ArgumentException>(() => new LeaderElector(Config(lease, renew, retry)));
        Assert.Contains(rule, e.Message);
    }

    [Fact]
    public void EmptyIdentityAndMissingCallbacksAreRefused()
    {
        Assert.Contains("Lock identity is empty", Assert.Throws<ArgumentException>(() => new LeaderElector(Config(15, 10, 2, ""))).Message);
        Assert.Contains("OnStartedLeading", Assert.Throws<ArgumentException>(() => new LeaderElector(Config(15, 10, 2, callbacks: false))).Message);
    }

    [Theory]
    [InlineData(15, 10, 2)]
    [InlineData(2, 1.5, 0.4)]
    [InlineData(15, 2.41, 2)]
    public void ValidTimingsAreAccepted(double lease, double renew, double retry) => _ = new LeaderElector(Config(lease, renew, retry));

    [Fact]
    public void RandomConfigsAreRefusedExactlyWhenClientGoRefusesThem()
    {
        var rng = new Random(42);
        for (var i = 0; i < 5000; i++)
        {
            double lease = rng.Next(-2, 40) / 2.0, renew = rng.Next(-2, 40) / 2.0, retry = rng.Next(-2, 20) / 4.0;
            var ok = lease > renew && renew > 1.2 * retry && lease > 0 && renew > 0 && retry > 0 && lease >= 1;
            var threw = false;
            try { _ = new LeaderElector(Config(lease, renew, retry)); }
            catch (ArgumentException) { threw = true; }
            Assert.True(ok != threw, $"lease {lease} renew {renew} retry {retry}: valid={ok} threw={threw}");
        }
    }

    [Fact]
    public void LeaseObjectHasClientGoFieldNamesAndSixDigitMicroTime()
    {
        var t = new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero); // zero sub-second ticks: the C# client would write "…00Z"
        var r = new LeaderElectionRecord("cp-1_abc", 15, t, t.AddTicks(6543219), 3);
        var json = LeaseJson.ToLease("kube-system", "kube-scheduler", r, "42").ToJsonString();
        Assert.Equal("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"kube-scheduler\",\"namespace\":\"kube-system\"," +
                     "\"resourceVersion\":\"42\"},\"spec\":{\"holderIdentity\":\"cp-1_abc\",\"leaseDurationSeconds\":15," +
                     "\"acquireTime\":\"2024-01-01T10:00:00.000000Z\",\"renewTime\":\"2024-01-01T10:00:00.654321Z\",\"leaseTransitions\":3}}", json);
        Assert.Equal(r with { RenewTime = t.AddTicks(6543210) }, LeaseJson.ReadRecord((JsonObject)JsonNode.Parse(json)!));
    }

    [Fact]
    public void ReleasedRecordKeepsAnEmptyHolderOnTheWire()
    {
        var t = DateTimeOffset.UnixEpoch;
        var spec = LeaseJson.Spec(new LeaderElectionRecord("", 1, t, t, 7));
        Assert.Equal("{\"holderIdentity\":\"\",\"leaseDurationSeconds\":1,\"acquireTime\":\"1970-01-01T00:00:00.000000Z\"," +
                     "\"renewTime\":\"1970-01-01T00:00:00.000000Z\",\"leaseTransitions\":7}", spec.ToJsonString());
    }

    [Fact]
    public void MicroTimeAlwaysHasSixDigitsInUtc()
    {
        Assert.Equal("2024-05-06T07:08:09.123456Z", MicroTime.Format(new DateTimeOffset(2024, 5, 6, 9, 8, 9, TimeSpan.FromHours(2)).AddTicks(1234567)));
        Assert.Equal(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1234560), MicroTime.Parse("2024-05-06T07:08:09.123456Z"));
    }

    [Fact]
    public void FlagsUseComponentDefaultsAndGoDurations()
    {
        var d = LeaderElectionConfig.FromFlags(new Dictionary<string, string>(), "kube-controller-manager");
        Assert.Equal(new LeaderElectionFlags(true, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), "leases",
            "kube-controller-manager", "kube-system"), d);
        var f = LeaderElectionConfig.FromFlags(new Dictionary<string, string>
        {
            ["--leader-elect"] = "true", ["--leader-elect-lease-duration"] = "1m32s", ["leader-elect-renew-deadline"] = "1.5m1s",
            ["--leader-elect-retry-period"] = "500ms", ["--leader-elect-resource-name"] = "x", ["--leader-elect-resource-namespace"] = "ns",
        });
        Assert.Equal((TimeSpan.FromSeconds(92), TimeSpan.FromSeconds(91), TimeSpan.FromMilliseconds(500), "x", "ns"),
            (f.LeaseDuration, f.RenewDeadline, f.RetryPeriod, f.ResourceName, f.ResourceNamespace));
        Assert.False(LeaderElectionConfig.FromFlags(new Dictionary<string, string> { ["--leader-elect"] = "false", ["--leader-elect-lease-duration"] = "1s" }).LeaderElect);
    }

    [Theory]
    [InlineData("--leader-elect-lease-duration", "15", "missing unit")]
    [InlineData("--leader-elect-retry-period", "2x", "unknown unit")]
    [InlineData("--leader-elect-resource-lock", "endpoints", "only \"leases\"")]
    [InlineData("--leader-elect-renew-deadline", "20s", "LeaseDuration must be greater than RenewDeadline")]
    [InlineData("--leader-elect", "maybe", "--leader-elect")]
    public void BadFlagsAreRefused(string flag, string value, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => LeaderElectionConfig.FromFlags(new Dictionary<string, string> { [flag] = value }));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("300ms", 3_000_000L)]
    [InlineData("2h45m", 99_000_000_000L)]
    [InlineData("1.5s", 15_000_000L)]
    [InlineData("-1m", -600_000_000L)]
    [InlineData("0", 0L)]
    [InlineData("10us", 100L)]
    public void GoDurationsParse(string s, long ticks) => Assert.Equal(ticks, GoDuration.Parse(s).Ticks);

    private sealed class NoClient : ILeaseClient
    {
        public Task<LeaseSnapshot?> GetAsync(string ns, string name, CancellationToken ct) => throw new NotSupportedException();
        public Task<string> CreateAsync(string ns, string name, LeaderElectionRecord record, CancellationToken ct) => throw new NotSupportedException();
        public Task<string> UpdateAsync(string ns, string name, LeaderElectionRecord record, string resourceVersion, CancellationToken ct) => throw new NotSupportedException();
    }
}
