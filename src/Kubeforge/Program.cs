namespace Kubeforge;

public static class Program
{
    public static int Main(string[] args) => Cli.App.Run(args, Console.Out, Console.Error);
}
