namespace Kubeforge.IntegrationTests.Kit;

/// <summary>LabCollection serializes every test that boots the lab (tests/lab/lab.sh): they share one bridge and subnet.</summary>
[CollectionDefinition("lab", DisableParallelization = true)]
public sealed class LabCollection;

/// <summary>TimingCollection runs tests whose assertions are wall-clock bounds (lease takeovers) alone, with no other test
/// class loading this machine's two cores at the same moment.</summary>
[CollectionDefinition("timing", DisableParallelization = true)]
public sealed class TimingCollection;

/// <summary>LabKit locates tests/lab/lab.sh and names the lab's addresses. The lab's bridge, subnet, state and run folders come
/// from KFLAB_BRIDGE, KFLAB_NET, KFLAB_STATE, KFLAB_RUNDIR (lab.sh reads the same variables), so two checkouts can run their
/// lab tests at once on one machine with different values.</summary>
public static class LabKit
{
    /// <summary>Repo is the repository root (the folder holding tests/lab/lab.sh).</summary>
    public static readonly string Repo = FindRepo();

    /// <summary>LabSh is the path of lab.sh.</summary>
    public static string LabSh => Path.Join(Repo, "tests", "lab", "lab.sh");

    /// <summary>State is lab.sh's state folder (key, known_hosts, sudo password).</summary>
    public static string State => Environment.GetEnvironmentVariable("KFLAB_STATE") is { Length: > 0 } s ? s : Path.Join(Repo, "tests", "lab", ".state");

    /// <summary>Net is the first three octets of the lab subnet (default 10.98.0).</summary>
    public static string Net => Environment.GetEnvironmentVariable("KFLAB_NET") is { Length: > 0 } n ? n : "10.98.0";

    /// <summary>Addr returns host hI's address.</summary>
    public static string Addr(int i) => $"{Net}.{10 + i}";

    /// <summary>Machine is this machine's address on the lab bridge.</summary>
    public static string Machine => $"{Net}.1";

    /// <summary>Key is the lab's SSH private key.</summary>
    public static string Key => Path.Join(State, "id_ed25519");

    /// <summary>KnownHosts is the lab's known_hosts file.</summary>
    public static string KnownHosts => Path.Join(State, "known_hosts");

    private static string FindRepo()
    {
        var d = AppContext.BaseDirectory;
        while (!File.Exists(Path.Join(d, "tests", "lab", "lab.sh")))
        {
            d = Path.GetDirectoryName(d) ?? throw new InvalidOperationException("repo root not found");
        }
        return d;
    }
}
