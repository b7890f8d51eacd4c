using Kubeforge.Tokens;

namespace Kubeforge.Tests.Tokens;

public class BootstrapTokenTests
{
    [Fact]
    public void GeneratedTokensHaveKubeadmFormatAndDiffer()
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < 200; i++)
        {
            var t = BootstrapToken.Generate().ToString();
            Assert.Matches(@"^[a-z0-9]{6}\.[a-z0-9]{16}$", t);
            Assert.True(seen.Add(t));
        }
    }

    [Fact]
    public void AllAlphabetCharactersOccur()
    {
        var chars = new HashSet<char>();
        for (var i = 0; i < 400; i++)
        {
            foreach (var c in BootstrapToken.Generate().ToString().Replace(".", ""))
            {
                chars.Add(c);
            }
        }
        Assert.Equal(36, chars.Count);
    }

    [Theory]
    [InlineData("abcdef.0123456789abcdef", true)]
    [InlineData("ABCDEF.0123456789abcdef", false)]
    [InlineData("abcde.0123456789abcdef", false)]
    [InlineData("abcdef.0123456789abcdef\n", false)]
    [InlineData("abcdef0123456789abcdef", false)]
    public void ParseAcceptsOnlyTheKubeadmFormat(string text, bool ok)
    {
        Assert.Equal(ok, BootstrapToken.TryParse(text, out var t));
        if (ok)
        {
            Assert.Equal("abcdef", t.Id);
            Assert.Equal("bootstrap-token-abcdef", t.SecretName);
        }
    }
}
