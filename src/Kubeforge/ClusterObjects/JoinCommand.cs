using System.Text;
using Kubeforge.Config;
using Kubeforge.Tokens;

namespace Kubeforge.ClusterObjects;

/// <summary>JoinCommand renders the join command text kubeadm prints (spec §14, cmd/util/join.go), the init success
/// summary, the single-line --print-join-command form, and the "token list" table.</summary>
public static class JoinCommand
{
    /// <summary>Withheld replaces a token or certificate key the user asked not to print.</summary>
    public const string Withheld = "<value withheld>";

    /// <summary>Worker is "kubeadm join host:port --token T \" newline, four spaces, one
    /// "--discovery-token-ca-cert-hash H " per CA pin (note the trailing space); no final newline.</summary>
    public static string Worker(string server, string token, IEnumerable<string> caCertHashes) =>
        Render(server, token, caCertHashes, controlPlane: false, certificateKey: null);

    /// <summary>ControlPlane adds " \" newline, four spaces, "--control-plane " and "--certificate-key K" when a key is given.</summary>
    public static string ControlPlane(string server, string token, IEnumerable<string> caCertHashes, string? certificateKey) =>
        Render(server, token, caCertHashes, controlPlane: true, certificateKey);

    private static string Render(string server, string token, IEnumerable<string> pins, bool controlPlane, string? certificateKey)
    {
        var sb = new StringBuilder($"kubeadm join {server.Replace("https://", "", StringComparison.Ordinal)} --token {token} \\\n    ");
        foreach (var h in pins)
        {
            sb.Append("--discovery-token-ca-cert-hash ").Append(h).Append(' ');
        }
        if (controlPlane)
        {
            sb.Append("\\\n    --control-plane ");
            if (!string.IsNullOrEmpty(certificateKey))
            {
                sb.Append("--certificate-key ").Append(certificateKey);
            }
        }
        return sb.ToString();
    }

    /// <summary>SingleLine is the "token create --print-join-command" form: the template with every "\" + newline and tab removed.</summary>
    public static string SingleLine(string joinCommand) => joinCommand.Replace("\\\n", "", StringComparison.Ordinal).Replace("\t", "", StringComparison.Ordinal);

    /// <summary>InitSummary is the text "kubeadm init" prints at the end (leading newline included). The control-plane block
    /// appears only with a controlPlaneEndpoint (joinControlPlane non-null), worded for --upload-certs or manual copying.</summary>
    public static string InitSummary(string adminKubeconfigPath, string? joinControlPlane, bool uploadCerts, string joinWorker)
    {
        var sb = new StringBuilder();
        sb.Append("\nYour Kubernetes control-plane has initialized successfully!\n\n");
        sb.Append("To start using your cluster, you need to run the following as a regular user:\n\n");
        sb.Append("  mkdir -p $HOME/.kube\n");
        sb.Append($"  sudo cp -i {adminKubeconfigPath} $HOME/.kube/config\n");
        sb.Append("  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n");
        sb.Append("Alternatively, if you are the root user, you can run:\n\n");
        sb.Append($"  export KUBECONFIG={adminKubeconfigPath}\n\n");
        sb.Append("You should now deploy a pod network to the cluster.\n");
        sb.Append("Run \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:\n");
        sb.Append("  https://kubernetes.io/docs/concepts/cluster-administration/addons/\n\n");
        if (joinControlPlane is not null)
        {
            if (uploadCerts)
            {
                sb.Append("You can now join any number of the control-plane node running the following command on each as root:\n\n");
                sb.Append($"  {joinControlPlane}\n\n");
                sb.Append("Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\n");
                sb.Append("As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use\n");
                sb.Append("\"kubeadm init phase upload-certs --upload-certs\" to reload certs afterward.\n\n");
            }
            else
            {
                sb.Append("You can now join any number of control-plane nodes by copying certificate authorities\n");
                sb.Append("and service account keys on each node and then running the following as root:\n\n");
                sb.Append($"  {joinControlPlane}\n\n");
            }
        }
        sb.Append("Then you can join any number of worker nodes by running the following on each as root:\n\n");
        sb.Append(joinWorker).Append('\n');
        return sb.ToString();
    }

    /// <summary>ShortHumanDuration is apimachinery's duration.ShortHumanDuration (&lt;invalid&gt;, Ns, Nm, Nh, Nd, Ny).</summary>
    public static string ShortHumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < -1)
        {
            return "<invalid>";
        }
        if (seconds < 0)
        {
            return "0s";
        }
        if (seconds < 60)
        {
            return $"{seconds}s";
        }
        if ((long)d.TotalMinutes is var minutes && minutes < 60)
        {
            return $"{minutes}m";
        }
        if ((long)d.TotalHours is var hours && hours < 24)
        {
            return $"{hours}h";
        }
        return hours < 24 * 365 ? $"{hours / 24}d" : $"{(long)(d.TotalHours / 24 / 365)}y";
    }

    /// <summary>TokenTable is "kubeadm token list": header TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS, laid out like
    /// Go's tabwriter(minwidth 10, padding 3, spaces); &lt;forever&gt;/&lt;never&gt; for tokens without expiry, &lt;none&gt; for empty cells.</summary>
    public static string TokenTable(IEnumerable<(BootstrapToken Token, BootstrapTokenSpec Spec)> tokens, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS" } };
        foreach (var (t, s) in tokens)
        {
            var ttl = s.Expires is { } e ? ShortHumanDuration(e - now) : "<forever>";
            var exp = s.Expires is { } e2 ? BootstrapTokens.Rfc3339(e2) : "<never>";
            string Or(string v) => v.Length == 0 ? "<none>" : v;
            rows.Add([t.ToString(), ttl, exp, Or(string.Join(',', s.Usages)), Or(s.Description ?? ""), Or(string.Join(',', s.Groups))]);
        }
        return TabWriter(rows, minWidth: 10, padding: 3);
    }

    /// <summary>TabWriter aligns every cell but the last of each row to max(minWidth, longest + padding).</summary>
    public static string TabWriter(IReadOnlyList<string[]> rows, int minWidth, int padding)
    {
        var cols = rows.Max(r => r.Length) - 1;
        var widths = new int[Math.Max(cols, 0)];
        for (var c = 0; c < cols; c++)
        {
            widths[c] = Math.Max(minWidth, rows.Where(r => r.Length - 1 > c).Select(r => r[c].Length + padding).DefaultIfEmpty(0).Max());
        }
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (var c = 0; c < r.Length; c++)
            {
                sb.Append(c < r.Length - 1 ? r[c].PadRight(widths[c]) : r[c]);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
