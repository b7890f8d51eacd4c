using System.Diagnostics;
using Kubeforge.Phases;

namespace Kubeforge.IntegrationTests.Kit;

/// <summary>Proc runs real tools for the integration tests and keeps track of the background processes a
/// test starts, so each one is stopped by PID.</summary>
public static class Proc
{
    /// <summary>Run runs argv to completion and returns (exit code, stdout+stderr).</summary>
    public static (int Code, string Output) Run(params string[] argv) => RunWithTimeout(TimeSpan.FromSeconds(60), argv);

    public static (int Code, string Output) RunWithTimeout(TimeSpan timeout, params string[] argv)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in argv.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}: {string.Join(' ', argv)}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>MustRun runs argv and fails the test when it exits non-zero.</summary>
    public static string MustRun(params string[] argv)
    {
        var (code, output) = Run(argv);
        Assert.True(code == 0, $"{string.Join(' ', argv)} failed ({code}): {output}");
        return output;
    }

    /// <summary>Start starts a background process whose output goes to logPath.</summary>
    public static Process Start(string logPath, params string[] argv)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in argv.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var log = new StreamWriter(logPath) { AutoFlush = true };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Stop sends SIGTERM to the process (by PID), then kills it if it does not exit.</summary>
    public static void Stop(Process p)
    {
        if (p.HasExited)
        {
            return;
        }
        Run("kill", "-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!p.WaitForExit(10_000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5_000);
        }
    }

    /// <summary>WaitUntil polls a condition until it holds or the timeout passes.</summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }
            Thread.Sleep(200);
        }
        return condition();
    }
}

/// <summary>NullUi swallows phase output; RecordingUi keeps it.</summary>
public sealed class RecordingUi : IUi
{
    public List<string> Lines { get; } = [];
    public void Info(string phase, string message) { lock (Lines) Lines.Add($"[{phase}] {message}"); }
    public void Warn(string phase, string message) { lock (Lines) Lines.Add($"[{phase}] WARNING: {message}"); }
    public void Raw(string text) { lock (Lines) Lines.Add(text); }
}

/// <summary>NetNs is a network namespace a test creates for its own test hosts (loopback up), removed on dispose
/// together with every process started in it.</summary>
public sealed class NetNs : IDisposable
{
    private readonly List<Process> _processes = [];

    public NetNs(string prefix = "kft")
    {
        Name = $"{prefix}{Environment.ProcessId % 10000}{Random.Shared.Next(1000, 9999)}";
        Proc.MustRun("ip", "netns", "add", Name);
        Proc.MustRun("ip", "-n", Name, "link", "set", "lo", "up");
    }

    public string Name { get; }

    /// <summary>Exec runs argv inside the namespace to completion.</summary>
    public (int Code, string Output) Exec(params string[] argv) => Proc.Run(["ip", "netns", "exec", Name, .. argv]);

    /// <summary>StartIn starts a background process inside the namespace; it is stopped on dispose.</summary>
    public Process StartIn(string logPath, params string[] argv)
    {
        var p = Proc.Start(logPath, ["ip", "netns", "exec", Name, .. argv]);
        _processes.Add(p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            Proc.Stop(p);
            p.Dispose();
        }
        Proc.Run("ip", "netns", "del", Name);
    }
}
