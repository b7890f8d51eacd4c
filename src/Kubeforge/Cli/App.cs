namespace Kubeforge.Cli;

/// <summary>App builds and runs the command tree; tests call Run with their own writers.</summary>
public static class App
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        stdout.WriteLine("kubeforge: not wired yet");
        return 0;
    }
}
