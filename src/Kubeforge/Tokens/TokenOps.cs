using System.Text.RegularExpressions;
using Kubeforge.ClusterObjects;
using Kubeforge.Config;
using Kubeforge.KubeConfig;
using Kubeforge.Phases;
using Kubeforge.Pki;

namespace Kubeforge.Tokens;

/// <summary>TokenOps is "kubeadm token create|list|delete" (kubeadm's cmd/token.go) over the API port: flag
/// parsing and validation, the token Secret round trip, the list table and the join command.</summary>
public static partial class TokenOps
{
    /// <summary>ValidUsages are the bootstrap token usages kubeadm accepts (cluster-bootstrap's KnownTokenUsages).</summary>
    public static readonly IReadOnlyList<string> ValidUsages = ["signing", "authentication"];

    [GeneratedRegex(@"\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z")]
    private static partial Regex GroupPattern();

    /// <summary>BuildSpec turns the "token create" arguments into a validated token spec. token: null generates one;
    /// ttl: a Go duration ("24h", "1h30m"; "0" = never expires); usages/groups: flag values (comma-separated allowed).</summary>
    public static BootstrapTokenSpec BuildSpec(string? token, string? ttl, IEnumerable<string>? usages, IEnumerable<string>? groups, string? description)
    {
        var spec = new BootstrapTokenSpec { Description = string.IsNullOrEmpty(description) ? null : description };
        if (!string.IsNullOrEmpty(token))
        {
            if (!BootstrapToken.TryParse(token, out _))
            {
                throw new UserError($"the token does not match the pattern \"[a-z0-9]{{6}}.[a-z0-9]{{16}}\"; pass e.g. abcdef.0123456789abcdef or omit it to generate one");
            }
            spec.Token = token;
        }
        else
        {
            spec.Token = BootstrapToken.Generate().ToString();
        }
        if (ttl is not null)
        {
            if (!GoDuration.TryParse(ttl, out var span))
            {
                throw new UserError($"--ttl: invalid duration \"{ttl}\"; use a Go duration such as 24h0m0s, 30m or 0 (never expires)");
            }
            if (span < TimeSpan.Zero)
            {
                throw new UserError($"--ttl: {ttl} is negative; use a positive duration or 0 for a token that never expires");
            }
            spec.Ttl = span;
        }
        if (usages is not null)
        {
            spec.Usages = Split(usages);
        }
        foreach (var u in spec.Usages.Where(u => !ValidUsages.Contains(u)))
        {
            throw new UserError($"--usages: invalid bootstrap token usage string: {u}, valid usage options: {string.Join(',', ValidUsages)}");
        }
        if (groups is not null)
        {
            spec.Groups = Split(groups);
        }
        if (spec.Groups.Count > 0 && !spec.Usages.Contains("authentication"))
        {
            throw new UserError("--groups: token groups cannot be specified unless --usages includes \"authentication\"");
        }
        foreach (var g in spec.Groups.Where(g => !GroupPattern().IsMatch(g)))
        {
            throw new UserError($"--groups: bootstrap group \"{g}\" is invalid (must match {GroupPattern()})");
        }
        return spec;
    }

    /// <summary>Split flattens comma-separated flag values, trimming blanks.</summary>
    public static List<string> Split(IEnumerable<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    /// <summary>CreateAsync stores the token Secret (kubeadm's CreateNewTokens: an existing Secret with the same id is an error).</summary>
    public static async Task<BootstrapToken> CreateAsync(IKubeApi api, BootstrapTokenSpec spec, DateTimeOffset now, CancellationToken ct = default)
    {
        if (!BootstrapToken.TryParse(spec.Token, out var token))
        {
            throw new UserError("the token does not match the pattern \"[a-z0-9]{6}.[a-z0-9]{16}\"");
        }
        if (await api.GetAsync(ApiResource.Secret, K8sObjects.KubeSystem, token.SecretName, ct).ConfigureAwait(false) is not null)
        {
            throw new UserError($"a token with id \"{token.Id}\" already exists; delete it first (kubeforge token delete {token.Id}) or pick another token");
        }
        await api.CreateOrUpdateAsync(ApiResource.Secret, BootstrapTokens.Secret(token, spec, now), ct).ConfigureAwait(false);
        return token;
    }

    /// <summary>ListAsync reads every bootstrap-token Secret of kube-system; Secrets that are not well-formed tokens
    /// are reported through invalid (kubeadm prints them to stderr and goes on).</summary>
    public static async Task<IReadOnlyList<(BootstrapToken Token, BootstrapTokenSpec Spec)>> ListAsync(IKubeApi api, Action<string>? invalid = null, CancellationToken ct = default)
    {
        var result = new List<(BootstrapToken, BootstrapTokenSpec)>();
        foreach (var s in await api.ListAsync(ApiResource.Secret, K8sObjects.KubeSystem, null, ct).ConfigureAwait(false))
        {
            if (s["type"]?.GetValue<string>() != BootstrapTokens.SecretType)
            {
                continue;
            }
            if (BootstrapTokens.FromSecret(s) is { } t)
            {
                result.Add(t);
            }
            else
            {
                invalid?.Invoke($"Secret \"{s.Name()}\" of type {BootstrapTokens.SecretType} is not a valid bootstrap token; skipped");
            }
        }
        return result;
    }

    /// <summary>IdOf accepts a token id ("abcdef") or a whole token and returns the id.</summary>
    public static string IdOf(string tokenIdOrToken)
    {
        if (BootstrapToken.IsValidId(tokenIdOrToken))
        {
            return tokenIdOrToken;
        }
        if (BootstrapToken.TryParse(tokenIdOrToken, out var t))
        {
            return t.Id;
        }
        throw new UserError($"given token didn't match pattern \"[a-z0-9]{{6}}\" or \"[a-z0-9]{{6}}.[a-z0-9]{{16}}\"; pass a token id or a whole token (see \"kubeforge token list\")");
    }

    /// <summary>DeleteAsync deletes the tokens in order and returns kubeadm's line for each ("bootstrap token \"abcdef\" deleted").
    /// A missing token is an error naming it (the earlier ones stay deleted, like kubeadm).</summary>
    public static async Task DeleteAsync(IKubeApi api, IEnumerable<string> idsOrTokens, Action<string> deleted, CancellationToken ct = default)
    {
        var ids = idsOrTokens.Select(IdOf).ToList();
        foreach (var id in ids)
        {
            if (!await api.DeleteAsync(ApiResource.Secret, K8sObjects.KubeSystem, "bootstrap-token-" + id, ct).ConfigureAwait(false))
            {
                throw new UserError($"failed to delete bootstrap token \"{id}\": secret \"bootstrap-token-{id}\" not found; see \"kubeforge token list\"");
            }
            deleted($"bootstrap token \"{id}\" deleted");
        }
    }

    /// <summary>JoinCommandLine is the --print-join-command text: the worker (or, with a certificate key, the control-plane)
    /// join command for the kubeconfig's server and CA, in kubeadm's single-line form.</summary>
    public static string JoinCommandLine(byte[] kubeconfig, string source, string token, string? certificateKey)
    {
        var view = KubeConfigFile.Read(kubeconfig, source);
        var server = view.Server ?? throw new UserError($"{source}: the current cluster has no server; fix the kubeconfig");
        var caPem = view.CaPem ?? throw new UserError($"{source}: the current cluster has no certificate-authority-data; the join command needs the CA");
        string[] pins = [PubKeyPin.Hash(Pem.LoadCert(caPem, source))];
        var text = certificateKey is { Length: > 0 }
            ? JoinCommand.ControlPlane(server, token, pins, certificateKey)
            : JoinCommand.Worker(server, token, pins);
        return JoinCommand.SingleLine(text);
    }
}
