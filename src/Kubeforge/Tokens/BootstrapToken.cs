using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Kubeforge.Tokens;

/// <summary>BootstrapToken is a kubeadm bootstrap token "id.secret" (spec/kubeadm.md §6).</summary>
public sealed partial record BootstrapToken(string Id, string Secret)
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

    [GeneratedRegex(@"\A([a-z0-9]{6})\.([a-z0-9]{16})\z")]
    private static partial Regex TokenPattern();

    [GeneratedRegex(@"\A[a-z0-9]{6}\z")]
    private static partial Regex IdPattern();

    /// <summary>Generate makes a new random token: bytes ≥ 252 are discarded so every character is equally likely.</summary>
    public static BootstrapToken Generate() => new(RandomString(6), RandomString(16));

    /// <summary>TryParse accepts exactly the kubeadm format.</summary>
    public static bool TryParse(string? text, out BootstrapToken token)
    {
        token = new BootstrapToken("", "");
        if (text is null)
        {
            return false;
        }
        var m = TokenPattern().Match(text);
        if (!m.Success)
        {
            return false;
        }
        token = new BootstrapToken(m.Groups[1].Value, m.Groups[2].Value);
        return true;
    }

    /// <summary>IsValidId reports whether s is a token id.</summary>
    public static bool IsValidId(string s) => IdPattern().IsMatch(s);

    /// <summary>SecretName is the kube-system Secret holding the token.</summary>
    public string SecretName => "bootstrap-token-" + Id;

    /// <summary>ToString returns the whole token; callers must not log it.</summary>
    public override string ToString() => $"{Id}.{Secret}";

    private static string RandomString(int n)
    {
        var chars = new char[n];
        var filled = 0;
        Span<byte> buf = stackalloc byte[32];
        while (filled < n)
        {
            RandomNumberGenerator.Fill(buf);
            foreach (var b in buf)
            {
                if (b >= 252)
                {
                    continue;
                }
                chars[filled++] = Alphabet[b % 36];
                if (filled == n)
                {
                    break;
                }
            }
        }
        return new string(chars);
    }
}
