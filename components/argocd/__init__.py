"""Argo CD: the component and its pure builders (names, values, RBAC, notifications, projects, ApplicationSets, secrets, network)."""

from components.argocd.component import ArgoCD

__all__ = ["ArgoCD"]
