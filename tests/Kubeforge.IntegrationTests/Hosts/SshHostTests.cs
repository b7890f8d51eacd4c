using System.Diagnostics;
using System.Text;
using CsCheck;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.IntegrationTests.Hosts;

/// <summary>SshHostTests drive SshHost against a real OpenSSH server on 127.0.0.1 (see SshdFixture).</summary>
public sealed class SshHostTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private string Temp(string name) => Path.Join(sshd.Dir, name + "-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task ConnectsWithEachKeyTypeAndChecksRsaHostKeyByBlob()
    {
        // known_hosts says "ssh-rsa", SSH.NET negotiates rsa-sha2-*: the blob comparison must accept it.
        foreach (var key in new[] { sshd.KeyEd25519, sshd.KeyEcdsa, sshd.KeyRsa })
        {
            await using var h = new SshHost(sshd.Options(key: key));
            var r = await h.RunAsync(["id", "-un"]);
            Assert.Equal("root\n", r.Stdout);
        }
    }

    [Fact]
    public async Task UnknownHostKeyIsRefusedWithFingerprint()
    {
        var kh = Temp("kh");
        await using var h = new SshHost(sshd.Options() with { KnownHostsPath = kh });
        var e = await Assert.ThrowsAsync<UserError>(() => h.RunAsync(["true"]));
        var blob = Convert.FromBase64String(sshd.HostKeyPub.Split(' ')[1]);
        var fp = SshdFixture.Run("ssh-keygen", "-lf", Path.Join(sshd.Dir, "host_rsa.pub")).Split(' ')[1];
        Assert.Equal(fp, KnownHosts.Fingerprint(blob));
        Assert.Contains(fp, e.Message);
        Assert.Contains("--accept-new-host-keys", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(kh));
    }

    [Fact]
    public async Task AcceptNewRecordsKeyThenStrictModeConnects()
    {
        var kh = Path.Join(Temp("khdir"), "sub", "known_hosts");
        await using (var h = new SshHost(sshd.Options() with { KnownHostsPath = kh, AcceptNewHostKeys = true }))
        {
            Assert.True((await h.RunAsync(["true"])).Ok);
        }
        Assert.Contains($"[127.0.0.1]:{sshd.Port} ssh-rsa ", File.ReadAllText(kh));
        // the file is usable by OpenSSH itself
        Assert.Contains("ssh-rsa", SshdFixture.Run("ssh-keygen", "-F", $"[127.0.0.1]:{sshd.Port}", "-f", kh));
        await using var strict = new SshHost(sshd.Options() with { KnownHostsPath = kh });
        Assert.True((await strict.RunAsync(["true"])).Ok);
    }

    [Fact]
    public async Task ChangedHostKeyIsRefusedEvenWithAcceptNew()
    {
        var other = Temp("otherkey");
        SshdFixture.Run("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", other);
        var kh = Temp("kh");
        File.WriteAllText(kh, "# comment\n" + $"[127.0.0.1]:{sshd.Port} " + File.ReadAllText(other + ".pub"));
        var before = File.ReadAllText(kh);
        await using var h = new SshHost(sshd.Options() with { KnownHostsPath = kh, AcceptNewHostKeys = true });
        var e = await Assert.ThrowsAsync<UserError>(() => h.RunAsync(["true"]));
        Assert.Contains("HOST KEY CHANGED", e.Message);
        Assert.Contains("line 2", e.Message);
        Assert.Contains("ssh-keygen -R", e.Message);
        Assert.Equal(before, File.ReadAllText(kh));
    }

    [Fact]
    public async Task HashedKnownHostsEntryIsAccepted()
    {
        var kh = Temp("kh");
        File.WriteAllText(kh, File.ReadAllText(sshd.KnownHosts));
        SshdFixture.Run("ssh-keygen", "-q", "-H", "-f", kh);
        Assert.StartsWith("|1|", File.ReadAllText(kh));
        await using var h = new SshHost(sshd.Options() with { KnownHostsPath = kh });
        Assert.True((await h.RunAsync(["true"])).Ok);
    }

    [Fact]
    public async Task WrongKeyIsRefused()
    {
        await using var h = new SshHost(sshd.Options(key: sshd.WrongKey));
        var e = await Assert.ThrowsAsync<UserError>(() => h.RunAsync(["true"]));
        Assert.Contains("authentication failed for user root", e.Message);
        Assert.Contains("127.0.0.1", e.Message);
    }

    [Fact]
    public async Task PasswordLoginAndSudoWithTheSamePassword()
    {
        var o = sshd.Options("kfpw") with { PrivateKeyPath = sshd.WrongKey, Password = SshdFixture.SudoPassword, SudoPassword = SshdFixture.SudoPassword };
        await using var h = new SshHost(o);
        Assert.Equal("0\n", (await h.RunAsync(["id", "-u"])).Stdout);
        await using var bad = new SshHost(o with { PrivateKeyPath = sshd.WrongKey, Password = "Hunter2xyz" });
        var e = await Assert.ThrowsAsync<UserError>(() => bad.RunAsync(["true"]));
        Assert.Contains("authentication failed for user kfpw", e.Message);
        Assert.DoesNotContain("Hunter2xyz", e.Message);
    }

    [Fact]
    public async Task ClosedPortIsRefusedQuickly()
    {
        var sw = Stopwatch.StartNew();
        await using var h = new SshHost(sshd.Options() with { Port = SshdFixture.FreePort() });
        var e = await Assert.ThrowsAsync<UserError>(() => h.RunAsync(["true"]));
        Assert.Contains("connection refused", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task SudoWithoutPasswordForNopasswdUser()
    {
        await using var h = new SshHost(sshd.Options("kf"));
        var r = await h.RunAsync(["sh", "-c", "id -u; echo \"$SUDO_USER\"; cat"], "in put");
        Assert.Equal("0\nkf\nin put", r.Stdout);
    }

    [Fact]
    public async Task SudoWithPasswordPassesItOnStdinOnly()
    {
        await using var h = new SshHost(sshd.Options("kfpw") with { SudoPassword = SshdFixture.SudoPassword });
        var r = await h.RunAsync(["sh", "-c", "id -u; cat"], "payload\n");
        Assert.Equal("0\npayload\n", r.Stdout);
        // commands without stdin still get the password consumed by sudo, not by the program
        Assert.Equal("", (await h.RunAsync(["cat"])).Stdout);
        var path = Temp("sudo-file");
        await h.WriteFileAsync(path, "x"u8.ToArray(), 0x180);
        Assert.Equal("x", Encoding.UTF8.GetString((await h.ReadFileAsync(path))!));
        Assert.Equal("root\n", (await h.RunAsync(["stat", "-c", "%U", path])).Stdout);
    }

    [Fact]
    public async Task SudoNeedingMissingPasswordIsOneClearError()
    {
        await using var h = new SshHost(sshd.Options("kfpw"));
        var e = await Assert.ThrowsAsync<UserError>(() => h.RunAsync(["true"]));
        Assert.Equal($"kfpw@[127.0.0.1]:{sshd.Port}: sudo for user kfpw needs a password that was not given; " +
                     "give the sudo password or allow NOPASSWD sudo for kfpw", e.Message);
        await using var wrong = new SshHost(sshd.Options("kfpw") with { SudoPassword = "nope" });
        var w = await Assert.ThrowsAsync<UserError>(() => wrong.RunAsync(["true"]));
        Assert.Contains("sudo password for kfpw was refused", w.Message);
        Assert.DoesNotContain("nope", w.Message);
    }

    [Fact]
    public async Task FileRoundTripsWithModes()
    {
        await using var h = new SshHost(sshd.Options("kf"));
        var dir = Temp("files");
        var f = dir + "/a b/c'd.key";
        var content = new byte[70000];
        new Random(7).NextBytes(content);
        Assert.Null(await h.ReadFileAsync(f));
        Assert.False((await h.StatAsync(f)).Exists);
        Assert.Empty(await h.ListAsync(dir));
        await h.WriteFileAsync(f, content, 0x180 /*0600*/, 0x1C0 /*0700*/);
        Assert.Equal(content, await h.ReadFileAsync(f));
        Assert.Equal(new FileState(true, false, 0x180, content.Length), await h.StatAsync(f));
        var ds = await h.StatAsync(dir + "/a b");
        Assert.True(ds.IsDirectory);
        Assert.Equal(0x1C0, ds.Mode);
        Assert.Equal(["c'd.key"], await h.ListAsync(dir + "/a b"));
        Assert.Null(await h.ReadFileAsync(dir + "/a b"));
        Assert.Empty(await h.ListAsync(f));
        await h.WriteFileAsync(f, "new"u8.ToArray(), 0x1A4 /*0644*/);
        Assert.Equal(new FileState(true, false, 0x1A4, 3), await h.StatAsync(f));
        Assert.Equal(["c'd.key"], await h.ListAsync(dir + "/a b")); // no temp file left behind
        await h.CreateDirectoryAsync(dir + "/x/y", 0x1E8 /*0750*/);
        Assert.Equal(0x1E8, (await h.StatAsync(dir + "/x/y")).Mode);
        await h.RenameAsync(f, dir + "/moved/-n");
        Assert.Null(await h.ReadFileAsync(f));
        Assert.Equal("new"u8.ToArray(), await h.ReadFileAsync(dir + "/moved/-n"));
        Assert.Equal(["-n"], await h.ListAsync(dir + "/moved"));
        Assert.False(await h.WriteIfChangedAsync(dir + "/moved/-n", "new"u8.ToArray(), 0x1A4));
        await h.DeleteAsync(dir);
        Assert.False((await h.StatAsync(dir)).Exists);
        await h.DeleteAsync(dir); // absent is fine
        Assert.Equal(0, new DirectoryInfo(sshd.Dir).GetFiles(".*.tmp", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task ConcurrentCommandsShareOneConnection()
    {
        await using var h = new SshHost(sshd.Options());
        await h.ConnectAsync();
        // Each command waits until all 6 have started: this only finishes if they really run at the same time.
        var dir = Temp("barrier");
        var script = "mkdir -p \"$1\"; touch \"$1/$2\"; n=0; while [ $(ls \"$1\" | wc -l) -lt 6 ]; do n=$((n+1)); [ $n -lt 1200 ] || exit 9; sleep 0.05; done; echo $2";
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => h.RunAsync(["sh", "-c", script, "x", dir, i.ToString()])));
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal($"{i}\n", results[i].Stdout);
        }
        // more commands than channels allowed at once still all complete
        var many = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => h.RunAsync(["echo", i.ToString()])));
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"{i}\n"), many.Select(r => r.Stdout));
        var before = Connections();
        await h.RunAsync(["true"]);
        Assert.Equal(before, Connections());
    }

    private int Connections() => SshdFixture.Run("ss", "-Htn", "state", "established", "dport", "=", $":{sshd.Port}").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    [Fact]
    public async Task CommandTimeoutIsAUserError()
    {
        await using var h = new SshHost(sshd.Options() with { CommandTimeout = TimeSpan.FromSeconds(4) });
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<UserError>(() => h.RunAsync(["sleep", "20"]));
        Assert.Contains("did not finish within 4 s", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"took {sw.Elapsed}");
        Assert.True((await h.RunAsync(["true"])).Ok);
    }

    [Fact]
    public async Task ExitCodesAndStderrComeBack()
    {
        await using var h = new SshHost(sshd.Options());
        var r = await h.RunAsync(["sh", "-c", "echo out; echo err >&2; exit 3"]);
        Assert.Equal(new CommandResult(3, "out\n", "err\n"), r);
        Assert.Equal(127, (await h.RunAsync(["no-such-program-kf"])).ExitCode);
        Assert.Equal("a=b\n", (await h.RunAsync(["echo", "a=b"])).Stdout);
        // quick commands that ignore stdin, with and without stdin, many times (stdin/EOF races)
        for (var i = 0; i < 20; i++)
        {
            Assert.True((await h.RunAsync(["true"], i % 2 == 0 ? null : new string('x', 100000))).Ok);
        }
        Assert.Equal("", (await h.RunAsync(["cat"])).Stdout); // stdin is closed when none is given
    }

    /// <summary>The quoting helper must deliver any string unchanged through a real remote shell.</summary>
    [Fact]
    public async Task ShellQuoteRoundTripsThroughRemoteShell()
    {
        await using var h = new SshHost(sshd.Options("kf"));
        await h.ConnectAsync();
        var chars = Gen.OneOf(
            Gen.Char[' ', '~'],
            Gen.OneOf('\'', '"', '\\', '$', '`', ';', '|', '&', '<', '>', '(', ')', '*', '?', '[', '!', '#', '~', '{', '\n', '\t', '\r', '='),
            Gen.OneOf('é', 'ß', '中', '\u00a0', '→'));
        var gen = Gen.OneOf(chars.Array[0, 24].Select(a => new string(a)),
            Gen.OneOf("", "$(id)", "`id`", "a b", "'", "''", "-n", "--", "~root", "x=y", "$HOME", "\\", "!!", "😀 emoji"));
        var cases = 0; // counted from several threads, only checked for a lower bound
        await gen.Array[1, 4].SampleAsync(async args =>
        {
            Interlocked.Increment(ref cases);
            var r = await h.RunAsync(["printf", "%s\\0", .. args]);
            Assert.True(r.Ok, r.Stderr);
            Assert.Equal(args, r.Stdout.Split('\0')[..^1]);
        }, iter: 300, threads: 4);
        Assert.True(cases >= 300);
    }
}
