using Kubeforge.Yaml;

namespace Kubeforge.Config;

/// <summary>FieldKind is how a kubeadm API field is typed (what the strict decoder accepts).</summary>
internal enum FieldKind { Str, Int, Bool, Duration, Time, StrList, StrMap, BoolMap, Args, Obj, ObjList, Any }

/// <summary>ApiSet says which kubeadm API versions have a field.</summary>
[Flags]
internal enum ApiSet { V3 = 1, V4 = 2, Both = 3 }

internal sealed record Field(string Name, FieldKind Kind, Schema? Sub = null, ApiSet In = ApiSet.Both);

internal sealed record Schema(params Field[] Fields)
{
    public Field? Find(string name) => Fields.FirstOrDefault(f => f.Name == name);
}

/// <summary>KubeadmSchema describes the kubeadm.k8s.io v1beta3/v1beta4 documents kubeforge reads, so unknown
/// fields, wrong types and fields of the other API version are reported with their path and line.</summary>
internal static class KubeadmSchema
{
    public const string V3 = "kubeadm.k8s.io/v1beta3";
    public const string V4 = "kubeadm.k8s.io/v1beta4";

    private static readonly Schema HostPathMount = new(
        new("name", FieldKind.Str), new("hostPath", FieldKind.Str), new("mountPath", FieldKind.Str),
        new("readOnly", FieldKind.Bool), new("pathType", FieldKind.Str));

    private static readonly Schema EnvVar = new(new("name", FieldKind.Str), new("value", FieldKind.Str), new("valueFrom", FieldKind.Any));

    private static readonly Schema Taint = new(
        new("key", FieldKind.Str), new("value", FieldKind.Str), new("effect", FieldKind.Str), new("timeAdded", FieldKind.Any));

    private static Field[] ComponentFields() =>
    [
        new("extraArgs", FieldKind.Args),
        new("extraVolumes", FieldKind.ObjList, HostPathMount),
        new("extraEnvs", FieldKind.ObjList, EnvVar, ApiSet.V4),
    ];

    private static readonly Schema Component = new(ComponentFields());

    private static readonly Schema ApiServer = new([
        .. ComponentFields(),
        new("certSANs", FieldKind.StrList),
        new("timeoutForControlPlane", FieldKind.Duration, In: ApiSet.V3),
    ]);

    private static readonly Schema Dns = new(
        new("imageRepository", FieldKind.Str), new("imageTag", FieldKind.Str), new("disabled", FieldKind.Bool, In: ApiSet.V4));

    private static readonly Schema Proxy = new(new Field("disabled", FieldKind.Bool));

    private static readonly Schema LocalEtcd = new(
        new("imageRepository", FieldKind.Str), new("imageTag", FieldKind.Str), new("dataDir", FieldKind.Str),
        new("extraArgs", FieldKind.Args), new("extraEnvs", FieldKind.ObjList, EnvVar, ApiSet.V4),
        new("serverCertSANs", FieldKind.StrList), new("peerCertSANs", FieldKind.StrList));

    private static readonly Schema ExternalEtcd = new(
        new("endpoints", FieldKind.StrList), new("caFile", FieldKind.Str), new("certFile", FieldKind.Str), new("keyFile", FieldKind.Str));

    private static readonly Schema Etcd = new(new("local", FieldKind.Obj, LocalEtcd), new("external", FieldKind.Obj, ExternalEtcd));

    private static readonly Schema Networking = new(
        new("serviceSubnet", FieldKind.Str), new("podSubnet", FieldKind.Str), new("dnsDomain", FieldKind.Str));

    public static readonly Schema ClusterConfiguration = new(
        new("apiVersion", FieldKind.Str), new("kind", FieldKind.Str),
        new("etcd", FieldKind.Obj, Etcd), new("networking", FieldKind.Obj, Networking),
        new("kubernetesVersion", FieldKind.Str), new("controlPlaneEndpoint", FieldKind.Str),
        new("apiServer", FieldKind.Obj, ApiServer), new("controllerManager", FieldKind.Obj, Component),
        new("scheduler", FieldKind.Obj, Component), new("dns", FieldKind.Obj, Dns),
        new("proxy", FieldKind.Obj, Proxy, ApiSet.V4),
        new("certificatesDir", FieldKind.Str), new("imageRepository", FieldKind.Str),
        new("featureGates", FieldKind.BoolMap), new("clusterName", FieldKind.Str),
        new("encryptionAlgorithm", FieldKind.Str, In: ApiSet.V4),
        new("certificateValidityPeriod", FieldKind.Duration, In: ApiSet.V4),
        new("caCertificateValidityPeriod", FieldKind.Duration, In: ApiSet.V4));

    private static readonly Schema BootstrapToken = new(
        new("token", FieldKind.Str), new("description", FieldKind.Str), new("ttl", FieldKind.Duration),
        new("expires", FieldKind.Time), new("usages", FieldKind.StrList), new("groups", FieldKind.StrList));

    private static readonly Schema NodeRegistration = new(
        new("name", FieldKind.Str), new("criSocket", FieldKind.Str), new("taints", FieldKind.ObjList, Taint),
        new("kubeletExtraArgs", FieldKind.Args), new("ignorePreflightErrors", FieldKind.StrList),
        new("imagePullPolicy", FieldKind.Str), new("imagePullSerial", FieldKind.Bool, In: ApiSet.V4));

    private static readonly Schema ApiEndpoint = new(new("advertiseAddress", FieldKind.Str), new("bindPort", FieldKind.Int));

    private static readonly Schema Patches = new(new Field("directory", FieldKind.Str));

    private static readonly Schema TimeoutsSchema = new(
        new("controlPlaneComponentHealthCheck", FieldKind.Duration), new("kubeletHealthCheck", FieldKind.Duration),
        new("kubernetesAPICall", FieldKind.Duration), new("etcdAPICall", FieldKind.Duration),
        new("tlsBootstrap", FieldKind.Duration), new("discovery", FieldKind.Duration),
        new("upgradeManifests", FieldKind.Duration));

    public static readonly Schema InitConfiguration = new(
        new("apiVersion", FieldKind.Str), new("kind", FieldKind.Str),
        new("bootstrapTokens", FieldKind.ObjList, BootstrapToken), new("nodeRegistration", FieldKind.Obj, NodeRegistration),
        new("localAPIEndpoint", FieldKind.Obj, ApiEndpoint), new("certificateKey", FieldKind.Str),
        new("skipPhases", FieldKind.StrList), new("patches", FieldKind.Obj, Patches),
        new("dryRun", FieldKind.Bool, In: ApiSet.V4), new("timeouts", FieldKind.Obj, TimeoutsSchema, ApiSet.V4));

    /// <summary>Check walks a document against its schema and adds one error line per problem.</summary>
    public static void Check(YMap doc, Schema schema, string kind, string apiVersion, Func<string, int, string> at, List<string> errors) =>
        CheckMap(doc, schema, kind, apiVersion == V4 ? ApiSet.V4 : ApiSet.V3, apiVersion, at, errors);

    private static void CheckMap(YMap map, Schema schema, string path, ApiSet api, string apiVersion, Func<string, int, string> at, List<string> errors)
    {
        foreach (var (key, value) in map.Entries)
        {
            var line = map.KeyPositions.TryGetValue(key, out var pos) ? pos.Line : value.Line;
            var fieldPath = $"{path}.{key}";
            var f = schema.Find(key);
            if (f is null)
            {
                var names = schema.Fields.Where(x => (x.In & api) != 0).Select(x => x.Name);
                var hint = Suggest(key, names);
                errors.Add($"{at(fieldPath, line)}: unknown field \"{key}\"" + (hint is null ? $"; remove it (see the {apiVersion} reference)" : $"; did you mean {hint}?"));
                continue;
            }
            if ((f.In & api) == 0)
            {
                var other = api == ApiSet.V3 ? V4 : V3;
                var fix = api == ApiSet.V3
                    ? $"it exists only in {other} (kubeadm v1.31+); change apiVersion to {other} or remove it"
                    : key == "timeoutForControlPlane"
                        ? $"{V4} moved it to InitConfiguration.timeouts.controlPlaneComponentHealthCheck"
                        : $"it exists only in {other}; remove it";
                errors.Add($"{at(fieldPath, line)}: field \"{key}\" is not part of {apiVersion}; {fix}");
                continue;
            }
            CheckValue(value, f, fieldPath, line, api, apiVersion, at, errors);
        }
    }

    private static void CheckValue(YNode value, Field f, string path, int line, ApiSet api, string apiVersion, Func<string, int, string> at, List<string> errors)
    {
        if (value is YScalar { Kind: ScalarKind.Null })
        {
            return; // null is the zero value for every field
        }
        void Bad(string expected, string fix) =>
            errors.Add($"{at(path, line)}: {Describe(value)} is not {expected}; {fix}");
        switch (f.Kind)
        {
            case FieldKind.Str:
                if (value is not YScalar)
                {
                    Bad("a string", "write a single value");
                }
                break;
            case FieldKind.Int:
                if (value is not YScalar { Kind: ScalarKind.Int })
                {
                    Bad("an integer", "write a number such as 6443");
                }
                break;
            case FieldKind.Bool:
                if (value is not YScalar { Kind: ScalarKind.Bool })
                {
                    Bad("a boolean", "write true or false");
                }
                break;
            case FieldKind.Duration:
                if (value is not YScalar d || !GoDuration.TryParse(d.Text, out _))
                {
                    Bad("a duration", "write a Go duration such as 24h0m0s or 4m");
                }
                break;
            case FieldKind.Time:
                if (value is not YScalar t || !DateTimeOffset.TryParse(t.Text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out _))
                {
                    Bad("a time", "write an RFC 3339 time such as 2030-01-02T15:04:05Z");
                }
                break;
            case FieldKind.StrList:
                if (value is not YSeq s || s.Items.Any(i => i is not YScalar))
                {
                    Bad("a list of strings", "write a YAML list (- item)");
                }
                break;
            case FieldKind.StrMap:
                if (value is not YMap m || m.Entries.Any(e => e.Value is not YScalar))
                {
                    Bad("a map of strings", "write key: value pairs");
                }
                break;
            case FieldKind.BoolMap:
                if (value is not YMap bm || bm.Entries.Any(e => e.Value is not YScalar { Kind: ScalarKind.Bool }))
                {
                    Bad("a map of booleans", "write FeatureName: true");
                }
                break;
            case FieldKind.Args:
                if (api == ApiSet.V3)
                {
                    if (value is YSeq)
                    {
                        Bad($"a map in {apiVersion}", $"write name: value pairs ({V4} uses the - name/value list form)");
                    }
                    else if (value is not YMap am || am.Entries.Any(e => e.Value is not YScalar))
                    {
                        Bad("a map of strings", "write name: value pairs");
                    }
                }
                else if (value is YMap)
                {
                    Bad($"a list in {apiVersion}", "write a list of {name: ..., value: ...} entries (the map form is v1beta3)");
                }
                else if (value is not YSeq seq)
                {
                    Bad("a list of {name, value} entries", "write - name: flag / value: \"...\" entries");
                }
                else
                {
                    var argSchema = new Schema(new("name", FieldKind.Str), new("value", FieldKind.Str));
                    for (var i = 0; i < seq.Count; i++)
                    {
                        if (seq[i] is YMap am)
                        {
                            CheckMap(am, argSchema, $"{path}[{i}]", api, apiVersion, at, errors);
                        }
                        else
                        {
                            errors.Add($"{at($"{path}[{i}]", seq[i].Line)}: {Describe(seq[i])} is not a {{name, value}} entry; write name: and value: keys");
                        }
                    }
                }
                break;
            case FieldKind.Obj:
                if (value is YMap om)
                {
                    CheckMap(om, f.Sub!, path, api, apiVersion, at, errors);
                }
                else
                {
                    Bad("a mapping", "write the field's sub-keys indented below it");
                }
                break;
            case FieldKind.ObjList:
                if (value is not YSeq list)
                {
                    Bad("a list", "write a YAML list of mappings");
                    break;
                }
                for (var i = 0; i < list.Count; i++)
                {
                    if (list[i] is YMap im)
                    {
                        CheckMap(im, f.Sub!, $"{path}[{i}]", api, apiVersion, at, errors);
                    }
                    else
                    {
                        errors.Add($"{at($"{path}[{i}]", list[i].Line)}: {Describe(list[i])} is not a mapping; write key: value fields");
                    }
                }
                break;
        }
    }

    private static string Describe(YNode n) => n switch
    {
        YScalar s => $"\"{s.Text}\"",
        YSeq => "a list",
        YMap => "a mapping",
        _ => "value",
    };

    /// <summary>Suggest returns the known name closest to a misspelt one (edit distance ≤ 2 or same letters ignoring case).</summary>
    public static string? Suggest(string key, IEnumerable<string> names)
    {
        string? best = null;
        var bestD = int.MaxValue;
        foreach (var n in names)
        {
            var d = string.Equals(n, key, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(key.ToLowerInvariant(), n.ToLowerInvariant());
            if (d < bestD)
            {
                (best, bestD) = (n, d);
            }
        }
        return bestD <= Math.Max(2, key.Length / 4) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
