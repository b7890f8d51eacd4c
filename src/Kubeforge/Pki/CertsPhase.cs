using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kubeforge.Hosts;
using Kubeforge.Phases;

namespace Kubeforge.Pki;

/// <summary>CertsPhase is `init phase certs`: it makes the certificate table's files under certificatesDir,
/// reusing what already exists the way kubeadm does (spec/kubeadm.md §2): an existing CA is reused; a CA
/// certificate without its key means an external CA (certificates it signs must already exist); an existing
/// signed certificate is kept when its key matches, it verifies against its CA and its CN/SANs cover the config,
/// otherwise the run stops naming the file to delete; sa.key is reused when it parses.</summary>
public static class CertsPhase
{
    private const string Phase = "certs";

    /// <summary>RunAsync runs one sub-phase by name (see <see cref="CertTable.Names"/>), or all of them in
    /// kubeadm's order when certName is null or "all".</summary>
    public static async Task RunAsync(PhaseContext ctx, string? certName, CancellationToken ct = default)
    {
        var cfg = ctx.Config;
        if (certName is null or "all")
        {
            ctx.Ui.Info(Phase, $"Using certificateDir folder \"{cfg.CertDir}\"");
            foreach (var row in CertTable.For(cfg))
            {
                await RunRowAsync(ctx, row, ct).ConfigureAwait(false);
            }
            await RunSaAsync(ctx, ct).ConfigureAwait(false);
            return;
        }
        if (certName == CertTable.SaName)
        {
            await RunSaAsync(ctx, ct).ConfigureAwait(false);
            return;
        }
        var spec = CertTable.Get(certName)
            ?? throw new UserError($"unknown certificate \"{certName}\"; use one of: all, {string.Join(", ", CertTable.Names)}");
        await RunRowAsync(ctx, spec, ct).ConfigureAwait(false);
    }

    /// <summary>ExpectedSubject is what the table row says a certificate must contain for this config.</summary>
    public static CertSubject ExpectedSubject(CertSpec row, Phases.PhaseContext ctx) =>
        new(row.CommonName(ctx.Config), row.Organizations(ctx.Config), row.Usage,
            row.AltNamesFor(ctx.Config, m => ctx.Ui.Warn(Phase, m)).Normalized());

    private static Task RunRowAsync(PhaseContext ctx, CertSpec row, CancellationToken ct)
    {
        if (!ctx.Config.LocalEtcd && (row.Name == "etcd-ca" || row.CaName == "etcd-ca"))
        {
            ctx.Ui.Info(Phase, $"External etcd mode: Skipping {row.BaseName} certificate {(row.IsCa ? "authority " : "")}generation");
            return Task.CompletedTask;
        }
        return row.IsCa ? RunCaAsync(ctx, row, ct) : RunSignedAsync(ctx, row, ct);
    }

    private static async Task RunCaAsync(PhaseContext ctx, CertSpec row, CancellationToken ct)
    {
        var dir = ctx.Config.CertDir;
        var existing = await PkiStore.LoadCaAsync(ctx.Host, dir, row.BaseName, ct).ConfigureAwait(false);
        if (existing is { } ca)
        {
            WarnValidity(ctx, row.BaseName, ca.Cert);
            ctx.Ui.Info(Phase, ca.Key is null
                ? $"Using existing {row.BaseName} keyless certificate authority"
                : $"Using existing {row.BaseName} certificate authority");
            return;
        }
        if (await ctx.Host.ExistsAsync(PkiStore.KeyPath(dir, row.BaseName), ct).ConfigureAwait(false))
        {
            throw new UserError($"{PkiStore.KeyPath(dir, row.BaseName)} exists but {PkiStore.CertPath(dir, row.BaseName)} does not; restore the certificate or delete the key to generate a new {row.Name}");
        }
        ctx.Ui.Info(Phase, $"Generating \"{row.BaseName}\" certificate and key");
        var created = CertFactory.NewCa(row, ctx.Config, ctx.StartTime);
        await PkiStore.WriteCertAndKeyAsync(ctx.Host, dir, row.BaseName, created, ct).ConfigureAwait(false);
    }

    private static async Task RunSignedAsync(PhaseContext ctx, CertSpec row, CancellationToken ct)
    {
        var dir = ctx.Config.CertDir;
        var caRow = CertTable.CaOf(row);
        var ca = await PkiStore.LoadCaAsync(ctx.Host, dir, caRow.BaseName, ct).ConfigureAwait(false)
            ?? throw new UserError($"cannot create {row.BaseName}: the {caRow.BaseName} certificate authority {PkiStore.CertPath(dir, caRow.BaseName)} does not exist; run `init phase certs {caRow.Name}` first");
        var expected = ExpectedSubject(row, ctx);
        var crtPath = PkiStore.CertPath(dir, row.BaseName);
        var keyPath = PkiStore.KeyPath(dir, row.BaseName);
        var cert = await PkiStore.LoadCertAsync(ctx.Host, crtPath, ct).ConfigureAwait(false);
        var key = await PkiStore.LoadKeyAsync(ctx.Host, keyPath, ct).ConfigureAwait(false);
        if (cert is not null || key is not null)
        {
            if (cert is null || key is null)
            {
                throw new UserError($"{(cert is null ? keyPath : crtPath)} exists but {(cert is null ? crtPath : keyPath)} does not; restore the missing file or delete {(cert is null ? keyPath : crtPath)} to generate a new {row.Name}");
            }
            var problem = Mismatch(cert, key, ca.Cert, expected, caRow.BaseName);
            if (problem is not null)
            {
                throw new UserError($"existing certificate {crtPath} {problem}; delete {crtPath} and {keyPath} to let them be generated again");
            }
            WarnValidity(ctx, row.BaseName, cert);
            ctx.Ui.Info(Phase, $"Using existing {row.BaseName} certificate and key on disk");
            return;
        }
        if (ca.Key is null)
        {
            throw new UserError($"external CA mode ({PkiStore.KeyPath(dir, caRow.BaseName)} is absent): {crtPath} and {keyPath} must be provided, signed by {PkiStore.CertPath(dir, caRow.BaseName)}; create them with your CA, or provide the CA key");
        }
        ctx.Ui.Info(Phase, $"Generating \"{row.BaseName}\" certificate and key");
        var created = CertFactory.NewSigned(expected, ctx.Config, new CertAndKey(ca.Cert, ca.Key), ctx.StartTime);
        if (row.Usage.HasFlag(CertUsage.ServerAuth))
        {
            ctx.Ui.Info(Phase, $"{row.BaseName} serving cert is signed for {expected.AltNames}");
        }
        await PkiStore.WriteCertAndKeyAsync(ctx.Host, dir, row.BaseName, created, ct).ConfigureAwait(false);
    }

    /// <summary>Mismatch returns why an existing certificate cannot be reused (null when it can): key, chain, CN, SANs.</summary>
    public static string? Mismatch(X509Certificate2 cert, System.Security.Cryptography.AsymmetricAlgorithm key, X509Certificate2 ca, CertSubject expected, string caName)
    {
        if (!Keys.PublicKeyMatches(cert, key))
        {
            return "does not match its private key";
        }
        if (!CertFactory.VerifiesWith(cert, ca))
        {
            return $"is not signed by the {caName} certificate authority";
        }
        var actual = CertFactory.SubjectOf(cert);
        if (actual.CommonName != expected.CommonName)
        {
            return $"has CN \"{actual.CommonName}\" but \"{expected.CommonName}\" is expected";
        }
        var missingDns = expected.AltNames.Dns.Where(d => !actual.AltNames.Dns.Contains(d)).ToList();
        var missingIps = expected.AltNames.Ips.Where(i => !actual.AltNames.Ips.Contains(i)).Select(i => i.ToString()).ToList();
        if (missingDns.Count + missingIps.Count > 0)
        {
            return $"lacks the SANs [{string.Join(' ', missingDns.Concat(missingIps))}] the config requires";
        }
        return null;
    }

    private static async Task RunSaAsync(PhaseContext ctx, CancellationToken ct)
    {
        var dir = ctx.Config.CertDir;
        var keyPath = NodePaths.Join(dir, "sa.key");
        var pubPath = NodePaths.Join(dir, "sa.pub");
        var key = await PkiStore.LoadKeyAsync(ctx.Host, keyPath, ct).ConfigureAwait(false);
        if (key is not null)
        {
            ctx.Ui.Info(Phase, "Using the existing \"sa\" key");
            if (!await ctx.Host.ExistsAsync(pubPath, ct).ConfigureAwait(false))
            {
                await ctx.Host.WriteFileAsync(pubPath, Encoding.UTF8.GetBytes(Keys.PublicPem(key)), FileModes.Private, FileModes.Dir, ct).ConfigureAwait(false);
            }
            return;
        }
        ctx.Ui.Info(Phase, "Generating \"sa\" key and public key");
        key = Keys.Generate(ctx.Config.Cluster.EncryptionAlgorithm);
        await ctx.Host.WriteIfChangedAsync(keyPath, Encoding.UTF8.GetBytes(Keys.ToPem(key)), FileModes.Private, FileModes.Dir, ct).ConfigureAwait(false);
        await ctx.Host.WriteIfChangedAsync(pubPath, Encoding.UTF8.GetBytes(Keys.PublicPem(key)), FileModes.Private, FileModes.Dir, ct).ConfigureAwait(false);
    }

    private static void WarnValidity(PhaseContext ctx, string baseName, X509Certificate2 cert)
    {
        var now = ctx.Time.GetUtcNow();
        if (cert.NotAfter.ToUniversalTime() < now.UtcDateTime)
        {
            ctx.Ui.Warn(Phase, $"certificate {baseName} expired on {cert.NotAfter.ToUniversalTime():u}; renew it with `certs renew`");
        }
        else if (cert.NotBefore.ToUniversalTime() > now.UtcDateTime)
        {
            ctx.Ui.Warn(Phase, $"certificate {baseName} is not valid before {cert.NotBefore.ToUniversalTime():u}; check the clock");
        }
    }
}
