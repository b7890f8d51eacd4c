using Kubeforge.Yaml;

namespace Kubeforge.Tests.Yaml;

/// <summary>GoYamlWriterTests pin the writer to gopkg.in/yaml.v2 output as sigs.k8s.io/yaml produces it.</summary>
public class GoYamlWriterTests
{
    private static string W(YNode n) => GoYamlWriter.Write(n);

    private static string Value(string s) => W(new YMap { { "k", s } });

    [Fact]
    public void KeysUseYamlV2NaturalOrder()
    {
        var m = new YMap();
        foreach (var k in new[] { "b", "a10", "x09", "a2", "a", "1x", "B", "a1", "_x", "x9" })
        {
            m.Add(k, 1);
        }
        var keys = W(m).TrimEnd('\n').Split('\n').Select(l => l[..l.IndexOf(':')]).ToArray();
        // non-letters before letters, digit runs compared as numbers, upper before lower, shorter prefix first
        Assert.Equal(["_x", "1x", "B", "a", "a1", "a2", "a10", "b", "x9", "x09"], keys);
    }

    [Theory]
    [InlineData("y")]
    [InlineData("Y")]
    [InlineData("yes")]
    [InlineData("on")]
    [InlineData("Off")]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("true")]
    [InlineData("0755")]
    [InlineData("08")]
    [InlineData("1.20")]
    [InlineData("1e3")]
    [InlineData("0x1F")]
    [InlineData("123")]
    [InlineData("-5")]
    [InlineData("1:20")]
    [InlineData("2006-01-02")]
    [InlineData(".inf")]
    [InlineData("<<")]
    public void StringsAYaml11ReaderWouldRetypeAreDoubleQuoted(string s)
    {
        Assert.Equal($"k: \"{s}\"\n", Value(s));
    }

    [Fact]
    public void EmptyStringIsDoubleQuoted()
    {
        Assert.Equal("k: \"\"\n", Value(""));
        Assert.Equal("\"\": x\n", W(new YMap { { "", "x" } }));
    }

    [Theory]
    [InlineData("hello", "hello")]
    [InlineData("v1.22.3", "v1.22.3")]
    [InlineData("10.96.0.0/12", "10.96.0.0/12")]
    [InlineData("--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,bootstrapsigner,tokencleaner")]
    [InlineData("250m", "250m")]
    [InlineData("192.168.0.10:6443", "192.168.0.10:6443")]
    [InlineData("fd00::10", "fd00::10")]
    [InlineData("a b", "a b")]
    [InlineData("xé", "xé")]
    [InlineData("\u00a0x", "\u00a0x")]
    [InlineData("*foo", "'*foo'")]
    [InlineData("- x", "'- x'")]
    [InlineData("a: b", "'a: b'")]
    [InlineData("#c", "'#c'")]
    [InlineData("a #c", "'a #c'")]
    [InlineData("it's: x", "'it''s: x'")]
    [InlineData(" lead", "' lead'")]
    [InlineData("trail ", "'trail '")]
    [InlineData("{x}", "'{x}'")]
    [InlineData("a\tb", "\"a\\tb\"")]
    [InlineData("say \"hi\"", "say \"hi\"")]
    [InlineData("\"q\"", "'\"q\"'")]
    [InlineData("😀", "\"\\U0001F600\"")]
    [InlineData("a\u0085b", "\"a\\Nb\"")]
    public void ScalarStyleFollowsLibyamlAnalysis(string s, string expected)
    {
        Assert.Equal($"k: {expected}\n", Value(s));
    }

    [Theory]
    [InlineData("a\nb\n", "k: |\n  a\n  b\n")]
    [InlineData("a\nb", "k: |-\n  a\n  b\n")]
    [InlineData("a\n\n", "k: |+\n  a\n\n")]
    [InlineData("\n", "k: |2+\n\n")]
    [InlineData(" a\nb", "k: |2-\n   a\n  b\n")]
    [InlineData("a\n\nb", "k: |-\n  a\n\n  b\n")]
    [InlineData("a \nb", "k: \"a \\nb\"\n")]
    [InlineData("a\tb\nc", "k: \"a\\tb\\nc\"\n")]
    public void MultiLineStringsUseLiteralBlocksWhenAllowed(string s, string expected)
    {
        Assert.Equal(expected, Value(s));
    }

    [Fact]
    public void LiteralBlocksIndentUnderTheirParent()
    {
        var doc = new YMap
        {
            { "a", new YMap { { "b", "x\ny\n" } } },
            { "s", YSeq.Of("p\nq") },
        };
        Assert.Equal("a:\n  b: |\n    x\n    y\ns:\n- |-\n  p\n  q\n", W(doc));
    }

    [Fact]
    public void SequencesAreNotIndentedUnderKeysAndNestInline()
    {
        var doc = new YMap
        {
            { "list", YSeq.Of(1, "two") },
            { "maps", YSeq.Of(new YMap { { "b", "x" }, { "a", YSeq.Of("i") } }) },
            { "nested", YSeq.Of(YSeq.Of("a", "b"), YSeq.Of(YSeq.Of("c"))) },
        };
        const string expected =
            "list:\n- 1\n- two\n" +
            "maps:\n- a:\n  - i\n  b: x\n" +
            "nested:\n- - a\n  - b\n- - - c\n";
        Assert.Equal(expected, W(doc));
    }

    [Fact]
    public void EmptyCollectionsAreWrittenInline()
    {
        var doc = new YMap { { "a", new YMap() }, { "b", new YSeq() }, { "c", YSeq.Of(new YMap(), new YSeq()) }, { "d", YScalar.Null() } };
        Assert.Equal("a: {}\nb: []\nc:\n- {}\n- []\nd: null\n", W(doc));
        Assert.Equal("{}\n", W(new YMap()));
    }

    [Fact]
    public void NonStringScalarsKeepTheirText()
    {
        var doc = new YMap { { "i", 2000001000 }, { "b", false }, { "f", YScalar.Float(0.5) } };
        Assert.Equal("b: false\nf: 0.5\ni: 2000001000\n", W(doc));
    }

    [Fact]
    public void LongPlainValuesFoldAtSpacesPastColumn80LikeYamlV2()
    {
        var words = Enumerable.Repeat("word", 30).ToArray();
        var text = W(new YMap { { "k", string.Join(' ', words) } });
        // "k: " + 16 words ends at column 82 (> 80): the next space becomes a line break indented 2.
        var expected = "k: " + string.Join(' ', words[..16]) + "\n  " + string.Join(' ', words[16..]) + "\n";
        Assert.Equal(expected, text);
        Assert.Equal(string.Join(' ', words), ((YMap)YamlReader.Read(text, "t")).Str("k"));
    }

    [Fact]
    public void LongKeysAndBlocksAreNotFolded()
    {
        var longKey = string.Join(' ', Enumerable.Repeat("key", 40));
        var text = W(new YMap { { longKey, "v" } });
        Assert.Single(text.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void FoldedQuotedValuesReadBackUnchanged()
    {
        var single = "#" + string.Join(' ', Enumerable.Repeat("alpha", 30));
        var dbl = "\t" + string.Join("  ", Enumerable.Repeat("beta", 30));
        var doc = new YMap { { "s", single }, { "d", dbl }, { "seq", YSeq.Of(single) } };
        var text = W(doc);
        Assert.Contains("\n", text.Split("s:")[0].TrimEnd('\n'));
        var back = (YMap)YamlReader.Read(text, "t");
        Assert.Equal(single, back.Str("s"));
        Assert.Equal(dbl, back.Str("d"));
        Assert.Equal(single, ((YScalar)back.Seq("seq")![0]).Text);
    }
}
