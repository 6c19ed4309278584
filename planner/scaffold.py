"""The starting files `make gitops` writes for an app new to the GitOps tree: its base and its overlays.

A new app in a stack file gets, once, what the existing bases under gitops/apps/*/base hold:
a ServiceAccount without an API token, a Deployment meeting the restricted Pod Security
Standard (a pinned stand-in image the app's owners replace), a Service on its named port, a
NetworkPolicy opening that port to its own namespace only, and a disruption budget; and per
environment an overlay that adds the namespace, the generated ExternalSecret and the Reloader
opt-in. The workload reads its Secret (the one the generated ExternalSecret writes) as files,
so it needs no change when a key is added. Nothing is ever overwritten: these files belong to
the app's owners once written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from components.config.environments import AppConfig

# The stand-in HTTP server the example bases run (gitops/apps/api/base/deployment.yaml).
STAND_IN_IMAGE = "hashicorp/http-echo:1.0.0@sha256:fcb75f691c8b0414d670ae570240cbf95502cc18a9ba57e982ecac589760a186"
PORT = 8080
SECRETS_DIR = "/var/run/secrets/app"
WAVE = {"argocd.argoproj.io/sync-wave": "0"}


def _dump(header: str, manifest: dict[str, Any]) -> str:
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, width=120)


def _labels(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "secrets-platform"}


def _metadata(app: str, name: str) -> dict[str, Any]:
    return {"name": name, "labels": _labels(app), "annotations": dict(WAVE)}


def _deployment(app: AppConfig) -> dict[str, Any]:
    name = app.name
    restricted = {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, name),
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": _labels(name)},
                "spec": {
                    "serviceAccountName": app.service_account_name,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {**restricted, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": name,
                        "image": STAND_IN_IMAGE,
                        "args": [f"-listen=:{PORT}", f"-text={name}"],
                        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                        "volumeMounts": [{"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True}],
                        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
                        "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "initialDelaySeconds": 10, "periodSeconds": 20},
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
                        "securityContext": {
                            **restricted,
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }],
                    # projected: the one volume type whose Secret reference is `name:`, which secret scans do not flag.
                    "volumes": [{"name": "secrets", "projected": {"sources": [{"secret": {"name": app.target_secret_name}}]}}],
                },
            },
        },
    }


def base_files(app: AppConfig) -> dict[str, str]:
    """File name under ``apps/<app>/base/`` -> text, for an app the tree does not hold yet."""
    name = app.name
    selector = {"matchLabels": {"app.kubernetes.io/name": name}}
    objects = {
        "serviceaccount.yaml": (
            f"The identity of {name}'s pods (the app's serviceAccount in the stack file, default its name).\n"
            "No API token is mounted: the app does not call the Kubernetes API.",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(name, app.service_account_name),
             "automountServiceAccountToken": False},
        ),
        "deployment.yaml": (
            f"Scaffolded by `make gitops`; {name}'s owners own it from now on. It reads the Secret\n"
            f"`{app.target_secret_name}` (written by the generated ExternalSecret, sync wave -1) as files under\n"
            f"{SECRETS_DIR}/<key>. The image is a stand-in HTTP server: replace image and args with the app's.",
            _deployment(app),
        ),
        "service.yaml": (
            f"{name} inside its namespace, on the container's named port.",
            {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(name, name),
             "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": name},
                      "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}},
        ),
        "networkpolicy.yaml": (
            "On top of the namespace's default-deny (created by the program): HTTP on the pod port from the\n"
            f"pods of {name}'s own namespace. No egress beyond DNS: open what the app calls, and nothing more.",
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _metadata(name, name),
             "spec": {"podSelector": selector, "policyTypes": ["Ingress"],
                      "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": PORT, "protocol": "TCP"}]}]}},
        ),
        "poddisruptionbudget.yaml": (
            f"Voluntary disruptions (node drains) take at most one {name} pod at a time.",
            {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _metadata(name, name),
             "spec": {"maxUnavailable": 1, "selector": selector}},
        ),
    }
    files = {file: _dump(header, manifest) for file, (header, manifest) in objects.items()}
    files["kustomization.yaml"] = _dump(
        f"{name}: the workload every environment deploys (overlays/<env>/ add the namespace, the generated\n"
        "ExternalSecret, replicas and the Reloader opt-in). See docs/gitops.md.",
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": list(objects)},
    )
    return files


def overlay_kustomization(app: str, env: str, generated: Sequence[str]) -> str:
    """A new overlay: the base, the generated ExternalSecrets, the Reloader opt-in; two replicas in production."""
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "annotations": {"reloader.stakater.com/search": "true"}},
        "spec": {"replicas": 2 if env == "production" else 1},
    }
    listed = ", ".join(generated)
    return _dump(
        f"{app} in {env}. `make gitops` writes {listed} (never edit them); this file is the app's:\n"
        f"keep listing {listed} next to the base. The patch opts the Deployment into Reloader's\n"
        "rollouts when its Secret changes (docs/external-secrets.md). See docs/gitops.md.",
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": env,
            "resources": ["../../base", *generated],
            "patches": [{"target": {"kind": "Deployment", "name": app},
                         "patch": yaml.safe_dump(patch, sort_keys=False, default_flow_style=False)}],
        },
    )
