using Kubeforge.Config;

namespace Kubeforge.Tests.Config;

public class GoDurationTests
{
    [Theory]
    [InlineData("24h0m0s", 86400.0)]
    [InlineData("4m", 240.0)]
    [InlineData("1h30m", 5400.0)]
    [InlineData("1.5s", 1.5)]
    [InlineData("0", 0.0)]
    [InlineData("500ms", 0.5)]
    public void Parse(string text, double seconds)
    {
        Assert.True(GoDuration.TryParse(text, out var d));
        Assert.Equal(seconds, d.TotalSeconds, 6);
    }

    [Theory]
    [InlineData("24")]
    [InlineData("h")]
    [InlineData("1d")]
    [InlineData("")]
    public void Parse_Rejects(string text) => Assert.False(GoDuration.TryParse(text, out _));

    [Theory]
    [InlineData(8760 * 3600.0, "8760h0m0s")]
    [InlineData(240.0, "4m0s")]
    [InlineData(0.0, "0s")]
    [InlineData(1.5, "1.5s")]
    [InlineData(3661.0, "1h1m1s")]
    public void Format(double seconds, string expected) => Assert.Equal(expected, GoDuration.Format(TimeSpan.FromSeconds(seconds)));
}
