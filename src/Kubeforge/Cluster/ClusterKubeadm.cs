using System.Text.RegularExpressions;
using Kubeforge.Config;
using Kubeforge.Node;
using Kubeforge.Yaml;

namespace Kubeforge.Cluster;

public sealed partial class ClusterFile
{
    [GeneratedRegex(@" \(line \d+\)|line \d+: ")]
    private static partial Regex GeneratedLine();

    /// <summary>KubeadmApiVersion is the kubeadm config API the generated documents use (spec.kubeadm.apiVersion,
    /// else the release's own).</summary>
    public string KubeadmApiVersion => Kubeadm.ApiVersion ?? Profile.ConfigApiVersion;

    /// <summary>ToKubeadmDocuments returns the kubeadm InitConfiguration and ClusterConfiguration (as YAML
    /// documents in <see cref="KubeadmApiVersion"/>) for host: what the cluster file means for that node, with
    /// spec.kubeadm merged over it (the user's fields win; certSANs are added; v1beta4 extraArgs lists merge by name).</summary>
    public (YMap Init, YMap Cluster) ToKubeadmDocuments(ClusterHost host)
    {
        var api = KubeadmApiVersion;
        var v4 = api == KubeadmSchema.V4;
        var cc = new YMap { ["apiVersion"] = api, ["kind"] = "ClusterConfiguration" };
        cc["kubernetesVersion"] = Version.ToString();
        cc["clusterName"] = Name;
        if (Mirror.ImageRepository is { } repo && repo != Profile.DefaultImageRepository)
        {
            cc["imageRepository"] = repo;
        }
        if (ControlPlaneEndpoint.Length > 0)
        {
            cc["controlPlaneEndpoint"] = ControlPlaneEndpoint;
        }
        cc["networking"] = new YMap { ["podSubnet"] = Network.PodSubnet, ["serviceSubnet"] = Network.ServiceSubnet, ["dnsDomain"] = Network.DnsDomain };
        if (Ha is { } ha)
        {
            cc["apiServer"] = new YMap { ["certSANs"] = YSeq.Strings([ha.Vip]) };
        }
        if (!LeaderElection.IsDefault)
        {
            var le = new List<(string, string)>
            {
                ("leader-elect-lease-duration", GoDuration.Format(LeaderElection.LeaseDuration)),
                ("leader-elect-renew-deadline", GoDuration.Format(LeaderElection.RenewDeadline)),
                ("leader-elect-retry-period", GoDuration.Format(LeaderElection.RetryPeriod)),
            };
            cc["controllerManager"] = new YMap { ["extraArgs"] = Args(le, v4) };
            cc["scheduler"] = new YMap { ["extraArgs"] = Args(le, v4) };
        }

        var ic = new YMap { ["apiVersion"] = api, ["kind"] = "InitConfiguration" };
        var nr = new YMap { ["name"] = host.Name };
        if (host.Taints is { } taints)
        {
            nr["taints"] = Taints(taints);
        }
        else if (host.IsControlPlane && host.IsWorker)
        {
            nr["taints"] = new YSeq(); // a control plane that also runs workloads is untainted
        }
        if (host.NodeIp is { } nodeIp)
        {
            nr["kubeletExtraArgs"] = Args([("node-ip", nodeIp)], v4);
        }
        ic["nodeRegistration"] = nr;
        ic["localAPIEndpoint"] = new YMap { ["advertiseAddress"] = host.ClusterAddress, ["bindPort"] = 6443 };

        Merge(cc, Kubeadm.ClusterConfiguration);
        Merge(ic, Kubeadm.InitConfiguration);
        return (ic, cc);
    }

    /// <summary>ToKubeadmConfig returns the defaulted, validated kubeadm configuration of host: controlPlaneEndpoint
    /// vip:port with HA (the VIP also in certSANs), node name, advertise address, image repository, subnets,
    /// leader-election flags when they differ from the defaults, the CNI choice, and spec.kubeadm overrides. For a
    /// worker it is the cluster view its join uses. Errors name the cluster file, spec.kubeadm and the host.</summary>
    public KubeadmConfig ToKubeadmConfig(ClusterHost host)
    {
        var (ic, cc) = ToKubeadmDocuments(host);
        var text = GoYamlWriter.Write(ic) + "---\n" + GoYamlWriter.Write(cc);
        var flags = new InitFlags
        {
            Cni = Network.Cni,
            CniBackend = Network.Cni == CniConfig.Flannel ? Network.FlannelBackend : null,
            CniIface = Network.Cni == CniConfig.Flannel ? host.Interface : null,
        };
        var v6 = host.ClusterAddress.Contains(':');
        var node = new NodeIdentity(host.Name, v6 ? null : host.ClusterAddress, v6 ? host.ClusterAddress : null);
        try
        {
            return KubeadmConfigLoader.Load(text, $"{Source}: kubeadm configuration of {host.Label} (spec + spec.kubeadm)", flags, node);
        }
        catch (ConfigError e)
        {
            // line numbers would point into the generated text, not the cluster file
            throw new ConfigError(e.Errors.Select(x => GeneratedLine().Replace(x, "")).ToList());
        }
    }

    private static YNode Args(IReadOnlyList<(string Name, string Value)> args, bool v4)
    {
        if (!v4)
        {
            var m = new YMap();
            foreach (var (n, v) in args)
            {
                m[n] = v;
            }
            return m;
        }
        return new YSeq(args.Select(a => (YNode)new YMap { ["name"] = a.Name, ["value"] = a.Value }));
    }

    private static YSeq Taints(IEnumerable<Versions.Taint> taints) => new(taints.Select(t =>
    {
        var m = new YMap { ["key"] = t.Key };
        if (t.Value.Length > 0)
        {
            m["value"] = t.Value;
        }
        m["effect"] = t.Effect;
        return (YNode)m;
    }));

    private static void Merge(YMap target, YMap over)
    {
        foreach (var (key, value) in over.Entries)
        {
            switch (target[key], value)
            {
                case (YMap t, YMap o):
                    Merge(t, o);
                    break;
                case (YSeq t, YSeq o) when key == "certSANs":
                    t.Items.AddRange(o.Items.Where(x => !t.Items.Any(y => y.ToString() == x.ToString())).Select(YMap.Clone));
                    break;
                case (YSeq t, YSeq o) when key is "extraArgs" or "kubeletExtraArgs":
                    var byName = o.Items.OfType<YMap>().Select(a => a.Str("name")).ToHashSet();
                    var merged = new YSeq(t.Items.Where(a => a is not YMap am || !byName.Contains(am.Str("name"))));
                    merged.Items.AddRange(o.Items.Select(YMap.Clone));
                    target[key] = merged;
                    break;
                default:
                    target[key] = YMap.Clone(value);
                    break;
            }
        }
    }
}
