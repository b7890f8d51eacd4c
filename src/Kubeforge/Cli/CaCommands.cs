using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Kubeforge.Hosts;
using Kubeforge.Node;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.Cli;

/// <summary>CaCommands builds "ca create", "ca issue" and "ca trust" for a registry-mirror CA (guide §8).</summary>
public static class CaCommands
{
    public static Command Build(CliIo io)
    {
        var ca = new Command("ca", "A private CA for a registry mirror: create it, issue server certificates, trust it on hosts");

        var outDir = new Option<string>("--out") { Description = "Folder to write into", Required = true };
        var cn = new Option<string>("--cn") { Description = "Common name", DefaultValueFactory = _ => "Mirror CA" };
        var days = new Option<int>("--days") { Description = "Validity in days", DefaultValueFactory = _ => 3650 };
        var create = new Command("create", "Create a CA (ca.crt, ca.key with mode 0600; the key is never printed)") { outDir, cn, days };
        create.SetAction(pr =>
        {
            var ck = MirrorCa.Create(pr.GetValue(cn)!, Days(pr.GetValue(days)), io.Env.Time.GetUtcNow());
            var (c, _) = MirrorCa.WriteLocal(pr.GetValue(outDir)!, "ca", ck);
            io.Ui.Info("ca", $"Wrote {c} and its key (mode 0600); valid until {ck.Cert.NotAfter.ToUniversalTime():yyyy-MM-dd}");
            return 0;
        });

        var caDir = new Option<string>("--ca") { Description = "CA folder made by `ca create`", Required = true };
        var icn = new Option<string>("--cn") { Description = "Common name of the server certificate (e.g. *.k8s.io)", Required = true };
        var sans = new Option<string[]>("--san") { Description = "Subject alternative names (DNS names, wildcards, IPs), comma-separated or repeated", AllowMultipleArgumentsPerToken = true };
        var iout = new Option<string>("--out") { Description = "Folder to write <name>.crt and <name>.key into", Required = true };
        var idays = new Option<int>("--days") { Description = "Validity in days (capped at the CA's)", DefaultValueFactory = _ => 825 };
        var issue = new Command("issue", "Issue a server certificate signed by the CA") { caDir, icn, sans, iout, idays };
        issue.SetAction(pr =>
        {
            var authority = MirrorCa.LoadLocal(pr.GetValue(caDir)!);
            var name = pr.GetValue(icn)!;
            var ck = MirrorCa.Issue(authority, name, InitFlagSet.Split(pr.GetValue(sans)), Days(pr.GetValue(idays)), io.Env.Time.GetUtcNow());
            var (c, _) = MirrorCa.WriteLocal(pr.GetValue(iout)!, MirrorCa.FileBase(name), ck);
            io.Ui.Info("ca", $"Wrote {c} and its key (mode 0600) for {string.Join(", ", ck.Cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames().Concat(e.EnumerateIPAddresses().Select(i => i.ToString()))))}");
            return 0;
        });

        var caFile = new Option<string>("--ca") { Description = "The CA certificate file (ca.crt)", Required = true };
        var registry = new Option<string?>("--registry") { Description = "Registry host[:port] containerd should trust it for (writes certs.d/<registry>/hosts.toml)" };
        var name = new Option<string>("--name") { Description = "File name in the trust store", DefaultValueFactory = _ => "kubeforge-mirror-ca" };
        var hostOpts = new HostOptions();
        var trust = new Command("trust", "Trust the CA on a host: the OS trust store (RHEL or Debian family) and containerd") { caFile, registry, name };
        hostOpts.AddTo(trust);
        trust.SetAction(async (pr, ct) =>
        {
            var path = pr.GetValue(caFile)!;
            if (!File.Exists(path))
            {
                throw new UserError($"--ca: {path} does not exist");
            }
            var pem = File.ReadAllText(path);
            try
            {
                if (!CertFactory.IsCa(X509Certificate2.CreateFromPem(pem)))
                {
                    throw new UserError($"--ca: {path} is not a CA certificate");
                }
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                throw new UserError($"--ca: {path} is not a PEM certificate");
            }
            var real = hostOpts.BuildReal(pr, io);
            try
            {
                var os = HostFacts.ParseOsRelease(real.Name, await real.ReadTextAsync("/etc/os-release", ct).ConfigureAwait(false));
                var host = hostOpts.Wrap(pr, real);
                var steps = await MirrorCa.TrustAsync(host, os.Family, pem, pr.GetValue(name)!, pr.GetValue(registry), ct).ConfigureAwait(false);
                NodeCommands.PrintSteps(io, "ca", steps);
                if (host is DryRunHost dry)
                {
                    await HostOptions.PrintDryRunAsync(io, dry, ct).ConfigureAwait(false);
                }
                return 0;
            }
            finally
            {
                (real as IDisposable)?.Dispose();
            }
        });

        ca.Subcommands.Add(create);
        ca.Subcommands.Add(issue);
        ca.Subcommands.Add(trust);
        return ca;
    }

    private static int Days(int d) => d is > 0 and <= 36500 ? d : throw new UserError($"--days: {d} is out of range; give 1..36500");
}
