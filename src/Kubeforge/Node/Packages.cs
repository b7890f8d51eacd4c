using Kubeforge.Hosts;
using Kubeforge.Versions;

namespace Kubeforge.Node;

/// <summary>PackageSource is where kubelet/kubectl/kubeadm packages come from.</summary>
public enum PackageSource { Upstream, Aliyun }

/// <summary>RepoFile is a package repository definition to write, plus the signing key to fetch on the host (null: none).</summary>
public sealed record RepoFile(string Path, string Content, string? KeyUrl = null, string? KeyPath = null);

/// <summary>Packages renders the Kubernetes package repositories of the guide's §2.2 (pkgs.k8s.io per-minor layout, its Aliyun
/// mirror, and the legacy Aliyun repositories for minors older than pkgs.k8s.io) with GPG checks on, and the argv commands that
/// install pinned kubelet, kubectl, cri-tools (and optionally kubeadm) and hold them.</summary>
public static class Packages
{
    public const string YumRepo = "/etc/yum.repos.d/kubernetes.repo";
    public const string AptList = "/etc/apt/sources.list.d/kubernetes.list";
    public const string AptKeyring = "/etc/apt/keyrings/kubernetes-apt-keyring.asc";

    /// <summary>BaseUrl is the repository URL for a family and minor ("https://pkgs.k8s.io/core:/stable:/v1.29/rpm/").</summary>
    public static string BaseUrl(OsFamily family, VersionProfile p, PackageSource source)
    {
        var kind = family == OsFamily.Rpm ? "rpm" : "deb";
        if (!p.CommunityPackageRepo)
        {
            return family == OsFamily.Rpm
                ? "https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-$basearch"
                : "https://mirrors.aliyun.com/kubernetes/apt/";
        }
        return source == PackageSource.Aliyun
            ? $"https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.{p.Minor}/{kind}/"
            : $"https://pkgs.k8s.io/core:/stable:/v1.{p.Minor}/{kind}/";
    }

    /// <summary>Render returns the repository definition for the family, release and source. Minors without pkgs.k8s.io
    /// packages use the legacy Aliyun repositories whatever the source (upstream's legacy repositories are gone).</summary>
    public static RepoFile Render(OsFamily family, VersionProfile p, PackageSource source)
    {
        var url = BaseUrl(family, p, source);
        if (family == OsFamily.Rpm)
        {
            var gpg = p.CommunityPackageRepo
                ? $"gpgkey={url}repodata/repomd.xml.key\n"
                : "repo_gpgcheck=1\ngpgkey=https://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg https://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg\n";
            return new RepoFile(YumRepo,
                "# Written by kubeforge\n[kubernetes]\nname=Kubernetes\n" +
                $"baseurl={url}\nenabled=1\ngpgcheck=1\n{gpg}exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n");
        }
        var keyUrl = p.CommunityPackageRepo ? url + "Release.key" : "https://mirrors.aliyun.com/kubernetes/apt/doc/apt-key.gpg";
        var keyPath = p.CommunityPackageRepo ? AptKeyring : "/etc/apt/keyrings/kubernetes-legacy-apt-keyring.gpg";
        var line = p.CommunityPackageRepo ? $"deb [signed-by={keyPath}] {url} /" : $"deb [signed-by={keyPath}] {url} kubernetes-xenial main";
        return new RepoFile(AptList, $"# Written by kubeforge\n{line}\n", keyUrl, keyPath);
    }

    /// <summary>PackageNames are the pinned package arguments for the family (kubelet-1.29.3 / kubelet=1.29.3-*).</summary>
    public static IReadOnlyList<string> PackageNames(OsFamily family, KubeVersion v, VersionProfile p, bool withKubeadm)
    {
        var ver = $"{v.Major}.{v.Minor}.{v.Patch}";
        var names = new List<string> { "kubelet", "kubectl" };
        if (withKubeadm)
        {
            names.Add("kubeadm");
        }
        var list = names.Select(n => family == OsFamily.Rpm ? $"{n}-{ver}" : $"{n}={ver}-*").ToList();
        // cri-tools follows the minor in pkgs.k8s.io; the legacy repositories version it separately, so it is left unpinned there
        list.Add(p.CommunityPackageRepo ? (family == OsFamily.Rpm ? $"cri-tools-{v.Major}.{v.Minor}.*" : $"cri-tools={v.Major}.{v.Minor}.*") : "cri-tools");
        return list;
    }

    /// <summary>InstallCommands are the argv lists that fetch the key (apt), refresh, install pinned and hold/exclude.
    /// yum/dnf honour exclude= in the repo, so installs pass --disableexcludes=kubernetes.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> InstallCommands(OsFamily family, KubeVersion v, VersionProfile p, PackageSource source, bool withKubeadm)
    {
        var pkgs = PackageNames(family, v, p, withKubeadm);
        if (family == OsFamily.Rpm)
        {
            return [["dnf", "install", "-y", .. pkgs, "--disableexcludes=kubernetes"]];
        }
        var repo = Render(family, p, source);
        var hold = new List<string> { "apt-mark", "hold", "kubelet", "kubectl", "cri-tools" };
        if (withKubeadm)
        {
            hold.Add("kubeadm");
        }
        return
        [
            ["mkdir", "-p", "-m", "0755", "/etc/apt/keyrings"],
            ["curl", "-fsSL", "-o", repo.KeyPath!, repo.KeyUrl!],
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--allow-change-held-packages", .. pkgs],
            hold,
        ];
    }

    /// <summary>ParseKubeletVersion reads `kubelet --version` ("Kubernetes v1.29.3") into a version (null when unreadable).</summary>
    public static KubeVersion? ParseKubeletVersion(string output)
    {
        var word = output.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return KubeVersion.TryParse(word, out var v) ? v : null;
    }

    /// <summary>InstallAsync writes the repository definition and runs the install commands (each step reported).</summary>
    public static async Task<IReadOnlyList<PrepStep>> InstallAsync(IHost host, OsFamily family, KubeVersion v, VersionProfile p, PackageSource source, bool withKubeadm, CancellationToken ct = default)
    {
        var repo = Render(family, p, source);
        var steps = new List<PrepStep>();
        var wrote = await host.WriteIfChangedAsync(repo.Path, System.Text.Encoding.UTF8.GetBytes(repo.Content), FileModes.Public, ct: ct).ConfigureAwait(false);
        steps.Add(new PrepStep("package-repo", wrote, wrote ? $"wrote {repo.Path}" : $"{repo.Path} up to date"));
        foreach (var argv in InstallCommands(family, v, p, source, withKubeadm))
        {
            var r = await host.RunAsync(argv, null, ct).ConfigureAwait(false);
            if (!r.Ok)
            {
                throw new Phases.UserError($"{host.Name}: {ShellQuote.Join(argv)} failed (exit {r.ExitCode}): {OsPrep.FirstLine(r.Stderr)}");
            }
            steps.Add(new PrepStep("packages", true, ShellQuote.Join(argv)));
        }
        return steps;
    }

    /// <summary>VerifyAsync is the "verify only" mode for preinstalled binaries: `kubelet --version` must match v.</summary>
    public static async Task<PrepStep> VerifyAsync(IHost host, KubeVersion v, CancellationToken ct = default)
    {
        var r = await host.RunAsync(["kubelet", "--version"], null, ct).ConfigureAwait(false);
        var got = r.Ok ? ParseKubeletVersion(r.Stdout) : null;
        if (got is null)
        {
            throw new Phases.UserError($"{host.Name}: kubelet is not installed (kubelet --version failed); install kubelet {v} or let kubeforge install packages");
        }
        if (got.Major != v.Major || got.Minor != v.Minor || got.Patch != v.Patch)
        {
            throw new Phases.UserError($"{host.Name}: kubelet is {got}, the cluster wants {v}; install kubelet {v}");
        }
        return new PrepStep("kubelet-version", false, $"kubelet {got} matches");
    }
}
