using System.Text;
using Kubeforge.Hosts;

namespace Kubeforge.Cli;

/// <summary>DryRunReport prints what a dry run would have changed, kubeadm style: every file with its mode,
/// the content of non-secret files (manifests, kubelet files), and every command as argv. It also leaves
/// the would-be files in a private temporary folder for inspection, as kubeadm does.</summary>
public static class DryRunReport
{
    /// <summary>IsSecret reports files whose content must not be printed (keys, kubeconfigs, anything under pki).</summary>
    public static bool IsSecret(string path) =>
        path.EndsWith(".key", StringComparison.Ordinal) || path.EndsWith(".conf", StringComparison.Ordinal) ||
        path.EndsWith(".pem", StringComparison.Ordinal) || path.Contains("/pki/", StringComparison.Ordinal);

    public static void Print(CliIo io, DryRunHost dry)
    {
        var dir = Directory.CreateTempSubdirectory("kubeforge-init-dryrun-");
        File.SetUnixFileMode(dir.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var files = 0;
        foreach (var a in dry.Actions)
        {
            switch (a.Kind)
            {
                case DryRunKind.WriteFile:
                    files++;
                    var target = Path.Join(dir.FullName, a.Path);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.WriteAllBytes(target, a.Content!);
                    File.SetUnixFileMode(target, (UnixFileMode)a.Mode);
                    if (IsSecret(a.Path) || a.Path.EndsWith(".crt", StringComparison.Ordinal) || a.Path.EndsWith(".pub", StringComparison.Ordinal))
                    {
                        io.Ui.Info("dryrun", $"Would write file \"{a.Path}\" (mode {Convert.ToString(a.Mode, 8)}, {a.Content!.Length} bytes; content not shown)");
                    }
                    else
                    {
                        io.Ui.Info("dryrun", $"Would write file \"{a.Path}\" (mode {Convert.ToString(a.Mode, 8)}) with content:");
                        var sb = new StringBuilder();
                        foreach (var line in Encoding.UTF8.GetString(a.Content!).TrimEnd('\n').Split('\n'))
                        {
                            sb.Append("\t").Append(line).Append('\n');
                        }
                        io.Ui.Raw(sb.ToString());
                    }
                    break;
                case DryRunKind.CreateDirectory:
                    io.Ui.Info("dryrun", $"Would create directory \"{a.Path}\" (mode {Convert.ToString(a.Mode, 8)})");
                    break;
                case DryRunKind.Delete:
                    io.Ui.Info("dryrun", $"Would delete \"{a.Path}\"");
                    break;
                case DryRunKind.Rename:
                    io.Ui.Info("dryrun", $"Would move \"{a.Path}\" to \"{a.Argv![0]}\"");
                    break;
                case DryRunKind.Run:
                    io.Ui.Info("dryrun", $"Would run: {ShellQuote.Join(a.Argv!)}");
                    break;
            }
        }
        io.Ui.Info("dryrun", $"Wrote {files} would-be files (certificates, kubeconfig files, manifests, kubelet files) to the \"{dir.FullName}\" directory; nothing on the host was changed");
    }
}
