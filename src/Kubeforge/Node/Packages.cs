using Kubeforge.Hosts;
using Kubeforge.Versions;

namespace Kubeforge.Node;

/// <summary>PackageSource is where kubelet/kubectl/kubeadm packages come from.</summary>
public enum PackageSource { Upstream, Aliyun }

/// <summary>RepoFile is a package repository definition to write, plus the signing key to fetch on the host (null: none).</summary>
public sealed record RepoFile(string Path, string Content, string? KeyUrl = null, string? KeyPath = null);

/// <summary>KubePackageRepo is a Kubernetes package repository in the pkgs.k8s.io layout (Base "http://10.0.0.1/k8s/" holds
/// v1.NN/deb/ and v1.NN/rpm/), e.g. an offline mirror: Key is the OpenPGP public key it is signed with, as read from the
/// operator's file and written to the host (null: fetched from the repository like pkgs.k8s.io's Release.key).</summary>
public sealed record KubePackageRepo(string Base, byte[]? Key = null)
{
    /// <summary>Url is the repository of a family and minor: &lt;Base&gt;v1.NN/deb/ or &lt;Base&gt;v1.NN/rpm/.</summary>
    public string Url(OsFamily family, VersionProfile p) => $"{(Base.EndsWith('/') ? Base : Base + "/")}v1.{p.Minor}/{(family == OsFamily.Rpm ? "rpm" : "deb")}/";
}

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

    /// <summary>YumKey is where a given key of a custom repository goes on rpm hosts.</summary>
    public const string YumKey = "/etc/pki/rpm-gpg/RPM-GPG-KEY-kubernetes-kubeforge";

    /// <summary>AptKey is the keyring of a given key of a custom repository (.asc armored, .gpg binary: apt tells them by name).</summary>
    public static string AptKey(byte[] key) => OsMirror.IsArmored(key) ? AptKeyring : "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";

    /// <summary>Render returns the definition of a pkgs.k8s.io-layout repository at any base (pure). With the upstream or Aliyun
    /// base and no key it is byte-identical to the preset's; a given key is written to the host (KeyPath) instead of fetched.</summary>
    public static RepoFile Render(OsFamily family, VersionProfile p, KubePackageRepo repo)
    {
        var url = repo.Url(family, p);
        if (family == OsFamily.Rpm)
        {
            var key = repo.Key is null ? $"{url}repodata/repomd.xml.key" : $"file://{YumKey}";
            return new RepoFile(YumRepo,
                "# Written by kubeforge\n[kubernetes]\nname=Kubernetes\n" +
                $"baseurl={url}\nenabled=1\ngpgcheck=1\ngpgkey={key}\nexclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n",
                KeyPath: repo.Key is null ? null : YumKey);
        }
        var keyPath = repo.Key is null ? AptKeyring : AptKey(repo.Key);
        return new RepoFile(AptList, $"# Written by kubeforge\ndeb [signed-by={keyPath}] {url} /\n", repo.Key is null ? url + "Release.key" : null, keyPath);
    }

    /// <summary>RefreshCommand refreshes only the Kubernetes repository's index (apt: kubernetes.list alone; dnf: that repository),
    /// so an air-gapped host does not try its unreachable distribution sources.</summary>
    public static IReadOnlyList<string> RefreshCommand(OsFamily family) => family == OsFamily.Deb
        ? ["apt-get", "update", "-o", $"Dir::Etc::sourcelist={AptList}", "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0"]
        : ["dnf", "makecache", "--repo", "kubernetes"];

    /// <summary>InstallCommands for a custom repository: fetch the key when none is given (apt), refresh only this repository,
    /// install pinned and hold (apt) or install with --disableexcludes (dnf).</summary>
    public static IReadOnlyList<IReadOnlyList<string>> InstallCommands(OsFamily family, KubeVersion v, VersionProfile p, KubePackageRepo repo, bool withKubeadm)
    {
        var pkgs = PackageNames(family, v, p, withKubeadm);
        if (family == OsFamily.Rpm)
        {
            return [RefreshCommand(family), ["dnf", "install", "-y", .. pkgs, "--disableexcludes=kubernetes"]];
        }
        var r = Render(family, p, repo);
        var list = new List<IReadOnlyList<string>>();
        if (r.KeyUrl is not null)
        {
            list.Add(["mkdir", "-p", "-m", "0755", "/etc/apt/keyrings"]);
            list.Add(["curl", "-fsSL", "-o", r.KeyPath!, r.KeyUrl]);
        }
        list.Add(RefreshCommand(family));
        list.Add(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--allow-change-held-packages", .. pkgs]);
        list.Add(["apt-mark", "hold", "kubelet", "kubectl", "cri-tools", .. withKubeadm ? new[] { "kubeadm" } : []]);
        return list;
    }

    /// <summary>InstallAsync for a custom repository: writes the given key and the repository definition (only when changed),
    /// refreshes only it — a signature the key does not verify is a UserError naming the repository — then installs and holds.</summary>
    public static async Task<IReadOnlyList<PrepStep>> InstallAsync(IHost host, OsFamily family, KubeVersion v, VersionProfile p, KubePackageRepo repo, bool withKubeadm, CancellationToken ct = default)
    {
        var r = Render(family, p, repo);
        var steps = new List<PrepStep>();
        var wroteKey = repo.Key is not null && await host.WriteIfChangedAsync(r.KeyPath!, repo.Key, FileModes.Public, ct: ct).ConfigureAwait(false);
        var wrote = await host.WriteIfChangedAsync(r.Path, System.Text.Encoding.UTF8.GetBytes(r.Content), FileModes.Public, ct: ct).ConfigureAwait(false);
        steps.Add(new PrepStep("package-repo", wrote || wroteKey, wrote || wroteKey
            ? $"wrote {r.Path}{(repo.Key is null ? "" : $" and {r.KeyPath}")} ({repo.Url(family, p)})" : $"{r.Path} up to date"));
        var refresh = RefreshCommand(family);
        foreach (var argv in InstallCommands(family, v, p, repo, withKubeadm))
        {
            var res = await host.RunAsync(argv, null, ct).ConfigureAwait(false);
            if (argv.SequenceEqual(refresh) && OsMirror.RefusalOf(res) is { } why)
            {
                throw new Phases.UserError($"{host.Name}: the Kubernetes package repository {repo.Url(family, p)} was refused: {why}; make sure spec.mirror.packageKey is the key the repository's Release/repomd is signed with, and re-sign the repository if it changed");
            }
            if (!res.Ok)
            {
                throw new Phases.UserError($"{host.Name}: {ShellQuote.Join(argv)} failed (exit {res.ExitCode}): {OsPrep.FirstLine(res.Stderr)}");
            }
            steps.Add(new PrepStep("packages", true, ShellQuote.Join(argv)));
        }
        return steps;
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
