using Kubeforge.Hosts;

namespace Kubeforge.Tests.Hosts;

public class ShellQuoteTests
{
    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("--flag=v", "--flag=v")]
    [InlineData("", "''")]
    [InlineData("a b", "'a b'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("$(id)", "'$(id)'")]
    [InlineData("é", "'é'")]
    public void Quote(string s, string want) => Assert.Equal(want, ShellQuote.Quote(s));

    [Fact]
    public void FirstWordWithEqualsIsNotAnAssignment()
    {
        Assert.Equal("'A=b' A=b", ShellQuote.Join(["A=b", "A=b"]));
        Assert.Equal("'a'\\''=b' x", ShellQuote.Join(["a'=b", "x"]));
    }

    [Fact]
    public void NulIsRejected() => Assert.Throws<ArgumentException>(() => ShellQuote.Quote("a\0b"));
}
