"""The plan's ValidatingAdmissionPolicies, evaluated as the API server would, without one.

The CEL runs in cel-python (a conformant CEL interpreter; Kubernetes runs cel-go): variables
in order, each visible to the later ones as ``variables.<name>``, then every validation; an
expression that errors denies, as ``failurePolicy: Fail`` does. A policy applies to an object
when one of its ``resourceRules`` names the object's group and resource and its binding's
namespace selector names the namespace. What the matrix derives from it: for each app's pods,
the service accounts and Secrets of their namespace the policies admit, which must be the
app's own only.

Not modelled: matchConditions and paramKind (the platform's policies use neither), the
API server's cost limits, and CEL type checking (the API server reports it as warnings).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes

from components.admission.policies import app_secret_names
from components.config import StackConfig
from planner.access_cell import AccessCell

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
_ENV = celpy.Environment()


@functools.cache
def _program(expression: str) -> celpy.Runner:
    return _ENV.program(_ENV.compile(expression))


def _evaluate(expression: str, activation: Mapping[str, Any]) -> Any:
    try:
        return _program(expression).evaluate(dict(activation))
    except celpy.CELEvalError as exc:
        return exc


def _passes(expression: str, activation: Mapping[str, Any]) -> bool:
    """True only for a boolean true: false, an error or any other value denies."""
    result = _evaluate(expression, activation)
    return isinstance(result, celtypes.BoolType) and bool(result)


def resource_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(API group, plural resource) of an object, as admission rules name them."""
    group = str(obj["apiVersion"]).rpartition("/")[0]
    kind = str(obj["kind"]).lower()
    if kind.endswith("y"):
        return group, kind[:-1] + "ies"
    return group, kind + ("es" if kind.endswith("s") else "s")


@dataclass(frozen=True)
class BoundPolicy:
    """A ValidatingAdmissionPolicy's spec and the namespaces its binding selects."""

    name: str
    spec: Mapping[str, Any]
    namespaces: frozenset[str]

    def applies_to(self, obj: Mapping[str, Any], namespace: str, operation: str) -> bool:
        group, resource = resource_of(obj)
        return namespace in self.namespaces and any(
            group in rule["apiGroups"] and resource in rule["resources"] and operation in rule["operations"]
            for rule in self.spec["matchConstraints"]["resourceRules"]
        )

    def denials(self, obj: Mapping[str, Any], namespace: str, operation: str = "CREATE") -> list[str]:
        """Messages of the validations that refuse ``obj`` (empty: admitted)."""
        activation: dict[str, Any] = {
            "object": celpy.json_to_cel(dict(obj)),
            "request": celpy.json_to_cel({"namespace": namespace, "operation": operation}),
        }
        variables: dict[celtypes.StringType, Any] = {}
        for variable in self.spec.get("variables", []):
            activation["variables"] = celtypes.MapType(variables)
            variables[celtypes.StringType(variable["name"])] = _evaluate(variable["expression"], activation)
        activation["variables"] = celtypes.MapType(variables)
        return [str(check["message"]) for check in self.spec["validations"] if not _passes(check["expression"], activation)]


def bound_policies(resources: Sequence[Mapping[str, Any]]) -> list[BoundPolicy]:
    """Every registered policy with the namespaces its binding selects (by ``kubernetes.io/metadata.name``)."""
    selected: dict[str, frozenset[str]] = {}
    for binding in (r for r in resources if r["type"] == BINDING):
        spec = binding["inputs"]["spec"]
        names: set[str] = set()
        for expression in spec["matchResources"]["namespaceSelector"]["matchExpressions"]:
            if expression["key"] == "kubernetes.io/metadata.name" and expression["operator"] == "In":
                names |= set(expression["values"])
        selected[spec["policyName"]] = frozenset(names)
    return [
        BoundPolicy(r["inputs"]["metadata"]["name"], r["inputs"]["spec"], selected.get(r["inputs"]["metadata"]["name"], frozenset()))
        for r in resources
        if r["type"] == POLICY
    ]


def admission_denials(policies: Sequence[BoundPolicy], obj: Mapping[str, Any], namespace: str,
                      operation: str = "CREATE") -> list[str]:
    """What every applicable policy refuses about ``obj`` in ``namespace`` (empty: the API server admits it)."""
    return [
        f"{policy.name}: {message}"
        for policy in policies
        if policy.applies_to(obj, namespace, operation)
        for message in policy.denials(obj, namespace, operation)
    ]


def probe_pod(app: str, service_account: str, secret: str | None = None) -> dict[str, Any]:
    """A pod of ``app`` running as ``service_account``, mounting ``secret`` when given."""
    spec: dict[str, Any] = {"serviceAccountName": service_account, "containers": [{"name": "c", "image": "probe"}]}
    if secret:
        spec["volumes"] = [{"name": "s", "secret": {"secretName": secret}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "labels": {"app.kubernetes.io/name": app}}, "spec": spec}


def admission_access_matrix(resources: Sequence[Mapping[str, Any]], settings: StackConfig) -> list[AccessCell]:
    """For each app's pods: every service account and app Secret of their namespace, and whether admission lets them take it.

    A pod labelled as app X is what X's Application may create (``platform-tenant-ownership``
    holds its workloads to X's label); the identities it can take are the service accounts it
    may run as (and so the Vault roles and IRSA roles bound to them) and the Secrets it may mount.
    """
    policies = bound_policies(resources)
    cells: list[AccessCell] = []
    for env, cfg in settings.environments.items():
        own = {a.name: a.service_account_name for a in cfg.apps}
        accounts = sorted({*own.values(), "default"})
        secrets = sorted({secret for a in cfg.apps for secret in app_secret_names(a)})
        for app, own_account in own.items():
            principal = f"pods:{env}:{app}"
            for account in accounts:
                allowed = not admission_denials(policies, probe_pod(app, account), env)
                cells.append(AccessCell("kubernetes", principal, "admission", f"{env}/serviceaccount/{account}", allowed))
            for secret in secrets:
                allowed = not admission_denials(policies, probe_pod(app, own_account, secret), env)
                cells.append(AccessCell("kubernetes", principal, "admission", f"{env}/secret/{secret}", allowed))
    return cells
