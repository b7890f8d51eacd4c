using System.Runtime.InteropServices;

namespace Kubeforge.LabNode;

/// <summary>CriCtl is the lab's crictl TEST DOUBLE for the two things Kubeforge asks of crictl: <c>crictl ps</c> (list the
/// static pod processes) and <c>crictl rmp --all --force</c> (what reset runs to remove every pod: here it stops every static
/// pod process the kubelet stand-in started, from its pid files, so nothing keeps listening after a reset).</summary>
public static partial class CriCtl
{
    /// <summary>Main runs the crictl subcommand.</summary>
    public static async Task<int> MainAsync(string[] args, string runDir = Kubelet.RunDir)
    {
        var pods = Directory.Exists(runDir) ? Directory.GetFiles(runDir, "*.pid").Order(StringComparer.Ordinal).ToList() : [];
        switch (args.FirstOrDefault(a => !a.StartsWith('-')))
        {
            case "ps" or "pods":
                Console.WriteLine("POD                       PID");
                foreach (var f in pods)
                {
                    Console.WriteLine($"{Path.GetFileNameWithoutExtension(f),-25} {File.ReadLines(f).FirstOrDefault()}");
                }
                return 0;
            case "rmp" when args.Contains("--all") || args.Contains("-a"):
                foreach (var f in pods)
                {
                    if (int.TryParse(File.ReadLines(f).FirstOrDefault(), out var pid))
                    {
                        await StopAsync(pid);
                        Console.WriteLine($"Removed sandbox {Path.GetFileNameWithoutExtension(f)} (process {pid})");
                    }
                    File.Delete(f);
                }
                return 0;
            default:
                Console.Error.WriteLine("crictl TEST DOUBLE (kubeforge-labnode): only \"ps\" and \"rmp --all [--force]\" are emulated");
                return 1;
        }
    }

    private static async Task StopAsync(int pid)
    {
        if (Kill(pid, 15) != 0)
        {
            return;
        }
        for (var i = 0; i < 100 && Kill(pid, 0) == 0; i++)
        {
            await Task.Delay(100);
        }
        if (Kill(pid, 0) == 0)
        {
            Kill(pid, 9);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
