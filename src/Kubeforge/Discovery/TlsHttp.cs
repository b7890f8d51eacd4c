using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Kubeforge.Discovery;

/// <summary>TlsHttp builds the HttpClients join needs: one that skips server verification (the first, anonymous
/// cluster-info fetch), and one that trusts exactly one CA (optionally presenting a client certificate, e.g. for
/// etcd's gateway). Host names are always checked against the certificate when a CA is given.</summary>
public static class TlsHttp
{
    /// <summary>Create returns a client that trusts only ca (null: no verification at all) with an optional client
    /// certificate. handler: a connection handler to configure instead of a new one (tests reach other namespaces).</summary>
    public static HttpClient Create(X509Certificate2? ca, X509Certificate2? clientCert, TimeSpan timeout, SocketsHttpHandler? handler = null)
    {
        handler ??= new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(10, timeout.TotalSeconds)),
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, cert, _, errors) => ca is null || Verify(cert as X509Certificate2, ca, errors),
            ClientCertificates = clientCert is null ? null : new X509CertificateCollection { clientCert },
        };
        return new HttpClient(handler) { Timeout = timeout };
    }

    /// <summary>Verify accepts a server certificate that chains to ca alone and whose names match the host.</summary>
    public static bool Verify(X509Certificate2? cert, X509Certificate2 ca, SslPolicyErrors errors)
    {
        if (cert is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cert);
    }
}
