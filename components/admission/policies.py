"""ValidatingAdmissionPolicies that bind each tenant object to its own app (pure).

Kubernetes' built-in ValidatingAdmissionPolicy (``admissionregistration.k8s.io/v1``, GA in
1.30) evaluates CEL in the API server: no webhook to run or reach. Each policy embeds the
stack's apps as CEL literals keyed by namespace, and one binding per policy applies it to the
stack's environment namespaces only. Who an object belongs to:

* a pod: its ``app.kubernetes.io/name`` label (every base in gitops/ labels its pods so);
* an object Argo CD applies: the Application in its ``argocd.argoproj.io/tracking-id``
  annotation, ``<env>-<app>:<group>/<kind>:<namespace>/<name>``, which Argo CD writes itself
  over whatever the manifest says (annotation tracking, pinned in argocd-cm), so a folder
  cannot claim another app's Application.

The chain an attacker owning one app's folder meets: its Application can only create workloads
whose pods carry its own app label, and Services, NetworkPolicies and disruption budgets that
select only those pods (``platform-tenant-ownership``); pods with that label run
only as the app's service account and reference only the app's Secret (``platform-pod-identity``),
so they log in to Vault only as that app. Its ExternalSecrets read only the app's declared keys
into the app's Secret, or its database users from the platform's generator of that app into the
app's database Secret; its Services stay ``ClusterIP`` without ``externalIPs`` unless the app is
configured to expose one; its routes claim only hosts of the environment's domain; with
``nodeIsolation`` its pods run only on the environment's nodes.

Names are compared exactly (service account, Secret, remote key), never by prefix, so ``api``
reaches nothing of ``api-admin``; an Application is matched on ``<env>-<app>:`` including the
colon for the same reason. A CEL error denies (``failurePolicy: Fail``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.argocd.applicationsets import application_name
from components.argocd.projects import DEFAULT_DENY_POLICY
from components.config import AppConfig, StackConfig
from components.external_secrets.database_secrets import GENERATOR_API_VERSION, GENERATOR_KIND, database_secret_name

API_VERSION = "admissionregistration.k8s.io/v1"
POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
APP_LABEL = "app.kubernetes.io/name"
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
WRITES = ["CREATE", "UPDATE"]
LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "secrets-platform"}


def cel(value: Any) -> str:
    """A CEL literal of plain data (strings, booleans, lists, string-keyed maps), keys in order."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{cel(k)}: {cel(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(cel(v) for v in value) + "]"
    raise TypeError(f"no CEL literal for {value!r}")


def _per_namespace(data: Mapping[str, Any]) -> str:
    """A literal keyed by environment, indexed with the request's namespace (the bindings select only those)."""
    return f"{cel(data)}[request.namespace]"


def _var(name: str, expression: str) -> dict[str, str]:
    return {"name": name, "expression": expression}


def _check(expression: str, message: str) -> dict[str, str]:
    return {"expression": expression, "message": message, "reason": "Forbidden"}


def _rule(group: str, version: str, resources: Sequence[str]) -> dict[str, Any]:
    return {"apiGroups": [group], "apiVersions": [version], "operations": list(WRITES), "resources": list(resources)}


def _label_of(obj: str, key: str) -> str:
    return f"has({obj}.metadata.labels) && {cel(key)} in {obj}.metadata.labels ? {obj}.metadata.labels[{cel(key)}] : ''"


@dataclass(frozen=True)
class AdmissionPolicy:
    """One ValidatingAdmissionPolicy and its binding to the environment namespaces."""

    name: str
    description: str
    resource_rules: tuple[dict[str, Any], ...]
    variables: tuple[dict[str, str], ...]
    validations: tuple[dict[str, str], ...]

    def policy(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": POLICY_KIND,
            "metadata": {"name": self.name, "labels": dict(LABELS), "annotations": {"platform.secrets/why": self.description}},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [dict(r) for r in self.resource_rules]},
                "variables": [dict(v) for v in self.variables],
                "validations": [dict(v) for v in self.validations],
            },
        }

    def binding(self, environments: Sequence[str]) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": BINDING_KIND,
            "metadata": {"name": self.name, "labels": dict(LABELS)},
            "spec": {
                "policyName": self.name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {
                        "matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(environments)}]
                    }
                },
            },
        }


def database_secret(app: AppConfig) -> str | None:
    """The Secret of the app's database users when ESO delivers them (docs/databases.md), else None."""
    return database_secret_name(app.name) if app.database is not None and app.database.delivery == "eso" else None


def app_secret_names(app: AppConfig) -> list[str]:
    """The Secrets an app's pods may reference: ESO's of its static secrets, and its database users'."""
    return [name for name in (app.target_secret_name, database_secret(app)) if name is not None]


def _secrets_ok(list_expr: str, ref: str) -> str:
    """Every Secret ``ref`` names in the items of ``list_expr`` is one of ``variables.secrets``."""
    return f"!has({list_expr}) || {list_expr}.all(x, {ref})"


def _containers_ok(field: str) -> str:
    containers = f"object.spec.{field}"
    env_ok = "!has(c.env) || c.env.all(e, !has(e.valueFrom) || !has(e.valueFrom.secretKeyRef) || e.valueFrom.secretKeyRef.name in variables.secrets)"
    env_from_ok = "!has(c.envFrom) || c.envFrom.all(f, !has(f.secretRef) || f.secretRef.name in variables.secrets)"
    return f"!has({containers}) || {containers}.all(c, ({env_ok}) && ({env_from_ok}))"


def pod_identity(settings: StackConfig) -> AdmissionPolicy:
    """Pods run as their app's service account and reference only their app's Secret."""
    accounts = {env: {a.name: a.service_account_name for a in cfg.apps} for env, cfg in settings.environments.items()}
    secrets = {env: {a.name: app_secret_names(a) for a in cfg.apps} for env, cfg in settings.environments.items()}
    volume_ok = " && ".join([  # x: one volume
        "(!has(x.secret) || (has(x.secret.secretName) && x.secret.secretName in variables.secrets))",
        "(!has(x.projected) || !has(x.projected.sources) || x.projected.sources.all(s, !has(s.secret) || s.secret.name in variables.secrets))",
        "(!has(x.csi) || !has(x.csi.nodePublishSecretRef) || x.csi.nodePublishSecretRef.name in variables.secrets)",
    ])
    return AdmissionPolicy(
        name="platform-pod-identity",
        description="A pod of app X runs as X's service account and references only X's Secret (issue 16, item 1).",
        resource_rules=(_rule("", "v1", ["pods", "pods/ephemeralcontainers"]),),
        variables=(
            _var("serviceAccounts", _per_namespace(accounts)),
            _var("secretNames", _per_namespace(secrets)),
            _var("app", _label_of("object", APP_LABEL)),
            _var("known", "variables.app in variables.serviceAccounts"),
            _var("secrets", "variables.known ? variables.secretNames[variables.app] : []"),
        ),
        validations=(
            _check("variables.known", f"a pod here carries the label {APP_LABEL} naming one of the namespace's apps"),
            _check(
                "variables.known && has(object.spec.serviceAccountName)"
                " && object.spec.serviceAccountName == variables.serviceAccounts[variables.app]"
                " && (!has(object.spec.serviceAccount) || object.spec.serviceAccount == object.spec.serviceAccountName)",
                "a pod runs as its own app's service account only",
            ),
            _check(_secrets_ok("object.spec.volumes", volume_ok),
                   "a pod's secret, projected and CSI volumes reference its own app's Secret only"),
            _check(" && ".join(f"({_containers_ok(f)})" for f in ("containers", "initContainers", "ephemeralContainers")),
                   "a pod's env and envFrom reference its own app's Secret only"),
            _check(_secrets_ok("object.spec.imagePullSecrets", "x.name in variables.secrets"),
                   "a pod's imagePullSecrets are its own app's Secret only"),
        ),
    )


def _owner_variables(settings: StackConfig) -> tuple[dict[str, str], ...]:
    """``variables.owner``: the app whose Application (per Argo CD's tracking annotation) applies the object, or ''."""
    applications = {
        env: {application_name(env).replace("{{.app}}", a.name): a.name for a in cfg.apps}
        for env, cfg in settings.environments.items()
    }
    return (
        _var("applications", _per_namespace(applications)),
        _var("tracking", f"has(object.metadata.annotations) && {cel(TRACKING_ANNOTATION)} in object.metadata.annotations"
                         f" ? object.metadata.annotations[{cel(TRACKING_ANNOTATION)}] : ''"),
        _var("owners", "variables.applications.filter(a, variables.tracking.startsWith(a + ':'))"),
        _var("owner", "size(variables.owners) == 1 ? variables.applications[variables.owners[0]] : ''"),
    )


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob")
SELECTING_KINDS = ("Service", "NetworkPolicy", "PodDisruptionBudget")


def _match_label(selector: str) -> str:
    """The app a label selector's ``matchLabels`` pins (extra expressions only narrow it), or ''."""
    return (f"(has({selector}.matchLabels) && {cel(APP_LABEL)} in {selector}.matchLabels"
            f" ? {selector}.matchLabels[{cel(APP_LABEL)}] : '')")


def tenant_ownership(settings: StackConfig) -> AdmissionPolicy:
    """Objects an Application applies belong to its app: pod templates, selectors, service accounts, ExternalSecrets."""
    envs = settings.environments
    accounts = {env: {a.name: a.service_account_name for a in cfg.apps} for env, cfg in envs.items()}
    secrets = {env: {a.name: a.target_secret_name for a in cfg.apps} for env, cfg in envs.items()}
    keys = {env: {a.name: [f"{env}/{a.name}/{s.key}" for s in a.secrets] for a in cfg.apps} for env, cfg in envs.items()}
    template = "(object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template)"
    databases = {env: {a.name: name for a in cfg.apps if (name := database_secret(a))} for env, cfg in envs.items()}
    target = "(has(object.spec.target) && has(object.spec.target.name) ? object.spec.target.name : object.metadata.name)"
    no_template = "(!has(object.spec.target) || !has(object.spec.target.template) || !has(object.spec.target.template.templateFrom))"
    static_ok = " && ".join([
        f"{target} == variables.secretNames[variables.owner]",
        "(!has(object.spec.dataFrom) || size(object.spec.dataFrom) == 0)",
        no_template,
        "has(object.spec.data) && object.spec.data.all(d, d.remoteRef.key in variables.remoteKeys[variables.owner]"
        " && (!has(d.sourceRef) || !has(d.sourceRef.generatorRef)))",
    ])
    # An app's database users: from the platform's generator of that app only, into that app's database Secret.
    generator_ok = (f"has(f.sourceRef) && has(f.sourceRef.generatorRef) && f.sourceRef.generatorRef.apiVersion == {cel(GENERATOR_API_VERSION)}"
                    f" && f.sourceRef.generatorRef.kind == {cel(GENERATOR_KIND)}"
                    " && f.sourceRef.generatorRef.name == variables.databaseSecrets[variables.owner]"
                    " && !has(f.extract) && !has(f.find)")
    database_ok = " && ".join([
        "variables.owner in variables.databaseSecrets",
        f"{target} == variables.databaseSecrets[variables.owner]",
        "(!has(object.spec.data) || size(object.spec.data) == 0)",
        no_template,
        f"has(object.spec.dataFrom) && size(object.spec.dataFrom) == 1 && object.spec.dataFrom.all(f, {generator_ok})",
    ])
    external_secret_ok = f"({static_ok}) || ({database_ok})"
    return AdmissionPolicy(
        name="platform-tenant-ownership",
        description="What an app's Application applies is that app's: pod labels, service account, ExternalSecret (issue 16, item 1).",
        resource_rules=(
            _rule("apps", "v1", ["deployments", "statefulsets", "daemonsets"]),
            _rule("batch", "v1", ["cronjobs"]),
            _rule("", "v1", ["serviceaccounts", "services"]),
            _rule("external-secrets.io", "v1", ["externalsecrets"]),
            _rule("networking.k8s.io", "v1", ["networkpolicies"]),
            _rule("policy", "v1", ["poddisruptionbudgets"]),
        ),
        variables=(
            *_owner_variables(settings),
            _var("serviceAccounts", _per_namespace(accounts)),
            _var("secretNames", _per_namespace(secrets)),
            _var("remoteKeys", _per_namespace(keys)),
            _var("databaseSecrets", _per_namespace(databases)),
            # What the cluster and the program put there themselves, outside Argo CD: the namespace's `default`
            # account and the program's default-deny policy (tenants' objects always carry Argo CD's tracking).
            _var("platformOwn", "variables.tracking == '' && ("
                                "(object.kind == 'ServiceAccount' && object.metadata.name == 'default')"
                                f" || (object.kind == 'NetworkPolicy' && object.metadata.name == {cel(DEFAULT_DENY_POLICY)}))"),
            _var("podApp", f"object.kind in {cel(list(WORKLOAD_KINDS))} ? ({_label_of(template, APP_LABEL)}) : ''"),
            # The pods a Service, NetworkPolicy or PodDisruptionBudget selects: by the app label, never all.
            _var("selects", " : ".join([
                f"object.kind == 'Service' ? (has(object.spec.selector) && {cel(APP_LABEL)} in object.spec.selector"
                f" ? object.spec.selector[{cel(APP_LABEL)}] : '')",
                f"object.kind == 'NetworkPolicy' ? {_match_label('object.spec.podSelector')}",
                f"object.kind == 'PodDisruptionBudget' ? {_match_label('object.spec.selector')}",
                "''",
            ])),
        ),
        validations=(
            _check("variables.platformOwn || variables.owner != ''",
                   "objects of this kind here are applied by Argo CD for one of the namespace's Applications"),
            _check(f"!(object.kind in {cel(list(WORKLOAD_KINDS))}) || variables.podApp == variables.owner",
                   f"a workload's pods carry the label {APP_LABEL} of the app whose Application applies it"),
            _check("object.kind != 'ServiceAccount' || variables.platformOwn"
                   " || object.metadata.name == variables.serviceAccounts[variables.owner]",
                   "an app creates only its own service account"),
            _check(f"!(object.kind in {cel(list(SELECTING_KINDS))}) || variables.platformOwn || variables.selects == variables.owner",
                   f"a Service, NetworkPolicy or PodDisruptionBudget selects its own app's pods ({APP_LABEL}) only"),
            _check(f"object.kind != 'ExternalSecret' || ({external_secret_ok})",
                   "an app's ExternalSecret writes its own Secret from its own declared keys only (no dataFrom, templateFrom or generator),"
                   + " or its database users' Secret from its own platform generator"),
        ),
    )


def service_exposure(settings: StackConfig) -> AdmissionPolicy:
    """Services stay inside the cluster unless the app is configured to expose one; never externalIPs."""
    exposed = {env: {a.name: a.expose for a in cfg.apps if a.expose} for env, cfg in settings.environments.items()}
    return AdmissionPolicy(
        name="platform-service-exposure",
        description="No externalIPs (CVE-2020-8554); NodePort or LoadBalancer only for an app configured with `expose` (issue 16, item 2).",
        resource_rules=(_rule("", "v1", ["services"]),),
        variables=(*_owner_variables(settings), _var("exposed", _per_namespace(exposed))),
        validations=(
            _check("!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
                   "a Service sets no externalIPs (they let it intercept any address of the cluster)"),
            _check("!has(object.spec.type) || object.spec.type == 'ClusterIP'"
                   " || (variables.owner in variables.exposed && variables.exposed[variables.owner] == object.spec.type)",
                   "a Service is ClusterIP unless its app is configured to expose this type (environments.<env>.apps[].expose)"),
        ),
    )


def route_hosts(settings: StackConfig) -> AdmissionPolicy:
    """Ingress and Gateway API routes claim only hosts of their environment's domain."""
    domains = {env: cfg.domain or "" for env, cfg in settings.environments.items()}
    under = "(variables.domain != '' && (h == variables.domain || h.endsWith('.' + variables.domain)))"
    ingress = " && ".join([
        "!has(object.spec.defaultBackend)",
        f"has(object.spec.rules) && object.spec.rules.all(r, has(r.host) && [r.host].all(h, {under}))",
        f"(!has(object.spec.tls) || object.spec.tls.all(t, !has(t.hosts) || t.hosts.all(h, {under})))",
    ])
    route = f"has(object.spec.hostnames) && size(object.spec.hostnames) > 0 && object.spec.hostnames.all(h, {under})"
    return AdmissionPolicy(
        name="platform-route-hosts",
        description="Routes claim only hosts of their environment's domain (environments.<env>.domain) (issue 16, item 2).",
        resource_rules=(
            _rule("networking.k8s.io", "v1", ["ingresses"]),
            _rule("gateway.networking.k8s.io", "v1", ["httproutes", "grpcroutes"]),
        ),
        variables=(_var("domain", _per_namespace(domains)),),
        validations=(
            _check(f"object.kind != 'Ingress' || ({ingress})",
                   "an Ingress names every host (no default backend), each the environment's domain or below it"),
            _check(f"object.kind == 'Ingress' || ({route})",
                   "a route names its hostnames, each the environment's domain or below it"),
        ),
    )


def node_isolation(settings: StackConfig) -> AdmissionPolicy | None:
    """With ``nodeIsolation``: pods select and tolerate their environment's nodes, and no other's."""
    pools = {env: cfg.node_isolation for env, cfg in settings.environments.items()}
    if not any(pools.values()):
        return None
    selectors = {env: {p.label_key: p.label_value} if p else {} for env, p in pools.items()}
    foreign = {env: [{"key": q.label_key, "value": q.label_value} for other, q in pools.items() if q and other != env]
               for env in pools}
    tolerated = (
        "has(object.spec.tolerations) && object.spec.tolerations.exists(t, has(t.key) && t.key == k"
        " && has(t.value) && t.value == variables.selector[k] && (!has(t.operator) || t.operator == 'Equal'))"
    )
    return AdmissionPolicy(
        name="platform-node-isolation",
        description="Pods of an isolated environment run on its nodes only; no pod tolerates another environment's (issue 16, item 7).",
        resource_rules=(_rule("", "v1", ["pods"]),),
        variables=(_var("selector", _per_namespace(selectors)), _var("foreign", _per_namespace(foreign))),
        validations=(
            _check("variables.selector.all(k, has(object.spec.nodeSelector) && k in object.spec.nodeSelector"
                   f" && object.spec.nodeSelector[k] == variables.selector[k] && {tolerated})",
                   "a pod of this environment selects and tolerates the environment's nodes (nodeIsolation)"),
            _check("!has(object.spec.tolerations) || object.spec.tolerations.all(t, has(t.key) && t.key != ''"
                   " && !variables.foreign.exists(f, f.key == t.key && (!has(t.value) || t.value == f.value)))",
                   "a pod tolerates no other environment's nodes, and no toleration without a key"),
        ),
    )


def admission_policies(settings: StackConfig) -> list[AdmissionPolicy]:
    """Every policy of the stack, in a fixed order."""
    optional = node_isolation(settings)
    return [pod_identity(settings), tenant_ownership(settings), service_exposure(settings), route_hosts(settings),
            *([optional] if optional else [])]
