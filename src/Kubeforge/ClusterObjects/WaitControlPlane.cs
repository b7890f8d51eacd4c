using System.Globalization;
using Kubeforge.Phases;

namespace Kubeforge.ClusterObjects;

/// <summary>WaitControlPlane is the API part of "wait-control-plane": poll /livez then /readyz until both answer 200.</summary>
public static class WaitControlPlane
{
    /// <summary>RunAsync prints "[api-check] Waiting for a healthy API server. This can take up to 4m0s", polls every
    /// 500 ms, prints "[api-check] The API server is healthy after 1.5s" and throws a UserError naming the last answer on timeout.</summary>
    public static async Task RunAsync(PhaseContext ctx, IKubeApi api, TimeSpan timeout, CancellationToken ct = default)
    {
        ctx.Ui.Info("api-check", $"Waiting for a healthy API server. This can take up to {GoDuration(timeout)}");
        var start = ctx.Time.GetUtcNow();
        var last = "no answer yet";
        var reported = start;
        while (true)
        {
            var ok = true;
            foreach (var path in new[] { "/livez", "/readyz" })
            {
                try
                {
                    var (status, body) = await api.GetRawAsync(path, ct).ConfigureAwait(false);
                    if (status != 200)
                    {
                        ok = false;
                        last = $"{path} answered {status}: {FirstLine(body)}";
                        break;
                    }
                }
                catch (ApiException e)
                {
                    ok = false;
                    last = $"{path}: {e.Message}";
                    break;
                }
                catch (HttpRequestException e)
                {
                    ok = false;
                    last = $"{path}: {e.Message}";
                    break;
                }
            }
            var now = ctx.Time.GetUtcNow();
            if (ok)
            {
                ctx.Ui.Info("api-check", $"The API server is healthy after {GoDuration(now - start)}");
                return;
            }
            if (now - start >= timeout)
            {
                throw new UserError($"the API server did not become healthy within {GoDuration(timeout)} (last: {last}): check the kube-apiserver and etcd containers (crictl ps -a; crictl logs <id>) and the kubelet log (journalctl -u kubelet)");
            }
            if (now - reported >= TimeSpan.FromSeconds(10))
            {
                reported = now;
                ctx.Ui.Info("api-check", $"Still waiting after {GoDuration(now - start)} ({last})");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), ctx.Time, ct).ConfigureAwait(false);
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    /// <summary>GoDuration formats like Go's time.Duration.String: "4m0s", "1.5s", "500ms", "1h0m0s".</summary>
    public static string GoDuration(TimeSpan d)
    {
        if (d == TimeSpan.Zero)
        {
            return "0s";
        }
        var neg = d < TimeSpan.Zero;
        var ticks = Math.Abs(d.Ticks);
        string s;
        if (ticks < TimeSpan.TicksPerSecond)
        {
            var ns = ticks * 100;
            s = ns < 1000 ? $"{ns}ns" : ns < 1_000_000 ? Frac(ns, 1000) + "µs" : Frac(ns, 1_000_000) + "ms";
        }
        else
        {
            var h = ticks / TimeSpan.TicksPerHour;
            var m = ticks / TimeSpan.TicksPerMinute % 60;
            var secTicks = ticks % TimeSpan.TicksPerMinute;
            var sec = Frac(secTicks * 100, 1_000_000_000) + "s";
            s = h > 0 ? $"{h}h{m}m{sec}" : m > 0 ? $"{m}m{sec}" : sec;
        }
        return neg ? "-" + s : s;
    }

    private static string Frac(long value, long unit)
    {
        var whole = value / unit;
        var rest = value % unit;
        if (rest == 0)
        {
            return whole.ToString(CultureInfo.InvariantCulture);
        }
        var digits = unit.ToString(CultureInfo.InvariantCulture).Length - 1;
        return whole.ToString(CultureInfo.InvariantCulture) + "." + rest.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
    }
}
