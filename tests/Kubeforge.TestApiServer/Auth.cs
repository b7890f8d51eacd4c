using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubeforge.TestApiServer;

/// <summary>UserInfo is an authenticated (or anonymous) identity: user name and groups.</summary>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups)
{
    /// <summary>Anonymous is the identity of a request without credentials.</summary>
    public static readonly UserInfo Anonymous = new("system:anonymous", ["system:unauthenticated"]);
}

/// <summary>Authenticator maps a request's client certificate or bearer token to a UserInfo, as kube-apiserver's x509 and
/// bootstrap-token authenticators do. It returns null for credentials that are present but invalid (→ 401).</summary>
public sealed partial class Authenticator(ObjectStore store, X509Certificate2Collection clientCas,
    IReadOnlyDictionary<string, UserInfo> staticTokens, TimeProvider time)
{
    [GeneratedRegex(@"\A([a-z0-9]{6})\.([a-z0-9]{16})\z")]
    private static partial Regex BootstrapTokenRegex();

    /// <summary>Authenticate tries the client certificate first, then the bearer token (as kube-apiserver's union
    /// authenticator); presented but invalid credentials with nothing valid give null; no credentials give anonymous.</summary>
    public UserInfo? Authenticate(X509Certificate2? clientCert, string? authorizationHeader)
    {
        if (clientCert != null && Certificate(clientCert) is { } certUser) return certUser;
        if (!string.IsNullOrEmpty(authorizationHeader))
        {
            const string prefix = "Bearer ";
            if (!authorizationHeader.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return null;
            var token = authorizationHeader[prefix.Length..].Trim();
            return staticTokens.TryGetValue(token, out var u) ? WithAuthenticated(u) : BootstrapToken(token);
        }
        return clientCert != null ? null : UserInfo.Anonymous;
    }

    /// <summary>Certificate verifies a client certificate against the client CA (no revocation) and maps CN→user, O→groups.</summary>
    public UserInfo? Certificate(X509Certificate2 cert)
    {
        if (clientCas.Count == 0) return null;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(clientCas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2")); // client auth
        if (!chain.Build(cert)) return null;
        var cn = cert.GetNameInfo(X509NameType.SimpleName, false);
        if (string.IsNullOrEmpty(cn)) return null;
        var groups = new List<string>();
        foreach (var rdn in cert.SubjectName.EnumerateRelativeDistinguishedNames())
            if (rdn.GetSingleElementType().Value == "2.5.4.10" && rdn.GetSingleElementValue() is { } o) groups.Add(o);
        return WithAuthenticated(new UserInfo(cn, groups));
    }

    /// <summary>BootstrapToken validates an `id.secret` token against Secret kube-system/bootstrap-token-&lt;id&gt;.</summary>
    public UserInfo? BootstrapToken(string token)
    {
        var m = BootstrapTokenRegex().Match(token);
        if (!m.Success) return null;
        string id = m.Groups[1].Value, secret = m.Groups[2].Value;
        var s = store.Get("secrets", "kube-system", "bootstrap-token-" + id);
        if (s == null || (string?)s["type"] != "bootstrap.kubernetes.io/token" || s["metadata"]?["deletionTimestamp"] != null) return null;
        var data = SecretData(s);
        if (!data.TryGetValue("token-secret", out var stored) ||
            !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored), Encoding.ASCII.GetBytes(secret))) return null;
        if (data.TryGetValue("token-id", out var storedId) && storedId != id) return null;
        if (IsExpired(data, time)) return null;
        if (data.GetValueOrDefault("usage-bootstrap-authentication") != "true") return null;
        var groups = new List<string> { "system:bootstrappers" };
        if (data.TryGetValue("auth-extra-groups", out var extra))
            groups.AddRange(extra.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return WithAuthenticated(new UserInfo("system:bootstrap:" + id, groups));
    }

    /// <summary>SecretData decodes a Secret's base64 `data` map into strings.</summary>
    public static Dictionary<string, string> SecretData(JsonObject secret)
    {
        var result = new Dictionary<string, string>();
        if (secret["data"] is JsonObject data)
            foreach (var (k, v) in data)
            {
                try { result[k] = Encoding.UTF8.GetString(Convert.FromBase64String((string?)v ?? "")); }
                catch (FormatException) { }
            }
        return result;
    }

    /// <summary>IsExpired tells whether a token Secret's `expiration` (RFC 3339) lies in the past (missing = never expires).</summary>
    public static bool IsExpired(IReadOnlyDictionary<string, string> data, TimeProvider time)
    {
        if (!data.TryGetValue("expiration", out var exp) || exp.Length == 0) return false;
        if (!DateTimeOffset.TryParse(exp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) return true;
        return time.GetUtcNow() > at;
    }

    private static UserInfo WithAuthenticated(UserInfo u) =>
        u.Groups.Contains("system:authenticated") ? u : u with { Groups = [.. u.Groups, "system:authenticated"] };
}
