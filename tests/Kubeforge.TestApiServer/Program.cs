namespace Kubeforge.TestApiServer;

/// <summary>Program runs the test API server as a standalone process from a kube-apiserver command line.</summary>
public static class Program
{
    /// <summary>Main parses kube-apiserver flags (unknown ones ignored), serves until SIGTERM/Ctrl+C; exit 2 on bad flags.</summary>
    public static async Task<int> Main(string[] args)
    {
        TestApiServerOptions options;
        try { options = TestApiServerOptions.FromArgs(args); }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"test-apiserver: {e.Message}");
            return 2;
        }
        await using var server = await TestApiServer.StartAsync(options);
        var storage = options.EtcdServers.Count == 0 ? "in memory" : $"etcd {string.Join(',', options.EtcdServers)} under {options.EtcdPrefix}";
        Console.Out.WriteLine($"test-apiserver: serving on {server.BaseUri} (objects {storage})");
        await server.WaitForShutdownAsync();
        return 0;
    }
}
