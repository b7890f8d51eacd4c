using System.CommandLine;
using Kubeforge.Tokens;

namespace Kubeforge.Cli;

/// <summary>TokenCommand builds "token generate" (the API-side token commands come with the cluster phases).</summary>
public static class TokenCommand
{
    public static Command Build(CliIo io)
    {
        var token = new Command("token", "Manage bootstrap tokens");
        var generate = new Command("generate", "Generate and print a bootstrap token, but do not create it on the server");
        generate.SetAction(_ =>
        {
            io.Out.WriteLine(BootstrapToken.Generate().ToString());
            return 0;
        });
        token.Subcommands.Add(generate);
        return token;
    }
}
