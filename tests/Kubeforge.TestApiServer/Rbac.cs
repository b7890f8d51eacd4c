using System.Text.Json.Nodes;

namespace Kubeforge.TestApiServer;

/// <summary>RequestAttributes is what authorization looks at: a resource request (group/resource/subresource/namespace/name)
/// or a non-resource request (Path).</summary>
public sealed record RequestAttributes(string Verb, string Group, string Resource, string? Subresource, string? Namespace,
    string? Name, string? Path = null)
{
    /// <summary>IsResourceRequest is false for non-resource URLs such as /version.</summary>
    public bool IsResourceRequest => Path == null;

    /// <summary>NonResource builds attributes for a non-resource path.</summary>
    public static RequestAttributes NonResource(string verb, string path) => new(verb, "", "", null, null, null, path);

    /// <summary>ForbiddenMessage renders kube-apiserver's 403 text for this request and user.</summary>
    public string ForbiddenMessage(UserInfo user)
    {
        if (!IsResourceRequest) return $"forbidden: User \"{user.Name}\" cannot {Verb} path \"{Path}\"";
        var res = Subresource == null ? Resource : $"{Resource}/{Subresource}";
        var what = Group.Length == 0 ? Resource : $"{Resource}.{Group}";
        var prefix = string.IsNullOrEmpty(Name) ? $"{what} is forbidden" : $"{what} \"{Name}\" is forbidden";
        var scope = string.IsNullOrEmpty(Namespace) ? "at the cluster scope" : $"in the namespace \"{Namespace}\"";
        return $"{prefix}: User \"{user.Name}\" cannot {Verb} resource \"{res}\" in API group \"{Group}\" {scope}";
    }
}

/// <summary>RbacAuthorizer evaluates RBAC over the stored (Cluster)Roles and (Cluster)RoleBindings; members of system:masters are
/// allowed everything, and node identities (group system:nodes, user system:node:*) get the system:node rules, standing in for
/// kube-apiserver's Node authorizer.</summary>
public sealed class RbacAuthorizer(ObjectStore store)
{
    /// <summary>Authorize returns true when the user may perform the request.</summary>
    public bool Authorize(UserInfo user, RequestAttributes a)
    {
        if (user.Groups.Contains("system:masters")) return true;
        if (user.Groups.Contains("system:nodes") && user.Name.StartsWith("system:node:", StringComparison.Ordinal) &&
            Rules(BootstrapPolicy.NodeRole).Any(r => RuleAllows(r, a))) return true;
        foreach (var crb in store.List("clusterrolebindings"))
            if (Binds(crb, user, null) && RoleRules(crb, null).Any(r => RuleAllows(r, a))) return true;
        if (!string.IsNullOrEmpty(a.Namespace))
            foreach (var rb in store.List("rolebindings", a.Namespace))
                if (Binds(rb, user, a.Namespace) && RoleRules(rb, a.Namespace).Any(r => RuleAllows(r, a))) return true;
        return false;
    }

    private IEnumerable<JsonObject> RoleRules(JsonObject binding, string? ns)
    {
        var kind = (string?)binding["roleRef"]?["kind"];
        var name = (string?)binding["roleRef"]?["name"] ?? "";
        var role = kind switch
        {
            "ClusterRole" => store.Get("clusterroles", null, name),
            "Role" when ns != null => store.Get("roles", ns, name),
            _ => null,
        };
        return role == null ? [] : Rules(role);
    }

    private static IEnumerable<JsonObject> Rules(JsonObject role) => (role["rules"] as JsonArray)?.OfType<JsonObject>() ?? [];

    private static bool Binds(JsonObject binding, UserInfo user, string? bindingNs)
    {
        foreach (var s in (binding["subjects"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var name = (string?)s["name"] ?? "";
            var matched = (string?)s["kind"] switch
            {
                "User" => user.Name == name,
                "Group" => user.Groups.Contains(name),
                "ServiceAccount" => user.Name == $"system:serviceaccount:{(string?)s["namespace"] ?? bindingNs}:{name}",
                _ => false,
            };
            if (matched) return true;
        }
        return false;
    }

    /// <summary>RuleAllows tells whether one PolicyRule covers the request (verbs, apiGroups, resources with subresources,
    /// resourceNames, nonResourceURLs, and `*` wildcards as in RBAC's rule matching).</summary>
    public static bool RuleAllows(JsonObject rule, RequestAttributes a)
    {
        if (!Has(rule, "verbs", a.Verb)) return false;
        if (!a.IsResourceRequest)
        {
            return Strings(rule, "nonResourceURLs").Any(u => u == "*" || u == a.Path ||
                (u.EndsWith('*') && a.Path!.StartsWith(u[..^1], StringComparison.Ordinal)));
        }
        if (!Has(rule, "apiGroups", a.Group)) return false;
        var combined = a.Subresource == null ? a.Resource : $"{a.Resource}/{a.Subresource}";
        if (!Strings(rule, "resources").Any(r => r == "*" || r == combined || (a.Subresource != null && r == "*/" + a.Subresource)))
            return false;
        var names = Strings(rule, "resourceNames").ToList();
        return names.Count == 0 || (a.Name != null && names.Contains(a.Name));
    }

    private static bool Has(JsonObject rule, string field, string value) =>
        Strings(rule, field).Any(v => v == "*" || v == value);

    private static IEnumerable<string> Strings(JsonObject rule, string field) =>
        (rule[field] as JsonArray)?.Select(n => (string?)n ?? "") ?? [];
}

/// <summary>BootstrapPolicy holds the default RBAC objects kube-apiserver creates at start (a subset).</summary>
public static class BootstrapPolicy
{
    /// <summary>NodeRole is the `system:node` ClusterRole (minimal kubelet rights; also used for the Node-authorizer stand-in).</summary>
    public static readonly JsonObject NodeRole = ClusterRole("system:node",
        Rule(["get", "list", "watch", "create", "update", "patch", "delete"], [""], ["nodes"]),
        Rule(["get", "update", "patch"], [""], ["nodes/status"]),
        Rule(["get", "list", "watch"], [""], ["pods", "services", "endpoints", "configmaps", "secrets"]),
        Rule(["create", "delete", "update", "patch"], [""], ["pods", "pods/status"]),
        Rule(["create", "update", "patch"], ["", "events.k8s.io"], ["events"]),
        Rule(["get", "create", "update", "patch", "delete"], ["coordination.k8s.io"], ["leases"]),
        Rule(["create", "get", "list", "watch"], ["certificates.k8s.io"], ["certificatesigningrequests"]));

    /// <summary>Objects returns fresh copies of the ClusterRoles and ClusterRoleBindings to seed.</summary>
    public static IEnumerable<JsonObject> Objects()
    {
        yield return ClusterRole("cluster-admin", Rule(["*"], ["*"], ["*"]), NonResourceRule(["*"], ["*"]));
        yield return ClusterRole("system:discovery", NonResourceRule(["get"],
            ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]));
        yield return ClusterRole("system:public-info-viewer",
            NonResourceRule(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"]));
        yield return ClusterRole("system:basic-user",
            Rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            Rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]));
        yield return ClusterRole("system:node-bootstrapper",
            Rule(["create", "get", "list", "watch"], ["certificates.k8s.io"], ["certificatesigningrequests"]));
        yield return ClusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            Rule(["create"], ["certificates.k8s.io"], ["certificatesigningrequests/nodeclient"]));
        yield return ClusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            Rule(["create"], ["certificates.k8s.io"], ["certificatesigningrequests/selfnodeclient"]));
        yield return ClusterRole("system:node-proxier",
            Rule(["list", "watch"], [""], ["endpoints", "services"]),
            Rule(["get", "list", "watch"], [""], ["nodes"]),
            Rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
            Rule(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"]));
        // the components' own roles, reduced to their leader-election Lease (kube-scheduler / kube-controller-manager stand-ins)
        foreach (var component in new[] { "kube-scheduler", "kube-controller-manager" })
        {
            var rn = LeaseRule(component);
            yield return ClusterRole("system:" + component, Rule(["create"], ["coordination.k8s.io"], ["leases"]), rn);
            yield return Binding("system:" + component, "system:" + component, ("User", "system:" + component));
        }
        yield return (JsonObject)NodeRole.DeepClone();
        yield return Binding("cluster-admin", "cluster-admin", ("Group", "system:masters"));
        yield return Binding("system:discovery", "system:discovery", ("Group", "system:authenticated"));
        yield return Binding("system:public-info-viewer", "system:public-info-viewer",
            ("Group", "system:authenticated"), ("Group", "system:unauthenticated"));
        yield return Binding("system:basic-user", "system:basic-user", ("Group", "system:authenticated"));
        yield return Binding("system:node-proxier", "system:node-proxier", ("User", "system:kube-proxy"));
    }

    private static JsonObject Metadata(string name) => new()
    {
        ["name"] = name,
        ["labels"] = new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" },
        ["annotations"] = new JsonObject { ["rbac.authorization.kubernetes.io/autoupdate"] = "true" },
    };

    private static JsonObject ClusterRole(string name, params JsonObject[] rules) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRole", ["metadata"] = Metadata(name),
        ["rules"] = new JsonArray(rules),
    };

    private static JsonObject Binding(string name, string role, params (string Kind, string Name)[] subjects) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRoleBinding", ["metadata"] = Metadata(name),
        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = role },
        ["subjects"] = new JsonArray(subjects.Select(s => (JsonNode)new JsonObject
        {
            ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = s.Kind, ["name"] = s.Name,
        }).ToArray()),
    };

    private static JsonObject Rule(string[] verbs, string[] groups, string[] resources) => new()
    {
        ["verbs"] = Arr(verbs), ["apiGroups"] = Arr(groups), ["resources"] = Arr(resources),
    };

    private static JsonObject LeaseRule(string name)
    {
        var rule = Rule(["get", "update"], ["coordination.k8s.io"], ["leases"]);
        rule["resourceNames"] = Arr([name]);
        return rule;
    }

    private static JsonObject NonResourceRule(string[] verbs, string[] urls) => new()
    {
        ["verbs"] = Arr(verbs), ["nonResourceURLs"] = Arr(urls),
    };

    private static JsonArray Arr(string[] values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
}
