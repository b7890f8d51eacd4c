using System.Net.Sockets;
using System.Text;
using Kubeforge.Phases;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Kubeforge.Hosts;

/// <summary>SshHostOptions says how to reach and log in to one machine over SSH.</summary>
public sealed record SshHostOptions
{
    /// <summary>Host is the address or DNS name to connect to.</summary>
    public required string Host { get; init; }
    /// <summary>Port is the sshd port (22).</summary>
    public int Port { get; init; } = 22;
    /// <summary>User logs in; anyone but root runs every command through sudo.</summary>
    public string User { get; init; } = "root";
    /// <summary>PrivateKeyPath is an OpenSSH/PEM/PuTTY private key (ed25519, ECDSA, RSA); null = ~/.ssh/id_{ed25519,ecdsa,rsa}.</summary>
    public string? PrivateKeyPath { get; init; }
    /// <summary>PrivateKeyPassphrase unlocks an encrypted private key.</summary>
    public string? PrivateKeyPassphrase { get; init; }
    /// <summary>Password logs in with a password (tried after the key, if any).</summary>
    public string? Password { get; init; }
    /// <summary>SudoPassword is given to `sudo -S` on stdin when the user's sudo asks for a password.</summary>
    public string? SudoPassword { get; init; }
    /// <summary>KnownHostsPath is the OpenSSH known_hosts file host keys are checked against (~/.ssh/known_hosts).</summary>
    public string KnownHostsPath { get; init; } = System.IO.Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", "known_hosts");
    /// <summary>AcceptNewHostKeys records keys of hosts not in known_hosts (never accepts a changed key).</summary>
    public bool AcceptNewHostKeys { get; init; }
    /// <summary>ConnectTimeout bounds TCP connect plus SSH handshake.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>CommandTimeout bounds each command (Timeout.InfiniteTimeSpan = none).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>KeepAliveInterval sends SSH keepalives on an idle connection.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>DisplayName names the host in messages (default "user@host[:port]").</summary>
    public string? DisplayName { get; init; }
    /// <summary>MaxConcurrentCommands caps channels open at once on the one connection (sshd allows 10).</summary>
    public int MaxConcurrentCommands { get; init; } = 8;
}

/// <summary>SshHost is a remote machine reached over one reused SSH connection (SSH.NET). Host keys are checked
/// against known_hosts; commands are argv lists quoted only by ShellQuote.Join; a non-root user runs everything
/// through sudo (-n, or -S with the sudo password on stdin). Safe for concurrent commands (one channel each).</summary>
public sealed class SshHost : IHost, IAsyncDisposable, IDisposable
{
    private const int Absent = 99;
    // Runs the rest only when `test $1 $2` holds (-e exists, -f is a file); exit 99 says it does not.
    // Data only ever travels as positional arguments, never inside script text.
    private const string IfExistsScript = "[ \"$1\" \"$2\" ] || exit 99; shift 2; exec \"$@\"";
    // Atomic write: stdin -> temp file in the same folder, chmod, rename over the target.
    private const string WriteScript =
        "set -e; [ -d \"$4\" ] || mkdir -p -m \"$5\" -- \"$4\"; trap 'rm -f -- \"$2\"' EXIT; umask 077; " +
        "cat > \"$2\"; chmod \"$3\" -- \"$2\"; mv -f -- \"$2\" \"$1\"; trap - EXIT"; // no rm after a good mv: one process less

    private readonly SshHostOptions _o;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SemaphoreSlim _channels;
    private SshClient? _client;
    private SudoMode _sudo = SudoMode.Unprobed;
    private HostKeyCheck? _keyProblem;
    private byte[]? _offeredKey;

    private enum SudoMode { Unprobed, None, NoPassword, Password }

    /// <summary>SshHost prepares a host; the connection opens on first use (or ConnectAsync).</summary>
    public SshHost(SshHostOptions options)
    {
        _o = options;
        _channels = new SemaphoreSlim(Math.Max(1, options.MaxConcurrentCommands));
    }

    /// <inheritdoc/>
    public string Name => _o.DisplayName ?? $"{_o.User}@{KnownHosts.HostPattern(_o.Host, _o.Port)}";

    /// <inheritdoc/>
    public bool ManagesServices => true;

    /// <summary>Options are the settings this host was made with.</summary>
    public SshHostOptions Options => _o;

    /// <summary>ConnectAsync opens (or reopens) the connection, checks the host key and probes sudo; errors are UserErrors.</summary>
    public async Task ConnectAsync(CancellationToken ct = default)
    {
        await _connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_client is { IsConnected: true })
            {
                return;
            }
            _client?.Dispose();
            _client = null;
            _keyProblem = null;
            _offeredKey = null;
            var client = new SshClient(BuildConnectionInfo());
            client.HostKeyReceived += OnHostKey;
            client.KeepAliveInterval = _o.KeepAliveInterval;
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(_o.ConnectTimeout + TimeSpan.FromSeconds(1));
                await client.ConnectAsync(cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not UserError && !(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                client.Dispose();
                throw ConnectError(e);
            }
            _client = client;
            if (_sudo == SudoMode.Unprobed)
            {
                _sudo = await ProbeSudoAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private ConnectionInfo BuildConnectionInfo()
    {
        var methods = new List<AuthenticationMethod>();
        var keys = _o.PrivateKeyPath is not null
            ? [_o.PrivateKeyPath]
            : new[] { "id_ed25519", "id_ecdsa", "id_rsa" }
                .Select(k => System.IO.Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", k))
                .Where(File.Exists).ToArray();
        var sources = new List<IPrivateKeySource>();
        foreach (var k in keys)
        {
            try
            {
                sources.Add(new PrivateKeyFile(k, _o.PrivateKeyPassphrase));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UserError($"{Name}: cannot read private key {k}: {e.Message}; check the path given for the SSH key");
            }
            catch (SshPassPhraseNullOrEmptyException)
            {
                throw new UserError($"{Name}: private key {k} is encrypted; give its passphrase or use an unencrypted key");
            }
            catch (Exception e) when (e is SshException or InvalidOperationException or FormatException or ArgumentException or NotSupportedException)
            {
                throw new UserError($"{Name}: cannot use private key {k} ({e.Message}); give an OpenSSH, PEM or PuTTY ed25519/ECDSA/RSA key");
            }
        }
        if (sources.Count > 0)
        {
            methods.Add(new PrivateKeyAuthenticationMethod(_o.User, sources.ToArray()));
        }
        if (_o.Password is not null)
        {
            methods.Add(new PasswordAuthenticationMethod(_o.User, _o.Password));
        }
        if (methods.Count == 0)
        {
            throw new UserError($"{Name}: no SSH key or password to log in with; give a private key path (none found in ~/.ssh) or a password");
        }
        return new ConnectionInfo(_o.Host, _o.Port, _o.User, methods.ToArray()) { Timeout = _o.ConnectTimeout };
    }

    private void OnHostKey(object? sender, HostKeyEventArgs e)
    {
        var blob = e.HostKey;
        _offeredKey = blob;
        var check = KnownHosts.Load(_o.KnownHostsPath).Check(_o.Host, _o.Port, blob);
        if (check.Verdict == HostKeyVerdict.Unknown && _o.AcceptNewHostKeys)
        {
            KnownHosts.Append(_o.KnownHostsPath, _o.Host, _o.Port, blob);
            check = new HostKeyCheck(HostKeyVerdict.Known);
        }
        _keyProblem = check.Verdict == HostKeyVerdict.Known ? null : check;
        e.CanTrust = _keyProblem is null;
    }

    private UserError ConnectError(Exception e)
    {
        var where = KnownHosts.HostPattern(_o.Host, _o.Port);
        if (_keyProblem is { } kp && _offeredKey is { } key)
        {
            var fp = $"{KnownHosts.KeyType(key)} {KnownHosts.Fingerprint(key)}";
            var file = _o.KnownHostsPath;
            return kp.Verdict switch
            {
                HostKeyVerdict.Changed => new UserError(
                    $"{Name}: HOST KEY CHANGED: {file} line {kp.Line} has {kp.KnownFingerprint}, the host offered {fp}; refusing to connect " +
                    $"(if {where} was really reinstalled, remove the old entry with: ssh-keygen -R '{where}' -f {file})"),
                HostKeyVerdict.Revoked => new UserError($"{Name}: host key {fp} is marked @revoked in {file}; refusing to connect"),
                _ => new UserError(
                    $"{Name}: host key {fp} is not in {file}; check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) " +
                    "and rerun with --accept-new-host-keys to record it"),
            };
        }
        return e switch
        {
            SshAuthenticationException => new UserError(
                $"{Name}: authentication failed for user {_o.User} ({(_o.PrivateKeyPath is null ? "default keys" : "key " + _o.PrivateKeyPath)}" +
                $"{(_o.Password is null ? "" : " and password")}); check the user, the key and the host's authorized_keys"),
            SocketException se => new UserError($"{Name}: cannot reach {where}: {SocketReason(se)}; check the address, that sshd runs and the firewall"),
            SshOperationTimeoutException or OperationCanceledException or TimeoutException => new UserError(
                $"{Name}: no SSH answer from {where} within {_o.ConnectTimeout.TotalSeconds:0.#} s; check the address, that sshd runs and the firewall"),
            ProxyException => new UserError($"{Name}: proxy connection failed: {e.Message}"),
            _ => new UserError($"{Name}: SSH connection to {where} failed: {e.Message}"),
        };
    }

    private static string SocketReason(SocketException se) => se.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.TimedOut => "connection timed out",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "no route to host",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host name not found",
        _ => se.Message,
    };

    private async Task<SudoMode> ProbeSudoAsync(CancellationToken ct)
    {
        if (_o.User == "root")
        {
            return SudoMode.None;
        }
        var r = await ExecAsync(["sudo", "-n", "--", "true"], null, ct).ConfigureAwait(false);
        if (r.ExitCode == 0)
        {
            return SudoMode.NoPassword;
        }
        var err = Encoding.UTF8.GetString(r.Stderr);
        if (r.ExitCode == 127 || err.Contains("not found", StringComparison.OrdinalIgnoreCase))
        {
            throw new UserError($"{Name}: user {_o.User} is not root and sudo is not installed; log in as root or install sudo");
        }
        if (_o.SudoPassword is null)
        {
            throw SudoNeedsPassword(err);
        }
        var p = await ExecAsync(["sudo", "-k", "-S", "-p", "", "--", "true"], Encoding.UTF8.GetBytes(_o.SudoPassword + "\n"), ct).ConfigureAwait(false);
        if (p.ExitCode != 0)
        {
            var why = FirstLine(Encoding.UTF8.GetString(p.Stderr));
            throw new UserError(why.Contains("incorrect password", StringComparison.OrdinalIgnoreCase) || why.Contains("try again", StringComparison.OrdinalIgnoreCase)
                ? $"{Name}: the sudo password for {_o.User} was refused; give the right sudo password"
                : $"{Name}: sudo failed for {_o.User}: {why}; check that {_o.User} may use sudo");
        }
        return SudoMode.Password;
    }

    private UserError SudoNeedsPassword(string err) => new(
        err.Contains("not in the sudoers", StringComparison.OrdinalIgnoreCase) || err.Contains("not allowed", StringComparison.OrdinalIgnoreCase)
            ? $"{Name}: user {_o.User} may not use sudo; log in as root or add {_o.User} to sudoers"
            : $"{Name}: sudo for user {_o.User} needs a password that was not given; give the sudo password or allow NOPASSWD sudo for {_o.User}");

    private static string FirstLine(string s) => s.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";

    private sealed record RawResult(int ExitCode, byte[] Stdout, byte[] Stderr);

    /// <summary>Exec runs argv as the login user (no sudo) on the shared connection, one channel per call.</summary>
    private async Task<RawResult> ExecAsync(IReadOnlyList<string> argv, byte[]? stdin, CancellationToken ct)
    {
        var client = _client ?? throw new InvalidOperationException("not connected");
        // SSH.NET sends EOF only after some stdin bytes, so a command given no stdin reads /dev/null instead
        // (a constant redirect: the command itself is still only ShellQuote.Join(argv)).
        var noInput = stdin is not { Length: > 0 };
        var text = ShellQuote.Join(argv) + (noInput ? " </dev/null" : "");
        await _channels.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = client.CreateCommand(text, Encoding.UTF8);
            cmd.CommandTimeout = _o.CommandTimeout;
            var run = cmd.ExecuteAsync(ct);
            try
            {
                if (!noInput)
                {
                    using var input = cmd.CreateInputStream(); // disposing it sends EOF
                    await input.WriteAsync(stdin, ct).ConfigureAwait(false);
                }
            }
            catch (Exception x) when (x is InvalidOperationException or IOException or ObjectDisposedException)
            {
                // the command finished before reading (all of) its stdin, as a local pipe would see EPIPE
            }
            try
            {
                await run.ConfigureAwait(false);
            }
            catch (SshOperationTimeoutException)
            {
                throw new UserError($"{Name}: command {argv[0]} {(argv.Count > 1 ? argv[1] : "")} did not finish within {_o.CommandTimeout.TotalSeconds:0.#} s");
            }
            using var o = new MemoryStream();
            using var e = new MemoryStream();
            await cmd.OutputStream.CopyToAsync(o, ct).ConfigureAwait(false);
            await cmd.ExtendedOutputStream.CopyToAsync(e, ct).ConfigureAwait(false);
            return new RawResult(cmd.ExitStatus ?? 128 + 15, o.ToArray(), e.ToArray());
        }
        catch (SshConnectionException ex)
        {
            throw new UserError($"{Name}: SSH connection lost ({ex.Message}); check the host and retry");
        }
        finally
        {
            _channels.Release();
        }
    }

    /// <summary>RunRawAsync runs argv with root rights (directly as root, else through sudo) and returns raw bytes.</summary>
    private async Task<RawResult> RunRawAsync(IReadOnlyList<string> argv, byte[]? stdin, CancellationToken ct)
    {
        if (argv.Count == 0)
        {
            throw new ArgumentException("argv is empty", nameof(argv));
        }
        if (_client is not { IsConnected: true })
        {
            await ConnectAsync(ct).ConfigureAwait(false);
        }
        switch (_sudo)
        {
            case SudoMode.NoPassword:
                argv = ["sudo", "-n", "--", .. argv];
                break;
            case SudoMode.Password:
                argv = ["sudo", "-k", "-S", "-p", "", "--", .. argv];
                stdin = [.. Encoding.UTF8.GetBytes(_o.SudoPassword + "\n"), .. stdin ?? []];
                break;
        }
        var r = await ExecAsync(argv, stdin, ct).ConfigureAwait(false);
        if (_sudo == SudoMode.NoPassword && r.ExitCode == 1 && r.Stdout.Length == 0 &&
            Encoding.UTF8.GetString(r.Stderr).StartsWith("sudo: a password is required", StringComparison.Ordinal))
        {
            throw SudoNeedsPassword("");
        }
        return r;
    }

    /// <inheritdoc/>
    public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, string? stdin = null, CancellationToken ct = default)
    {
        var r = await RunRawAsync(argv, stdin is null ? null : Encoding.UTF8.GetBytes(stdin), ct).ConfigureAwait(false);
        return new CommandResult(r.ExitCode, Encoding.UTF8.GetString(r.Stdout), Encoding.UTF8.GetString(r.Stderr));
    }

    private async Task<RawResult?> IfExistsAsync(string test, string path, IReadOnlyList<string> argv, CancellationToken ct)
    {
        CheckPath(path);
        var r = await RunRawAsync(["sh", "-c", IfExistsScript, "kubeforge", test, path, .. argv], null, ct).ConfigureAwait(false);
        return r.ExitCode == Absent ? null : r;
    }

    private RawResult Must(RawResult r, string what) => r.ExitCode == 0 ? r
        : throw new UserError($"{Name}: {what} failed: {FirstLine(Encoding.UTF8.GetString(r.Stderr))} (exit {r.ExitCode})");

    private static void CheckPath(string path)
    {
        if (!path.StartsWith('/'))
        {
            throw new ArgumentException($"node path must be absolute: {path}", nameof(path));
        }
    }

    /// <inheritdoc/>
    /// <remarks>A directory reads as null, as LocalHost does.</remarks>
    public async Task<byte[]?> ReadFileAsync(string path, CancellationToken ct = default)
    {
        var r = await IfExistsAsync("-f", path, ["cat", "--", path], ct).ConfigureAwait(false);
        return r is null ? null : Must(r, $"reading {path}").Stdout;
    }

    /// <inheritdoc/>
    public async Task<FileState> StatAsync(string path, CancellationToken ct = default)
    {
        var r = await IfExistsAsync("-e", path, ["stat", "-L", "-c", "%F|%a|%s", "--", path], ct).ConfigureAwait(false);
        if (r is null || (r.ExitCode != 0 && Encoding.UTF8.GetString(r.Stderr).Contains("No such file", StringComparison.Ordinal)))
        {
            return new FileState(false, false, 0, 0);
        }
        var f = Encoding.UTF8.GetString(Must(r, $"stat {path}").Stdout).Trim().Split('|');
        var dir = f[0] == "directory";
        return new FileState(true, dir, Convert.ToInt32(f[1], 8), dir ? 0 : long.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct = default)
    {
        var r = await IfExistsAsync("-d", path, ["ls", "-A1", "--", path], ct).ConfigureAwait(false);
        if (r is null)
        {
            return [];
        }
        return Encoding.UTF8.GetString(Must(r, $"listing {path}").Stdout)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc/>
    public async Task WriteFileAsync(string path, byte[] content, int mode, int dirMode = FileModes.Dir, CancellationToken ct = default)
    {
        CheckPath(path);
        var slash = path.LastIndexOf('/');
        var dir = slash == 0 ? "/" : path[..slash];
        var tmp = $"{dir.TrimEnd('/')}/.{path[(slash + 1)..]}.kubeforge-{Guid.NewGuid():N}.tmp";
        Must(await RunRawAsync(["sh", "-c", WriteScript, "kubeforge", path, tmp, Octal(mode), dir, Octal(dirMode)], content, ct).ConfigureAwait(false),
            $"writing {path}");
    }

    /// <inheritdoc/>
    public async Task CreateDirectoryAsync(string path, int mode, CancellationToken ct = default)
    {
        CheckPath(path);
        Must(await RunRawAsync(["mkdir", "-p", "-m", Octal(mode), "--", path], null, ct).ConfigureAwait(false), $"creating {path}");
    }

    /// <inheritdoc/>
    public async Task DeleteAsync(string path, CancellationToken ct = default)
    {
        CheckPath(path);
        Must(await RunRawAsync(["rm", "-rf", "--", path], null, ct).ConfigureAwait(false), $"deleting {path}");
    }

    /// <inheritdoc/>
    public async Task RenameAsync(string from, string to, CancellationToken ct = default)
    {
        CheckPath(from);
        CheckPath(to);
        var parent = to[..Math.Max(1, to.LastIndexOf('/'))];
        Must(await RunRawAsync(["mkdir", "-p", "--", parent], null, ct).ConfigureAwait(false), $"creating {parent}");
        Must(await RunRawAsync(["mv", "-T", "--", from, to], null, ct).ConfigureAwait(false), $"renaming {from} to {to}");
    }

    private static string Octal(int mode) => Convert.ToString(mode & 0xFFF, 8).PadLeft(4, '0');

    /// <summary>Dispose closes the connection.</summary>
    public void Dispose()
    {
        _client?.Dispose();
        _client = null;
    }

    /// <summary>DisposeAsync closes the connection.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
