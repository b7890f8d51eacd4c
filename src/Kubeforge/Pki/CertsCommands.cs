using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kubeforge.Hosts;
using Kubeforge.KubeConfig;
using Kubeforge.Phases;
using Kubeforge.Yaml;

namespace Kubeforge.Pki;

/// <summary>CertsCommands implements `certs check-expiration` and `certs renew` like kubeadm's renewal manager:
/// every signed certificate of the table plus the client certificates embedded in admin.conf,
/// controller-manager.conf, scheduler.conf (and super-admin.conf when present), sorted by name. kubelet.conf is
/// left to the kubelet's own rotation, as kubeadm does.</summary>
public static class CertsCommands
{
    /// <summary>RenewTarget is one renewable certificate: its name, help text, CA row name, and where it lives
    /// (a PKI base name, or a kubeconfig file when KubeConfigPath is set).</summary>
    public sealed record RenewTarget(string Name, string LongName, string CaName, string CaBaseName, string? BaseName, string? KubeConfigPath);

    private static readonly (string File, string LongName)[] KubeConfigTargets =
    [
        ("admin.conf", "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself"),
        ("controller-manager.conf", "certificate embedded in the kubeconfig file for the controller manager to use"),
        ("scheduler.conf", "certificate embedded in the kubeconfig file for the scheduler manager to use"),
        ("super-admin.conf", "certificate embedded in the kubeconfig file for the super-admin"),
    ];

    /// <summary>Names are the renew sub-command names in kubeadm's order (sorted), without "all".</summary>
    public static IReadOnlyList<string> Names =>
        CertTable.Rows.Where(r => !r.IsCa).Select(r => r.Name).Concat(KubeConfigTargets.Select(k => k.File)).Order(StringComparer.Ordinal).ToList();

    /// <summary>TargetsAsync lists what this config manages, sorted by name; super-admin.conf only when the file exists.</summary>
    public static async Task<IReadOnlyList<RenewTarget>> TargetsAsync(PhaseContext ctx, CancellationToken ct = default)
    {
        var list = new List<RenewTarget>();
        foreach (var row in CertTable.For(ctx.Config).Where(r => !r.IsCa))
        {
            var ca = CertTable.CaOf(row);
            list.Add(new RenewTarget(row.Name, row.LongName, ca.Name, ca.BaseName, row.BaseName, null));
        }
        foreach (var (file, longName) in KubeConfigTargets)
        {
            var path = NodePaths.KubeConfig(file);
            if (file == "super-admin.conf" && !await ctx.Host.ExistsAsync(path, ct).ConfigureAwait(false))
            {
                continue;
            }
            list.Add(new RenewTarget(file, longName, "ca", "ca", null, path));
        }
        list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return list;
    }

    /// <summary>CheckExpirationAsync returns kubeadm's two tables (certificates, then certificate authorities) with
    /// expiry date, residual time, signing CA and whether the CA is external (no key).</summary>
    public static async Task<string> CheckExpirationAsync(PhaseContext ctx, CancellationToken ct = default)
    {
        var now = ctx.Time.GetUtcNow();
        var dir = ctx.Config.CertDir;
        var certLines = new List<string> { "CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED" };
        foreach (var t in await TargetsAsync(ctx, ct).ConfigureAwait(false))
        {
            var cert = await ReadTargetAsync(ctx, t, ct).ConfigureAwait(false);
            if (cert is null)
            {
                certLines.Add($"!MISSING! {t.Name}\t\t\t\t");
                continue;
            }
            var external = await IsExternalAsync(ctx, t.CaBaseName, ct).ConfigureAwait(false);
            certLines.Add($"{t.Name}\t{Date(cert)}\t{ShortHumanDuration(cert.NotAfter.ToUniversalTime() - now.UtcDateTime)}\t{t.CaName}\t{YesNo(external),-8}");
        }
        var caLines = new List<string> { "CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED" };
        foreach (var ca in CertTable.For(ctx.Config).Where(r => r.IsCa).OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            var cert = await PkiStore.LoadCertAsync(ctx.Host, PkiStore.CertPath(dir, ca.BaseName), ct).ConfigureAwait(false);
            if (cert is null)
            {
                caLines.Add($"!MISSING! {ca.Name}\t\t\t");
                continue;
            }
            var external = await IsExternalAsync(ctx, ca.BaseName, ct).ConfigureAwait(false);
            caLines.Add($"{ca.Name}\t{Date(cert)}\t{ShortHumanDuration(cert.NotAfter.ToUniversalTime() - now.UtcDateTime)}\t{YesNo(external),-8}");
        }
        return TabWriter(certLines) + "\n" + TabWriter(caLines);
    }

    /// <summary>RenewAsync renews one certificate by name (see <see cref="Names"/>) or "all": same CN, O, usages and
    /// SANs, a new private key of the configured algorithm (kubeadm does not keep the old key), signed by the existing
    /// CA; kubeconfig files get their embedded client certificate and key replaced. Prints kubeadm's lines.</summary>
    public static async Task RenewAsync(PhaseContext ctx, string name, CancellationToken ct = default)
    {
        var targets = await TargetsAsync(ctx, ct).ConfigureAwait(false);
        if (name == "all")
        {
            foreach (var t in targets)
            {
                await RenewOneAsync(ctx, t, ct).ConfigureAwait(false);
            }
            ctx.Ui.Raw("\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n");
            return;
        }
        var target = targets.FirstOrDefault(t => t.Name == name)
            ?? throw new UserError($"{name} is not a valid certificate for this cluster; use one of: all, {string.Join(", ", targets.Select(t => t.Name))}");
        await RenewOneAsync(ctx, target, ct).ConfigureAwait(false);
    }

    private static async Task RenewOneAsync(PhaseContext ctx, RenewTarget t, CancellationToken ct)
    {
        var old = await ReadTargetAsync(ctx, t, ct).ConfigureAwait(false);
        if (old is null)
        {
            ctx.Ui.Raw($"MISSING! {t.LongName}\n");
            return;
        }
        var ca = await PkiStore.LoadCaAsync(ctx.Host, ctx.Config.CertDir, t.CaBaseName, ct).ConfigureAwait(false);
        if (ca is not { Key: not null } local)
        {
            ctx.Ui.Raw($"Detected external {t.CaBaseName}, {t.LongName} can't be renewed\n");
            return;
        }
        var s = CertFactory.SubjectOf(old);
        var renewed = CertFactory.NewSigned(s with { AltNames = s.AltNames.Normalized() }, ctx.Config, new CertAndKey(local.Cert, local.Key), ctx.StartTime);
        if (t.KubeConfigPath is { } path)
        {
            var view = KubeConfigFile.Read((await ctx.Host.ReadFileAsync(path, ct).ConfigureAwait(false))!, path);
            view.User["client-certificate-data"] = KubeConfigFile.B64(renewed.CertPem);
            view.User["client-key-data"] = KubeConfigFile.B64(renewed.KeyPem);
            await ctx.Host.WriteFileAsync(path, GoYamlWriter.WriteBytes(view.Document), FileModes.Private, FileModes.Dir, ct).ConfigureAwait(false);
        }
        else
        {
            await PkiStore.WriteCertAndKeyAsync(ctx.Host, ctx.Config.CertDir, t.BaseName!, renewed, ct).ConfigureAwait(false);
        }
        ctx.Ui.Raw($"{t.LongName} renewed\n");
    }

    private static async Task<X509Certificate2?> ReadTargetAsync(PhaseContext ctx, RenewTarget t, CancellationToken ct)
    {
        if (t.BaseName is not null)
        {
            return await PkiStore.LoadCertAsync(ctx.Host, PkiStore.CertPath(ctx.Config.CertDir, t.BaseName), ct).ConfigureAwait(false);
        }
        var bytes = await ctx.Host.ReadFileAsync(t.KubeConfigPath!, ct).ConfigureAwait(false);
        if (bytes is null)
        {
            return null;
        }
        var pem = KubeConfigFile.Read(bytes, t.KubeConfigPath!).ClientCertPem
            ?? throw new UserError($"{t.KubeConfigPath} has no embedded client certificate for its current user; it cannot be checked or renewed here");
        return Pem.LoadCert(pem, t.KubeConfigPath!);
    }

    /// <summary>IsExternalAsync is kubeadm IsExternallyManaged: ca and front-proxy-ca are external when their key is absent; etcd-ca never.</summary>
    private static async Task<bool> IsExternalAsync(PhaseContext ctx, string caBaseName, CancellationToken ct) =>
        caBaseName != "etcd/ca"
        && await ctx.Host.ExistsAsync(PkiStore.CertPath(ctx.Config.CertDir, caBaseName), ct).ConfigureAwait(false)
        && !await ctx.Host.ExistsAsync(PkiStore.KeyPath(ctx.Config.CertDir, caBaseName), ct).ConfigureAwait(false);

    private static string YesNo(bool b) => b ? "yes" : "no";

    private static string Date(X509Certificate2 cert) =>
        cert.NotAfter.ToUniversalTime().ToString("MMM dd, yyyy HH:mm", CultureInfo.InvariantCulture) + " UTC";

    /// <summary>ShortHumanDuration is apimachinery's duration.ShortHumanDuration ("59s", "12m", "5h", "364d", "9y").</summary>
    public static string ShortHumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < -1) return "<invalid>";
        if (seconds < 0) return "0s";
        if (seconds < 60) return $"{seconds}s";
        var minutes = (long)d.TotalMinutes;
        if (minutes < 60) return $"{minutes}m";
        var hours = (long)d.TotalHours;
        if (hours < 24) return $"{hours}h";
        if (hours < 24 * 365) return $"{hours / 24}d";
        return $"{(long)(d.TotalHours / 24 / 365)}y";
    }

    /// <summary>TabWriter lays out tab-terminated cells like Go's tabwriter.NewWriter(out, 10, 4, 3, ' ', 0) for a
    /// block of lines with the same number of cells; the text after the last tab is written as is.</summary>
    internal static string TabWriter(IReadOnlyList<string> lines)
    {
        var rows = lines.Select(l => l.Split('\t')).ToList();
        var columns = rows.Max(r => r.Length) - 1;
        var widths = new int[Math.Max(columns, 0)];
        for (var c = 0; c < columns; c++)
        {
            widths[c] = Math.Max(10, rows.Where(r => c < r.Length - 1).Select(r => r[c].Length + 3).DefaultIfEmpty(0).Max());
        }
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (var c = 0; c < r.Length - 1; c++)
            {
                sb.Append(r[c].PadRight(widths[c]));
            }
            sb.Append(r[^1]).Append('\n');
        }
        return sb.ToString();
    }
}
