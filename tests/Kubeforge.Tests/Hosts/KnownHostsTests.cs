using Kubeforge.Hosts;

namespace Kubeforge.Tests.Hosts;

public class KnownHostsTests
{
    // Keys and the hashed line were made with ssh-keygen (OpenSSH 9.2): "ssh-keygen -H" of "node1.example K1".
    private const string K1 = "AAAAC3NzaC1lZDI1NTE5AAAAIAND0oPyJ/CokePgTqEu+tgvg5n86JeRUqFayKtvAuyc";
    private const string K2 = "AAAAC3NzaC1lZDI1NTE5AAAAINoOHk9jt0RkNJdyRzyjxSTOAiOmCUbRRbhYMWRQHwNU";
    private const string Rsa = "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDWYbYz9o/2FASfBpeM8+5lqWbUcWskd2GHg8DQKh1JNVAW5IwS28pVCyJUcU2U+mInH2hmPa1NqOakwvFCwUMo+ZQwb3pg1PLWCvYsH6hymdh3QIZ3hJF9VObmZE65uPAF0Z1pnN23JYH2zzmPHKzd+d1rA3wecpPtfYNCGBnMxQ==";
    private const string Hashed = "|1|F4hQRujyWHXnjdeI3GlY7hglBgs=|pTq8eQRLDVsR6gQqzD2CgByVJ9Y= ssh-ed25519 " + K1;

    private static byte[] B(string b64) => Convert.FromBase64String(b64);

    [Fact]
    public void FingerprintMatchesSshKeygen()
    {
        Assert.Equal("SHA256:HJPYHMDPleRBGYxf4PsNx7rpIw7qbbH2qoWpA9Cgk2w", KnownHosts.Fingerprint(B(K1)));
        Assert.Equal("ssh-ed25519", KnownHosts.KeyType(B(K1)));
        Assert.Equal("ssh-rsa", KnownHosts.KeyType(B(Rsa)));
    }

    [Fact]
    public void HashedEntryMatchesOnlyItsHost()
    {
        var kh = KnownHosts.Parse(Hashed + "\n");
        Assert.Equal(HostKeyVerdict.Known, kh.Check("node1.example", 22, B(K1)).Verdict);
        Assert.Equal(HostKeyVerdict.Changed, kh.Check("node1.example", 22, B(K2)).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, kh.Check("node2.example", 22, B(K1)).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, kh.Check("node1.example", 2222, B(K1)).Verdict);
    }

    [Fact]
    public void PortFormsPatternsAndNegation()
    {
        var kh = KnownHosts.Parse($"[10.0.0.5]:2222 ssh-ed25519 {K1}\n*.lab,!bad.lab ssh-ed25519 {K2} comment here\n");
        Assert.Equal(HostKeyVerdict.Known, kh.Check("10.0.0.5", 2222, B(K1)).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, kh.Check("10.0.0.5", 22, B(K1)).Verdict);
        Assert.Equal(HostKeyVerdict.Known, kh.Check("Node9.LAB", 22, B(K2)).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, kh.Check("bad.lab", 22, B(K2)).Verdict);
        Assert.Equal("[h]:23", KnownHosts.HostPattern("h", 23));
        Assert.Equal("h", KnownHosts.HostPattern("h", 22));
    }

    [Fact]
    public void ChangedNamesLineAndOldFingerprintButOtherKeyTypesAreUnknown()
    {
        var kh = KnownHosts.Parse($"# c\n\nh1 ssh-ed25519 {K1}\ngarbage\nh1 ssh-rsa !!notbase64\n");
        var c = kh.Check("h1", 22, B(K2));
        Assert.Equal(new HostKeyCheck(HostKeyVerdict.Changed, 3, KnownHosts.Fingerprint(B(K1))), c);
        // a key of another type is not a change (OpenSSH accept-new adds it)
        Assert.Equal(HostKeyVerdict.Unknown, kh.Check("h1", 22, B(Rsa)).Verdict);
    }

    [Fact]
    public void BlobsAreComparedNotAlgorithmNames()
    {
        // an ssh-rsa line matches the same key however it was negotiated (rsa-sha2-512): only the blob counts
        var kh = KnownHosts.Parse($"h ssh-rsa {Rsa}\n");
        Assert.Equal(HostKeyVerdict.Known, kh.Check("h", 22, B(Rsa)).Verdict);
        // a line whose type column lies is still judged by its blob
        Assert.Equal(HostKeyVerdict.Known, KnownHosts.Parse($"h ssh-dss {K1}\n").Check("h", 22, B(K1)).Verdict);
    }

    [Fact]
    public void RevokedAndCertAuthorityMarkers()
    {
        var kh = KnownHosts.Parse($"@revoked * ssh-ed25519 {K2}\n@cert-authority *.lab ssh-ed25519 {K1}\nh.lab ssh-ed25519 {K2}\n");
        Assert.Equal(HostKeyVerdict.Revoked, kh.Check("h.lab", 22, B(K2)).Verdict);
        Assert.Equal(HostKeyVerdict.Changed, kh.Check("h.lab", 22, B(K1)).Verdict);
    }

    [Fact]
    public void AppendCreatesFileAndKeepsExistingLines()
    {
        var dir = Directory.CreateTempSubdirectory("kf-kh-").FullName;
        try
        {
            var path = Path.Join(dir, "ssh", "known_hosts");
            KnownHosts.Append(path, "10.0.0.1", 22, B(K1));
            File.AppendAllText(path, "# no newline at end");
            KnownHosts.Append(path, "10.0.0.2", 2200, B(Rsa));
            Assert.Equal($"10.0.0.1 ssh-ed25519 {K1}\n# no newline at end\n[10.0.0.2]:2200 ssh-rsa {Rsa}\n", File.ReadAllText(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(HostKeyVerdict.Known, KnownHosts.Load(path).Check("10.0.0.2", 2200, B(Rsa)).Verdict);
            Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Load(Path.Join(dir, "missing")).Check("x", 22, B(K1)).Verdict);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
