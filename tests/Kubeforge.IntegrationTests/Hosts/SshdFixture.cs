using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Kubeforge.Hosts;

namespace Kubeforge.IntegrationTests.Hosts;

/// <summary>SshdFixture runs a private OpenSSH server on 127.0.0.1 (random port) from a temp folder: its own host
/// key (RSA, to prove rsa-sha2 negotiation matches an ssh-rsa known_hosts line), config and PidFile. It runs in its
/// own mount namespace where /etc/passwd, /etc/shadow, /etc/group and /etc/sudoers are temp copies adding users
/// kf (NOPASSWD sudo) and kfpw (sudo with password), so the machine's own files are never changed.</summary>
public sealed class SshdFixture : IAsyncLifetime
{
    public const string SudoPassword = "s3cret 'pw' $x";
    public string Dir { get; } = Directory.CreateTempSubdirectory("kf-sshd-").FullName;
    public int Port { get; private set; }
    public string KeyEd25519 => Path.Join(Dir, "id_ed25519");
    public string KeyEcdsa => Path.Join(Dir, "id_ecdsa");
    public string KeyRsa => Path.Join(Dir, "id_rsa");
    public string WrongKey => Path.Join(Dir, "id_wrong");
    public string HostKeyPub => File.ReadAllText(Path.Join(Dir, "host_rsa.pub"));
    /// <summary>KnownHosts is a known_hosts file that trusts this server.</summary>
    public string KnownHosts => Path.Join(Dir, "known_hosts");
    private Process? _sshd;

    public async Task InitializeAsync()
    {
        Run("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", Path.Join(Dir, "host_rsa"));
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", KeyEd25519);
        Run("ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", KeyEcdsa);
        Run("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", KeyRsa);
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", WrongKey);
        var auth = string.Concat(new[] { KeyEd25519, KeyEcdsa, KeyRsa }.Select(k => File.ReadAllText(k + ".pub")));
        var hash = Run("openssl", "passwd", "-6", SudoPassword).Trim();
        // root's login shell becomes /bin/sh here: the machine's own ~/.bashrc may be slow and is not ours to test
        var passwd = string.Join('\n', File.ReadAllLines("/etc/passwd").Select(l => l.StartsWith("root:", StringComparison.Ordinal) ? "root:x:0:0:root:/root:/bin/sh" : l));
        File.WriteAllText(Path.Join(Dir, "passwd"), passwd + "\n" +
            $"kf:x:60101:60101::{Dir}/home/kf:/bin/sh\nkfpw:x:60102:60102::{Dir}/home/kfpw:/bin/sh\n");
        File.WriteAllText(Path.Join(Dir, "group"), File.ReadAllText("/etc/group") + "kf:x:60101:\nkfpw:x:60102:\n");
        File.WriteAllText(Path.Join(Dir, "shadow"), File.ReadAllText("/etc/shadow") + $"kf:*:19000:0:99999:7:::\nkfpw:{hash}:19000:0:99999:7:::\n");
        File.WriteAllText(Path.Join(Dir, "sudoers"), "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\nkf ALL=(ALL) NOPASSWD: ALL\nkfpw ALL=(ALL) ALL\n");
        File.SetUnixFileMode(Path.Join(Dir, "sudoers"), UnixFileMode.UserRead | UnixFileMode.GroupRead);
        File.SetUnixFileMode(Path.Join(Dir, "shadow"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        foreach (var (u, id) in new[] { ("kf", 60101), ("kfpw", 60102) })
        {
            Directory.CreateDirectory(Path.Join(Dir, "home", u));
            Run("chown", $"{id}:{id}", Path.Join(Dir, "home", u));
        }
        File.WriteAllText(Path.Join(Dir, "authorized_keys"), auth);
        File.SetUnixFileMode(Dir, (UnixFileMode)0x1ED);
        Port = FreePort();
        File.WriteAllText(Path.Join(Dir, "sshd_config"), $"""
            Port {Port}
            ListenAddress 127.0.0.1
            HostKey {Dir}/host_rsa
            PidFile {Dir}/sshd.pid
            AuthorizedKeysFile {Dir}/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication yes
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            MaxStartups 50
            """);
        File.WriteAllText(KnownHosts, $"[127.0.0.1]:{Port} {HostKeyPub}");
        // A private mount namespace: the temp account files are bound over /etc only for this sshd and its children.
        var script = string.Join("; ", new[] { "passwd", "group", "shadow", "sudoers" }.Select(f => $"mount --bind {Dir}/{f} /etc/{f}"))
            + "; mount -t tmpfs tmpfs /run; mkdir -p /run/sshd; exec /usr/sbin/sshd -D -e -f " + Dir + "/sshd_config";
        var psi = new ProcessStartInfo("unshare", ["--mount", "--propagation", "private", "sh", "-c", script])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        _sshd = Process.Start(psi)!;
        _sshd.ErrorDataReceived += (_, _) => { };
        _sshd.BeginErrorReadLine();
        _sshd.BeginOutputReadLine();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                if (_sshd.HasExited)
                {
                    throw new InvalidOperationException($"sshd exited with {_sshd.ExitCode}");
                }
                await Task.Delay(50);
            }
        }
        throw new InvalidOperationException("sshd did not listen");
    }

    /// <summary>Options gives SshHostOptions for this server.</summary>
    public SshHostOptions Options(string user = "root", string? key = null) => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        User = user,
        PrivateKeyPath = key ?? KeyEd25519,
        KnownHostsPath = KnownHosts,
        ConnectTimeout = TimeSpan.FromSeconds(20),
        CommandTimeout = TimeSpan.FromSeconds(30),
    };

    public async Task DisposeAsync()
    {
        if (_sshd is { HasExited: false })
        {
            _ = kill(_sshd.Id, 15); // SIGTERM to the sshd listener (exec'd in place of unshare and sh)
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _sshd.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _sshd.Kill();
                await _sshd.WaitForExitAsync();
            }
        }
        _sshd?.Dispose();
        Directory.Delete(Dir, recursive: true);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    public static string Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var o = p.StandardOutput.ReadToEnd();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? o : throw new InvalidOperationException($"{file} failed: {e}");
    }
}
